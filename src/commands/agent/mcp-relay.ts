import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class AgentMcpRelay extends BaseCommand {
  static override description =
    "Relay an MCP server's stdio to the TapPass governor, where the broker runs and governs it (the harness config `tappass exec` renders starts this; read-only).";
  static override examples = ["tappass-agent mcp-relay filesystem"];
  static override args = { name: Args.string({ required: true, description: "MCP server name as configured for this session" }) };

  async run(): Promise<void> {
    const { args } = await this.parse(AgentMcpRelay);
    const addr = process.env.TAPPASS_MCP_RELAY;
    const secret = process.env.TAPPASS_SESSION_SECRET;
    if (!addr || !secret) {
      const { TapPassError } = await import("../../engine/errors.ts");
      throw new TapPassError("no_governor", "no MCP relay for this agent (TAPPASS_MCP_RELAY / TAPPASS_SESSION_SECRET unset)", 3, { hint: "run the agent under `tappass exec -- …`" });
    }
    const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
    const { connect } = await import("node:net");
    globalThis.__tappassKeepAlive = true;
    const sock = connect(port, host, () => {
      sock.write(`TAPPASS-MCP/1 ${args.name} ${secret}\n`);
      process.stdin.pipe(sock);
      sock.pipe(process.stdout);
    });
    sock.on("close", () => process.exit(0));
    sock.on("error", (e) => {
      process.stderr.write(`tappass: MCP relay to the governor failed: ${e.message}\n`);
      process.exit(1);
    });
  }
}
