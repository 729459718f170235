import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";
import { writeOut } from "../../cli/stdio.ts";

export default class AgentWatch extends BaseCommand {
  static override description = "Watch the policy version this agent runs under; prints a line whenever it changes (read-only).";
  static override examples = ["tappass-agent watch --interval 5", "tappass-agent watch --json | jq ."];
  static override flags = {
    ...BaseCommand.baseFlags,
    interval: Flags.integer({ default: 5, description: "seconds between checks" }),
    count: Flags.integer({ description: "stop after this many checks (default: run until interrupted)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AgentWatch);
    const [{ agentEnv }, { currentEnvelope }] = await Promise.all([import("../../engine/harness/agent-env.ts"), import("../../engine/harness/governor-client.ts")]);
    const env = agentEnv();
    let last: number | undefined;
    for (let i = 0; flags.count === undefined || i < flags.count; i++) {
      if (i > 0) await Bun.sleep(flags.interval * 1000);
      const p = (await currentEnvelope(env)).payload;
      if (p.policy_version !== last) {
        const ev = { ts: new Date().toISOString(), policy_version: p.policy_version, previous: last ?? null, expires_at: p.expires_at };
        writeOut(this.jsonMode ? `${JSON.stringify(ev)}\n` : `${ev.ts} policy v${ev.policy_version}${last !== undefined ? ` (was v${last})` : ""}, expires ${ev.expires_at}\n`);
        last = p.policy_version;
      }
    }
  }
}
