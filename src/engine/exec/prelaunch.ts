/**
 * exec's prelaunch: the launch cache and the early start of the sandbox, in a module light enough
 * for exec's fast path to run before it loads the rest of the engine (src/cli/exec-fast.ts).
 *
 * The launch cache keeps bwrap's command line from the last run of the same program (its
 * arguments travel in the spec), by the same agent flag, in the same directory — one entry per
 * such triple — with its per-run directories as placeholders. A hit starts the sandbox at once:
 * it waits for its spec on fd 3, so nothing runs before the policy is loaded and verified, and
 * spawnConfined keeps it only if this run's policy gives the very same command line, else kills
 * it and starts anew. A missing or unreadable entry is a miss; TAPPASS_HOME is masked from the
 * agent inside the ring.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { findBwrap } from "../../sandbox/netns.ts";
import { type LaunchDirs, type Prelaunch, type StdioOpt, launchDirs, prelaunch } from "../../sandbox/prelaunch.ts";
import { tappassHome } from "../home.ts";
import { type Harness, harnessOf } from "./harness.ts";

/** Resolve argv[0] on PATH (exec needs the real file to let it through the kernel ring). */
export function resolveCommand(cmd: string, path = process.env.PATH ?? ""): string | null {
  if (cmd.includes("/")) return existsSync(cmd) ? resolve(cmd) : null;
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Harness state directories the agent must write (sessions, logs): private to this run. */
export const HARNESS_STATE: Partial<Record<Harness, string>> = { "claude-code": "claude-home", codex: "codex", "gemini-cli": "gemini-home" };

/**
 * The private render directory (0700): the harness config, the harness's own state directory
 * and the policy file (created empty here, filled once the policy is loaded: a prelaunched
 * sandbox binds these before that).
 */
export function renderDir(harness: Harness): string {
  const dir = mkdtempSync(join(tmpdir(), "tappass-exec-"));
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, "policy.json"), "", { mode: 0o600 });
  const stateDir = HARNESS_STATE[harness];
  if (stateDir) mkdirSync(join(dir, stateDir), { recursive: true });
  return dir;
}

/** The launch cache's entry for a key (see the file comment). */
const launchFile = (key: string) => join(tappassHome(), "cache", `launch-${key}.json`);
const SOCK = "\u0000sock";
const DIR = "\u0000dir";

export function launchCacheKey(agent: string | undefined, cwd: string, exe: string): string {
  return new Bun.CryptoHasher("sha256").update(JSON.stringify({ v: 1, agent: agent ?? null, cwd, exe, uid: process.getuid?.() ?? null })).digest("hex").slice(0, 32);
}

const swapPrefix = (a: string, from: string, to: string) => (a === from || a.startsWith(`${from}/`) ? to + a.slice(from.length) : a);

function prelaunchFromCache(key: string, harness: Harness, stdio: [StdioOpt, StdioOpt, StdioOpt]): Early | undefined {
  let argv: unknown;
  try {
    argv = JSON.parse(readFileSync(launchFile(key), "utf8")).argv;
  } catch {
    return undefined;
  }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string") || argv.length === 0) return undefined;
  // Only ever bubblewrap, as this run would start it (the entry is data, never a program to run).
  if (argv[0] !== findBwrap()) return undefined;
  const dirs = launchDirs();
  const dir = renderDir(harness);
  const real = (argv as string[]).map((a) => swapPrefix(swapPrefix(a, SOCK, dirs.sockDir), DIR, dir));
  return { pre: prelaunch(real, stdio), dirs, dir };
}

export function saveLaunch(key: string, argv: string[], at: { sock: string; dir: string }): void {
  const file = launchFile(key);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ argv: argv.map((a) => swapPrefix(swapPrefix(a, at.sock, SOCK), at.dir, DIR)) }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // read-only home, full disk: no prelaunch next time
  }
}

/** A sandbox started early, with the directories its command line names. */
export interface Early {
  pre: Prelaunch;
  dirs: LaunchDirs;
  /** The render directory (renderDir). */
  dir: string;
}

/** The launch-cache key of this run, its resolved program, and the sandbox started from its entry when there is one. */
export interface Launch {
  key: string;
  exe: string;
  early?: Early;
}

export function startLaunch(o: { agent?: string; cwd: string; exe: string; argv: string[]; stdio: [StdioOpt, StdioOpt, StdioOpt] }): Launch {
  const key = launchCacheKey(o.agent, o.cwd, o.exe);
  return { key, exe: o.exe, early: prelaunchFromCache(key, harnessOf(o.argv), o.stdio) };
}
