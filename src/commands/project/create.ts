import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class ProjectCreate extends BaseCommand {
  static override description = "Create a project: the middle level of the policy cascade (org → project → agent). Idempotent.";
  static override examples = ["<%= config.bin %> project create eu-support"];
  static override args = { name: Args.string({ description: "project name", required: true }) };
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    const { args } = await this.parse(ProjectCreate);
    const { openState } = await import("../../engine/store/state.ts");
    const { createProject } = await import("../../engine/policy/registry.ts");
    const r = createProject(openState(), args.name);
    this.output(r, (x) => (x.created ? `created project ${x.project}` : `project ${x.project} already exists; nothing changed`));
  }
}
