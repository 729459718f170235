/**
 * `tappass-agent hook claude-code` without the CLI framework. Claude Code runs the hook once per
 * tool call, so its start-up is paid on every call: src/cli/main.ts hands the exact shapes
 * `tappass-agent hook claude-code` and `tappass agent hook claude-code` here (anything else,
 * --help included, goes through oclif, which runs the same `claudeHook`).
 */
import { invokedName } from "./self.ts";
import { personaOf } from "./persona.ts";
import { writeOut } from "./stdio.ts";

/** Read the PreToolUse JSON on stdin, ask the governor, print its answer; any failure denies. */
export async function claudeHook(): Promise<void> {
  const [{ agentEnv }, { askGovernor }, { claudeHookOutput }] = await Promise.all([
    import("../engine/harness/agent-env.ts"),
    import("../engine/harness/governor-client.ts"),
    import("../engine/harness/claude-hook.ts"),
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
  writeOut(`${JSON.stringify(out)}\n`);
}

/** The fast path: true when it ran the hook, false to let oclif parse the arguments. */
export async function tryFastHook(args: string[]): Promise<boolean> {
  const persona = personaOf(invokedName());
  const shape = persona === "agent" ? args : persona === "operator" && args[0] === "agent" ? args.slice(1) : null;
  if (shape?.length !== 2 || shape[0] !== "hook" || shape[1] !== "claude-code") return false;
  await claudeHook();
  return true;
}
