import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicyCompile extends BaseCommand {
  static override description = "Compile an agent's effective policy into the signed Compiled Policy envelope (stdout JSON, or --out FILE).";
  static override examples = ["<%= config.bin %> policy compile --agent mailer --json > cp.json", "<%= config.bin %> policy compile --agent mailer --out cp.json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ description: "agent name", required: true }),
    out: Flags.string({ description: "write the envelope to this file instead of stdout" }),
    "sandbox-id": Flags.string({ description: "bind the policy to a sandbox id" }),
    ttl: Flags.integer({ description: "lifetime in seconds (default 86400, or meta policy_ttl_seconds)", min: 1 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PolicyCompile);
    const { openState } = await import("../../engine/store/state.ts");
    const { compileForAgent } = await import("../../engine/policy/index.ts");
    const env = compileForAgent(openState(), flags.agent, { sandbox_id: flags["sandbox-id"] ?? null, ttlSeconds: flags.ttl });
    if (flags.out) {
      const { writeFileSync } = await import("node:fs");
      // compact, like stdout: no insignificant whitespace, so any one-byte change is detectable
      writeFileSync(flags.out, `${JSON.stringify(env)}\n`);
      const summary = { out: flags.out, policy_version: env.payload.policy_version, agent: env.payload.agent, expires_at: env.payload.expires_at };
      this.output(summary, (x) => `wrote ${x.out} (agent ${x.agent}, policy_version ${x.policy_version}, expires ${x.expires_at})`);
      return;
    }
    this.jsonMode = true;
    this.output(env);
  }
}
