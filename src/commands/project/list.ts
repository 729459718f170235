import { BaseCommand } from "../../cli/base.ts";

export default class ProjectList extends BaseCommand {
  static override description = "List projects with their number of agents.";
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    await this.parse(ProjectList);
    const { openState } = await import("../../engine/store/state.ts");
    const { listProjects } = await import("../../engine/policy/registry.ts");
    const projects = listProjects(openState());
    this.output({ projects }, (x) => (x.projects.length ? x.projects.map((p) => `${p.name}\t${p.agents} agent(s)`).join("\n") : "no projects yet: tappass project create NAME"));
  }
}
