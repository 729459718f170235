import { BaseCommand } from "../../cli/base.ts";

export default class AgentWhoami extends BaseCommand {
  static override description = "Show this agent's identity: agent, session, sandbox, and the policy version it runs under (read-only).";
  static override examples = ["tappass-agent whoami --json"];
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    await this.parse(AgentWhoami);
    const [{ agentEnv }, { currentEnvelope }] = await Promise.all([import("../../engine/harness/agent-env.ts"), import("../../engine/harness/governor-client.ts")]);
    const env = agentEnv();
    const envelope = await currentEnvelope(env);
    const p = envelope.payload;
    const who = {
      agent: p.agent,
      project: p.project,
      org: p.org,
      session_id: env.session_id ?? null,
      sandbox_id: p.sandbox_id ?? env.sandbox_id ?? null,
      policy_version: p.policy_version,
      expires_at: p.expires_at,
      gateway_url: env.gateway_url ?? null,
    };
    this.output(who, (w) => `${w.agent} (project ${w.project}, org ${w.org}) · policy v${w.policy_version} until ${w.expires_at}${w.session_id ? ` · session ${w.session_id}` : ""}`);
  }
}
