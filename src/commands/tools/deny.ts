import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class ToolsDeny extends BaseCommand {
  static override description = "Deny a discovered MCP tool: running brokers hide it from tools/list and refuse calls to it from the next request on.";
  static override examples = ["<%= config.bin %> tools deny drop-table"];
  static override args = { name: Args.string({ required: true, description: "tool name" }) };
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    const { args } = await this.parse(ToolsDeny);
    const [{ openState }, { decideQueued }] = await Promise.all([import("../../engine/store/state.ts"), import("../../engine/mcp/queue.ts")]);
    const r = decideQueued(openState(), args.name, "denied");
    this.output(r, (x) => `denied ${x.name} on ${x.servers.join(", ")}`);
  }
}
