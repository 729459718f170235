import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class AgentList extends BaseCommand {
  static override description = "List registered agents (operator).";
  static override flags = { ...BaseCommand.baseFlags, project: Flags.string({ description: "only agents of this project" }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(AgentList);
    const { openState } = await import("../../engine/store/state.ts");
    const { listAgents } = await import("../../engine/policy/registry.ts");
    const agents = listAgents(openState(), flags.project);
    this.output({ agents }, (x) =>
      x.agents.length ? x.agents.map((a) => `${a.name}\t${a.project}\t${a.function ?? "-"}\t${a.categories.join(",") || "-"}`).join("\n") : "no agents yet: tappass agent create NAME --project P",
    );
  }
}
