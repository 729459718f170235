import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class HookServe extends BaseCommand {
  static override description =
    "Run a hook governor for an agent outside `tappass exec` (e.g. Claude Code hooks in your own settings): prints the TAPPASS_HOOK_URL, TAPPASS_TOKEN and TAPPASS_SESSION_SECRET (what `tappass-agent token`, a rendered Claude Code's apiKeyHelper, renews with) to export, then serves until interrupted.";
  static override examples = ["<%= config.bin %> hook serve --agent coder   # prints export lines for TAPPASS_HOOK_URL and TAPPASS_TOKEN"];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ required: true, description: "agent whose policy decides" }),
    port: Flags.integer({ default: 0, min: 0, max: 65535, description: "loopback port (0 = any free port)" }),
    ttl: Flags.string({ default: "8h", description: "lifetime of the token printed for the hook" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HookServe);
    const [{ openState }, { loadKeys }, { issueToken, parseTtl }, { compileForAgent }, { createPipeline }, { startHookServer }] = await Promise.all([
      import("../../engine/store/state.ts"),
      import("../../engine/crypto/keys.ts"),
      import("../../engine/crypto/tokens.ts"),
      import("../../engine/policy/index.ts"),
      import("../../engine/pipeline/index.ts"),
      import("../../engine/harness/hook-server.ts"),
    ]);
    const db = openState();
    const keys = loadKeys();
    const envelope = compileForAgent(db, flags.agent);
    const pipeline = createPipeline({ envelope, db, keys });
    // what `tappass-agent token` (Claude Code's apiKeyHelper in a rendered config) renews with
    const { randomBytes } = await import("node:crypto");
    const { maxTokenTtl } = await import("../../engine/crypto/ttl.ts");
    const sessionSecret = randomBytes(32).toString("base64url");
    const renew = { secret: sessionSecret, issue: () => issueToken(keys, { agent: flags.agent, ttlSeconds: maxTokenTtl(envelope.payload), policy_version: envelope.payload.policy_version }) };
    const server = startHookServer({ pipeline, envelope, keys, agent: flags.agent, port: flags.port, renew });
    const token = await issueToken(keys, { agent: flags.agent, ttlSeconds: parseTtl(flags.ttl), policy_version: envelope.payload.policy_version });
    globalThis.__tappassKeepAlive = true;
    this.output({ hook_url: server.url, token, session_secret: sessionSecret, agent: flags.agent, policy_version: envelope.payload.policy_version }, (x) =>
      [`export TAPPASS_HOOK_URL=${x.hook_url}`, `export TAPPASS_TOKEN=${x.token}`, `export TAPPASS_SESSION_SECRET=${x.session_secret}`].join("\n"),
    );
    this.note(`tappass: hook governor for ${flags.agent} on ${server.url} (Ctrl-C to stop)`);
    const stop = async () => {
      await server.close();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
}
