import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class ToolsApprove extends BaseCommand {
  static override description =
    "Approve a discovered MCP tool and pin its current definition (name, description, inputSchema). Also re-approves a tool blocked because its definition changed. Running brokers apply it on the next list or call.";
  static override examples = ["<%= config.bin %> tools approve get-weather"];
  static override args = { name: Args.string({ required: true, description: "tool name" }) };
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    const { args } = await this.parse(ToolsApprove);
    const [{ openState }, { decideQueued }] = await Promise.all([import("../../engine/store/state.ts"), import("../../engine/mcp/queue.ts")]);
    const r = decideQueued(openState(), args.name, "approved");
    this.output(r, (x) => `approved ${x.name} on ${x.servers.join(", ")} (pinned ${x.pins.map((p) => p.slice(0, 12)).join(", ")})`);
  }
}
