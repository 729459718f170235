import { BaseCommand } from "../../cli/base.ts";

export default class AgentToken extends BaseCommand {
  static override description =
    "Print a fresh short-lived capability token for this agent's session, renewed by the TapPass governor (Claude Code's apiKeyHelper runs this). Read-only: it never grants more than the session has.";
  static override examples = ["tappass-agent token"];
  static override flags = {};

  async run(): Promise<void> {
    await this.parse(AgentToken);
    const { agentToken } = await import("../../cli/agent-fast.ts");
    await agentToken();
  }
}
