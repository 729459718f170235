import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class McpRegister extends BaseCommand {
  static override description =
    "Register an MCP server by name and URL. With --auto-approve its new tools are approved (and pinned) on sight instead of queued; deny lists, forbidden capabilities and pins still apply.";
  static override examples = ["<%= config.bin %> mcp register --name docs --url http://127.0.0.1:3001/mcp", "<%= config.bin %> mcp register --name docs --url http://127.0.0.1:3001/mcp --auto-approve --json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    name: Flags.string({ required: true, description: "server name (used in policy, discovery and audit)" }),
    url: Flags.string({ required: true, description: "the server's Streamable HTTP endpoint" }),
    "auto-approve": Flags.boolean({ default: false, description: "approve this server's new tools without review" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(McpRegister);
    const [{ openState }, { registerServer }] = await Promise.all([import("../../engine/store/state.ts"), import("../../engine/mcp/registry.ts")]);
    const r = registerServer(openState(), { name: flags.name, url: flags.url, auto_approve: flags["auto-approve"] });
    this.output(
      { name: r.server.name, url: r.server.url, auto_approve: r.server.auto_approve === 1, changed: r.changed },
      (x) => `${x.changed ? "registered" : "unchanged:"} MCP server "${x.name}" at ${x.url}${x.auto_approve ? " (auto-approve)" : ""}`,
    );
  }
}
