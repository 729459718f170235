import { BaseCommand } from "../../../cli/base.ts";

export default class HookClaudeCode extends BaseCommand {
  static override description =
    "Claude Code PreToolUse hook: reads the hook JSON on stdin, asks the TapPass governor (pipeline + audit), prints the decision. Fails closed: any error or timeout denies.";
  static override examples = ['echo \'{"tool_name":"Bash","tool_input":{"command":"ls"}}\' | tappass-agent hook claude-code'];
  static override flags = {};

  async run(): Promise<void> {
    await this.parse(HookClaudeCode);
    const { claudeHook } = await import("../../../cli/agent-fast.ts");
    await claudeHook();
  }
}
