/**
 * The agent persona's hot commands without the CLI framework: Claude Code runs
 * `tappass-agent hook claude-code` on every tool call (Gemini CLI `… hook gemini`) and
 * `tappass-agent token` (its apiKeyHelper) at start and on renewal, so their start-up is paid
 * again and again. src/cli/main.ts hands the exact shapes `tappass-agent hook claude-code|gemini`
 * and `tappass-agent token` (or `tappass agent …`) here; anything else, --help included, goes through oclif, which runs the
 * same functions.
 */
import { invokedName } from "./self.ts";
import { personaOf } from "./persona.ts";
import { reportError } from "./report.ts";
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

/** Gemini CLI's BeforeTool hook: the same, in Gemini's format; any failure denies. */
export async function geminiHook(): Promise<void> {
  const [{ agentEnv }, { askGovernor }, { geminiHookOutput }] = await Promise.all([
    import("../engine/harness/agent-env.ts"),
    import("../engine/harness/governor-client.ts"),
    import("../engine/harness/gemini-hook.ts"),
  ]);
  let out: unknown;
  try {
    const input = JSON.parse(await Bun.stdin.text()) as unknown;
    out = await askGovernor(agentEnv(), "/hook/gemini", input, Number(process.env.TAPPASS_HOOK_TIMEOUT_MS ?? 8000));
  } catch (e) {
    const why = e instanceof SyntaxError ? "hook input on stdin is not JSON" : (e as Error).message;
    out = geminiHookOutput({ decision: "deny", reason: `TapPass hook failed closed: ${why}` });
  }
  writeOut(`${JSON.stringify(out)}\n`);
}

/** Print a fresh capability token for this session, renewed by the governor (apiKeyHelper). */
export async function agentToken(): Promise<void> {
  const [{ agentEnv }, { renewToken }] = await Promise.all([import("../engine/harness/agent-env.ts"), import("../engine/harness/governor-client.ts")]);
  writeOut(`${await renewToken(agentEnv(), process.env.TAPPASS_SESSION_SECRET)}\n`);
}

/** The fast path: true when it ran one of these commands, false to let oclif parse the arguments. */
export async function tryFastAgent(args: string[]): Promise<boolean> {
  const persona = personaOf(invokedName());
  const shape = persona === "agent" ? args : persona === "operator" && args[0] === "agent" ? args.slice(1) : null;
  if (shape?.length === 2 && shape[0] === "hook" && (shape[1] === "claude-code" || shape[1] === "gemini")) {
    await (shape[1] === "gemini" ? geminiHook() : claudeHook());
    return true;
  }
  if (shape?.length === 1 && shape[0] === "token") {
    try {
      await agentToken();
    } catch (err) {
      reportError(err, false);
    }
    return true;
  }
  return false;
}
