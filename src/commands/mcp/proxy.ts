import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";
import { usageError } from "../../engine/errors.ts";

export default class McpProxy extends BaseCommand {
  static override description = [
    "Run the MCP broker for an agent: every tools/list is filtered and every tools/call governed by the agent's Compiled Policy, with one audit row per call.",
    "stdio: `tappass mcp proxy --agent A -- COMMAND [ARGS...]` spawns the server and speaks MCP on this process's stdin/stdout.",
    "Streamable HTTP: `tappass mcp proxy --agent A --upstream URL [--port N]` listens on 127.0.0.1 and forwards to URL.",
  ].join("\n");
  static override examples = [
    "<%= config.bin %> mcp proxy --agent mailer -- npx -y @modelcontextprotocol/server-filesystem /srv/docs",
    "<%= config.bin %> mcp proxy --agent mailer --upstream http://127.0.0.1:3001/mcp --port 7400",
  ];
  static override strict = false;
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ required: true, description: "agent whose policy governs the calls" }),
    upstream: Flags.string({ description: "Streamable HTTP URL of the MCP server (127.0.0.1 / [::1] / localhost)" }),
    port: Flags.integer({ description: "port to listen on (HTTP mode; default: any free port)", min: 0, max: 65535 }),
    server: Flags.string({ description: "name of the MCP server in policy, discovery and audit (default: derived)" }),
  };

  async run(): Promise<void> {
    const dash = this.argv.indexOf("--");
    const command = dash >= 0 ? this.argv.slice(dash + 1) : [];
    const { flags } = await this.parse(McpProxy, dash >= 0 ? this.argv.slice(0, dash) : this.argv);
    if (flags.upstream && command.length > 0) throw usageError("give either --upstream URL or -- COMMAND, not both", { hint: "see --help" });
    if (!flags.upstream && command.length === 0) throw usageError("nothing to proxy: give --upstream URL or -- COMMAND [ARGS...]", { hint: "see --help" });
    if (command.length > 0 && flags.port !== undefined) throw usageError("--port is for --upstream (HTTP) mode");

    const [{ openState }, { loadKeys }, { compileForAgent }, mcp] = await Promise.all([
      import("../../engine/store/state.ts"),
      import("../../engine/crypto/keys.ts"),
      import("../../engine/policy/index.ts"),
      import("../../engine/mcp/index.ts"),
    ]);
    const db = openState();
    const keys = loadKeys();
    const envelope = await compileForAgent(db, flags.agent);
    const log = (line: string) => process.stderr.write(`${line}\n`);

    if (flags.upstream) {
      let url: URL;
      try {
        url = new URL(flags.upstream);
      } catch {
        throw usageError(`--upstream ${flags.upstream} is not a URL`);
      }
      const { inputError } = await import("../../engine/errors.ts");
      let handle: Awaited<ReturnType<typeof mcp.startHttpBroker>>;
      try {
        handle = await mcp.startHttpBroker({ envelope, db, keys, upstream: url.toString(), port: flags.port, server: flags.server, log });
      } catch (e) {
        throw inputError("bad_upstream", (e as Error).message, { hint: "the broker only forwards to servers on this host" });
      }
      globalThis.__tappassKeepAlive = true;
      const stop = async () => {
        await handle.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      this.output({ url: handle.url, port: handle.port, agent: flags.agent, upstream: url.toString() }, (x) => x.url);
      this.note(`tappass mcp proxy: governing ${url} for agent ${flags.agent} at ${handle.url} (Ctrl-C to stop)`);
      return;
    }

    globalThis.__tappassKeepAlive = true;
    const code = await mcp.runStdioBroker({ envelope, db, keys, command, stdin: process.stdin, stdout: process.stdout, server: flags.server, log });
    process.exitCode = code;
    globalThis.__tappassKeepAlive = false;
    process.exit(code);
  }
}
