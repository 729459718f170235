import { BaseCommand } from "../../../cli/base.ts";

export default class HookClaudeCode extends BaseCommand {
  static override description =
    "Claude Code PreToolUse hook: reads the hook JSON on stdin, asks the TapPass governor (pipeline + audit), prints the decision. Fails closed: any error or timeout denies.";
  static override examples = ['echo \'{"tool_name":"Bash","tool_input":{"command":"ls"}}\' | <%= config.bin %> hook claude-code'];
  static override flags = {};

  async run(): Promise<void> {
    await this.parse(HookClaudeCode);
    const [{ agentEnv }, { askGovernor }, { claudeHookOutput }] = await Promise.all([
      import("../../../engine/harness/agent-env.ts"),
      import("../../../engine/harness/governor-client.ts"),
      import("../../../engine/harness/claude-hook.ts"),
    ]);
    let out: unknown;
    try {
      const raw = await Bun.stdin.text();
      let input: unknown;
      try {
        input = JSON.parse(raw);
      } catch {
        throw new Error("hook input on stdin is not JSON");
      }
      const timeoutMs = Number(process.env.TAPPASS_HOOK_TIMEOUT_MS ?? 8000);
      out = await askGovernor(agentEnv(), "/hook/claude-code", input, timeoutMs);
    } catch (e) {
      out = claudeHookOutput({ decision: "deny", reason: `TapPass hook failed closed: ${(e as Error).message}` });
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}
