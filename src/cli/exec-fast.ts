/**
 * `tappass exec` without the CLI framework. exec is the one command whose start-up time is on
 * every governed run's critical path, so src/cli/main.ts hands it here first; only the
 * well-formed shape `exec [FLAGS…] -- COMMAND [ARGS…]` is taken, with exactly the flags of
 * src/commands/exec.ts. Anything else (--help, an unknown, repeated or malformed flag, no `--`,
 * another persona) returns false and goes through oclif as before, so flags, usage errors and
 * --json behave identically. Both paths run `execCommand`.
 */
import { resolve } from "node:path";
import type { Launch } from "../engine/exec/prelaunch.ts";
import { invokedName } from "./self.ts";
import { personaOf } from "./persona.ts";
import { reportError } from "./report.ts";
import { writeErr } from "./stdio.ts";

export interface ExecFlags {
  agent?: string;
  "no-kernel": boolean;
  "upstream-anthropic"?: string;
  "upstream-openai"?: string;
  "upstream-gemini"?: string;
  "mcp-config"?: string;
  "approve-mcp"?: boolean;
  summary?: string;
  quiet: boolean;
  json: boolean;
}

type StringFlag = "agent" | "upstream-anthropic" | "upstream-openai" | "upstream-gemini" | "mcp-config" | "summary";
type BoolFlag = "no-kernel" | "quiet" | "json" | "approve-mcp";
const STRING_FLAGS = new Set<string>(["agent", "upstream-anthropic", "upstream-openai", "upstream-gemini", "mcp-config", "summary"]);
const BOOL_FLAGS = new Set<string>(["no-kernel", "quiet", "json", "approve-mcp"]);

/** `[FLAGS…] -- COMMAND…` → flags and the command; null when oclif should parse it instead. */
export function parseExecArgv(args: string[]): { flags: ExecFlags; command: string[] } | null {
  const dd = args.indexOf("--");
  if (dd === -1 || dd === args.length - 1) return null;
  const flags: ExecFlags = { "no-kernel": false, quiet: false, json: false };
  const seen = new Set<string>();
  for (let i = 0; i < dd; i++) {
    const a = args[i] as string;
    if (!a.startsWith("--")) return null;
    const eq = a.indexOf("=");
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if (seen.has(name)) return null;
    seen.add(name);
    if (BOOL_FLAGS.has(name)) {
      if (eq !== -1) return null;
      flags[name as BoolFlag] = true;
    } else if (STRING_FLAGS.has(name)) {
      let value: string | undefined;
      if (eq !== -1) value = a.slice(eq + 1);
      else if (i + 1 < dd) value = args[++i];
      if (!value || value.startsWith("-")) return null;
      flags[name as StringFlag] = value;
    } else {
      return null;
    }
  }
  return { flags, command: args.slice(dd + 1) };
}

/** Run exec for parsed flags: the governed command, the summary, its exit code. */
export async function execCommand(flags: ExecFlags, command: string[]): Promise<void> {
  // Start the sandbox from the launch cache first: bwrap and the __exec step's runtime then start
  // while the rest of the engine loads (prelaunch.ts is light).
  let launch: Launch | undefined;
  if (!flags["no-kernel"]) {
    const { resolveCommand, startLaunch } = await import("../engine/exec/prelaunch.ts");
    const exe = resolveCommand(command[0] as string);
    if (exe) launch = startLaunch({ agent: flags.agent, cwd: resolve(process.cwd()), exe, argv: command, stdio: ["inherit", "inherit", "inherit"] });
  }
  const [{ runExec }, { renderSummary }] = await Promise.all([import("../engine/exec/session.ts"), import("../engine/exec/summary.ts")]);
  const r = await runExec({
    launch,
    agent: flags.agent,
    argv: command,
    noKernel: flags["no-kernel"],
    mcpConfig: flags["mcp-config"],
    approveMcp: flags["approve-mcp"],
    upstreams: {
      anthropic: flags["upstream-anthropic"] ?? process.env.TAPPASS_UPSTREAM_ANTHROPIC,
      openai: flags["upstream-openai"] ?? process.env.TAPPASS_UPSTREAM_OPENAI,
      gemini: flags["upstream-gemini"] ?? process.env.TAPPASS_UPSTREAM_GEMINI,
    },
    log: (l) => writeErr(`${l}\n`),
    quiet: flags.quiet,
  });
  if (flags.summary) await Bun.write(flags.summary, `${JSON.stringify(r, null, 2)}\n`);
  if (!flags.quiet) writeErr(renderSummary(r));
  process.exitCode = r.exit_code;
  if (process.env.TAPPASS_DEBUG) (await import("../sandbox/debug.ts")).debugSpan("exec done");
}

/** The fast path: true when it ran exec (successfully or with the error printed), false to use oclif. */
export async function tryFastExec(args: string[]): Promise<boolean> {
  if (personaOf(invokedName()) !== "operator") return false;
  const parsed = parseExecArgv(args);
  if (!parsed) return false;
  try {
    await execCommand(parsed.flags, parsed.command);
  } catch (err) {
    // BaseCommand's jsonMode: --json anywhere in the command's argv.
    reportError(err, args.includes("--json"));
  }
  return true;
}
