import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class ToolsDiscovered extends BaseCommand {
  static override description =
    "List MCP tools the broker has seen at run time: pending ones wait for `tappass tools approve|deny NAME`; a tool whose definition changed since it was pinned shows as changed (blocked).";
  static override examples = ["<%= config.bin %> tools discovered", "<%= config.bin %> tools discovered --json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    status: Flags.string({ options: ["pending", "approved", "denied", "seen"], description: "only tools with this status" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ToolsDiscovered);
    const [{ openState }, { discoveredTools }] = await Promise.all([import("../../engine/store/state.ts"), import("../../engine/mcp/queue.ts")]);
    const tools = discoveredTools(openState(), flags.status as never);
    this.output({ tools }, (x) =>
      x.tools.length === 0
        ? "no MCP tools discovered yet"
        : x.tools
            .map((t) => `${t.status.padEnd(8)} ${t.pin === "changed" ? "CHANGED " : "        "}${t.server}/${t.name}${t.description ? ` — ${t.description.slice(0, 80)}` : ""}`)
            .join("\n"),
    );
  }
}
