/**
 * The agent persona's hot commands without the CLI framework: Claude Code runs
 * `tappass-agent hook claude-code` on every tool call (Gemini CLI `… hook gemini`) and
 * `tappass-agent token` (its apiKeyHelper) at start and on renewal, so their start-up is paid
 * again and again. src/cli/main.ts hands the exact shapes `tappass-agent hook claude-code|gemini`
 * and `tappass-agent token` (or `tappass agent …`) here; anything else, --help included, goes
 * through oclif, which runs the same functions.
 */
import type { HookDecision } from "../engine/harness/claude-hook.ts";
import { invokedName } from "./self.ts";
import { personaOf } from "./persona.ts";
import { reportError } from "./report.ts";
import { writeOut } from "./stdio.ts";

/**
 * A harness hook: the hook JSON on stdin to the governor's endpoint for that harness, its answer
 * on stdout; any failure (no governor, bad input, timeout) is a deny in the harness's format.
 */
async function runHook(path: string, output: (d: HookDecision) => unknown): Promise<void> {
  const [{ agentEnv }, { askGovernor }] = await Promise.all([import("../engine/harness/agent-env.ts"), import("../engine/harness/governor-client.ts")]);
  let out: unknown;
  try {
    let input: unknown;
    try {
      input = JSON.parse(await Bun.stdin.text());
    } catch {
      throw new Error("hook input on stdin is not JSON");
    }
    out = await askGovernor(agentEnv(), path, input, Number(process.env.TAPPASS_HOOK_TIMEOUT_MS ?? 8000));
  } catch (e) {
    out = output({ decision: "deny", reason: `TapPass hook failed closed: ${(e as Error).message}` });
  }
  writeOut(`${JSON.stringify(out)}\n`);
}

/** Claude Code's PreToolUse hook. */
export async function claudeHook(): Promise<void> {
  const { claudeHookOutput } = await import("../engine/harness/claude-hook.ts");
  await runHook("/hook/claude-code", claudeHookOutput);
}

/** Gemini CLI's BeforeTool hook. */
export async function geminiHook(): Promise<void> {
  const { geminiHookOutput } = await import("../engine/harness/gemini-hook.ts");
  await runHook("/hook/gemini", geminiHookOutput);
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
