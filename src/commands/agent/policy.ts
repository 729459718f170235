import { BaseCommand } from "../../cli/base.ts";

export default class AgentPolicy extends BaseCommand {
  static override description = "Print the signed Compiled Policy this agent runs under (read-only).";
  static override examples = ["tappass-agent policy --json"];
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    await this.parse(AgentPolicy);
    const [{ agentEnv }, { currentEnvelope }] = await Promise.all([import("../../engine/harness/agent-env.ts"), import("../../engine/harness/governor-client.ts")]);
    const envelope = await currentEnvelope(agentEnv());
    this.output(envelope, (e) => {
      const p = e.payload;
      return [
        `policy v${p.policy_version} for ${p.agent} (mode ${p.pipeline.mode}, preset ${p.pipeline.preset}), expires ${p.expires_at}`,
        `tools: default ${p.tools.default}; allow ${p.tools.allow.join(", ") || "—"}; deny ${p.tools.deny.join(", ") || "—"}`,
        `network: ${p.network.egress}${p.network.allow_domains.length ? ` (${p.network.allow_domains.join(", ")})` : ""}`,
        `steps: ${p.pipeline.steps.filter((s) => s.enabled).map((s) => s.name).join(", ")}`,
      ].join("\n");
    });
  }
}
