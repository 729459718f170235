/**
 * Starting the sandbox process before its spec is known (exec's prelaunch), kept apart from the
 * rest of the kernel ring so exec can do it before the bulk of the engine has even loaded.
 */
import { chmodSync, closeSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debugSpan } from "./debug.ts";

export type StdioOpt = "inherit" | "pipe" | "ignore";

/** The bridge's unix-socket directory (0700) and the empty mode-000 file bound over denied files. */
export interface LaunchDirs {
  sockDir: string;
  maskFile: string;
}

export function launchDirs(): LaunchDirs {
  const sockDir = mkdtempSync(join(tmpdir(), "tappass-sbx-"));
  chmodSync(sockDir, 0o700);
  const maskFile = join(sockDir, "mask");
  writeFileSync(maskFile, "", { mode: 0 });
  chmodSync(maskFile, 0);
  return { sockDir, maskFile };
}

/**
 * A sandbox process started before its spec is known: bwrap and the `__exec` step, which blocks
 * on fd 3 and runs nothing until the governor writes the spec there. `exec` starts one from the
 * command line an earlier run used (same agent, directory and command), so the namespaces and
 * the step's runtime start while the policy is loaded; spawnConfined keeps it only if the
 * policy gives the very same command line.
 */
export interface Prelaunch {
  /** bwrap's whole argv. */
  argv: string[];
  child: ReturnType<typeof Bun.spawn>;
  specFd: number;
  /** Kill it (before it has a spec, so it never runs anything) and wait until it is gone. */
  abandon(): Promise<void>;
}

export function prelaunch(argv: string[], stdio: [StdioOpt, StdioOpt, StdioOpt] = ["inherit", "inherit", "inherit"]): Prelaunch {
  debugSpan("prelaunching bwrap");
  const child = spawnBwrap(argv, stdio);
  const specFd = (child as unknown as { stdio: unknown[] }).stdio[3] as number;
  let gone: Promise<void> | undefined;
  return {
    argv,
    child,
    specFd,
    abandon: () =>
      (gone ??= (async () => {
        // The whole tree dies before fd 3 closes: the step must never see EOF (it would say "no spec"
        // on stderr). bwrap's namespace init and the step are killed by pid, not only through
        // bwrap's --die-with-parent, which lands a moment after bwrap itself is gone.
        for (const pid of descendants(child.pid).reverse()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        child.kill("SIGKILL");
        await child.exited.catch(() => undefined);
        if (typeof specFd === "number") closeSync(specFd);
      })()),
  };
}

/** Every process below `pid`, parents before children (Linux: /proc/PID/task/PID/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number, depth: number) => {
    if (depth > 8) return;
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {}
    for (const k of kids) {
      out.push(k);
      walk(k, depth + 1);
    }
  };
  walk(pid, 0);
  return out;
}

/** The sandbox process's environment (the agent's own comes in the spec). */
/**
 * bwrap with SIGINT and SIGQUIT ignored (set by a shell that then execs it; the __exec step
 * restores every default before it execs the command). bwrap shares the terminal's process
 * group with the command, so Ctrl-C reached it too, and it died at once — taking the command
 * with it (--die-with-parent) before the command could handle its own SIGINT.
 */
export function spawnBwrap(argv: string[], stdio: [StdioOpt, StdioOpt, StdioOpt]): ReturnType<typeof Bun.spawn> {
  return Bun.spawn(["/bin/sh", "-c", 'trap "" INT QUIT; exec "$@"', "sh", ...argv], { stdio: [...stdio, "pipe"], env: stepEnv() });
}

export const stepEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  ...(process.env.TAPPASS_SELF ? { TAPPASS_SELF: process.env.TAPPASS_SELF } : {}),
  ...(process.env.TAPPASS_DEBUG ? { TAPPASS_DEBUG: process.env.TAPPASS_DEBUG } : {}),
});

