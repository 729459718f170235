import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class TokenIssue extends BaseCommand {
  static override description = "Issue a short-lived capability token (ES256 JWT) for an agent; the gateway and broker accept it in place of a provider key.";
  static override examples = ["<%= config.bin %> token issue --agent mailer --ttl 5m"];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ required: true, description: "agent name" }),
    ttl: Flags.string({ default: "5m", description: "lifetime: 30s, 5m, 2h, 1d" }),
    session: Flags.string({ description: "session id to bind the token to (default: a new one)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TokenIssue);
    const { issueAgentToken } = await import("../../engine/crypto/issue.ts");
    const r = await issueAgentToken({ agent: flags.agent, ttl: flags.ttl, session_id: flags.session });
    this.output(r, (x) => x.token);
  }
}
