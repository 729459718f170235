import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class GatewayServe extends BaseCommand {
  static override description =
    "Serve the LLM gateway for an agent on loopback: OpenAI (/v1/chat/completions, /v1/responses) and Anthropic (/v1/messages) wire formats, every call through the agent's pipeline with one audit row. Agents authenticate with a capability token; the gateway holds the provider keys (OPENAI_API_KEY / ANTHROPIC_API_KEY, or `tappass keys set-provider`). Serves until SIGINT/SIGTERM; the policy is recompiled every 30 s and on SIGHUP.";
  static override examples = [
    "<%= config.bin %> gateway serve --agent coder --port 8787",
    "<%= config.bin %> gateway serve --agent coder --upstream-openai http://127.0.0.1:8000/v1 --json",
    "ANTHROPIC_BASE_URL=http://127.0.0.1:8787 ANTHROPIC_API_KEY=$(tappass token issue --agent coder) claude -p hi",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ required: true, description: "agent whose Compiled Policy governs the calls" }),
    port: Flags.integer({ default: 0, min: 0, max: 65535, description: "loopback port (0 = any free port)" }),
    host: Flags.string({ default: "127.0.0.1", options: ["127.0.0.1", "::1"], description: "loopback address to listen on" }),
    "upstream-openai": Flags.string({ description: "OpenAI or OpenAI-compatible base URL (default https://api.openai.com)" }),
    "upstream-anthropic": Flags.string({ description: "Anthropic base URL (default https://api.anthropic.com)" }),
    "upstream-gemini": Flags.string({ description: "Gemini API base URL (default https://generativelanguage.googleapis.com)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(GatewayServe);
    const [{ openState }, { loadKeys }, { compileForAgent }, { startGateway }, { tappassHome }] = await Promise.all([
      import("../../engine/store/state.ts"),
      import("../../engine/crypto/keys.ts"),
      import("../../engine/policy/index.ts"),
      import("../../engine/gateway/index.ts"),
      import("../../engine/home.ts"),
    ]);
    const db = openState();
    const keys = loadKeys();
    const envelope = compileForAgent(db, flags.agent);
    const gw = await startGateway({
      envelope,
      db,
      keys,
      home: tappassHome(),
      port: flags.port,
      host: flags.host as "127.0.0.1" | "::1",
      upstreams: { openai: flags["upstream-openai"], anthropic: flags["upstream-anthropic"], gemini: flags["upstream-gemini"] },
    });
    globalThis.__tappassKeepAlive = true;
    let version = envelope.payload.policy_version;
    const reload = (why: string) => {
      try {
        const next = compileForAgent(db, flags.agent);
        gw.reload(next);
        if (next.payload.policy_version !== version) {
          this.note(`tappass: policy for ${flags.agent} is now version ${next.payload.policy_version} (${why})`);
          version = next.payload.policy_version;
        }
      } catch (e) {
        // keep serving the last good policy; check_policy_fresh fails closed once it expires
        this.note(`tappass: could not recompile the policy for ${flags.agent}: ${(e as Error).message}`);
      }
    };
    const timer = setInterval(() => reload("recompiled"), 30_000);
    this.output(
      { url: gw.url, port: gw.port, agent: flags.agent, policy_version: version, openai_base_url: `${gw.url}/v1`, anthropic_base_url: gw.url, gemini_base_url: gw.url },
      (x) => `export OPENAI_BASE_URL=${x.openai_base_url}\nexport ANTHROPIC_BASE_URL=${x.anthropic_base_url}\nexport GOOGLE_GEMINI_BASE_URL=${x.gemini_base_url}`,
    );
    this.note(`tappass: gateway for ${flags.agent} (policy v${version}) on ${gw.url} — clients use a capability token from \`tappass token issue --agent ${flags.agent}\` (Ctrl-C to stop)`);
    const stop = async (sig: string) => {
      clearInterval(timer);
      const s = gw.stats();
      this.note(`tappass: gateway stopping (${sig}): ${s.calls} calls, ${s.denied} denied, ${s.tokens_in}/${s.tokens_out} tokens in/out, $${s.cost_usd.toFixed(4)}`);
      await gw.close();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGHUP", () => reload("SIGHUP"));
  }
}
