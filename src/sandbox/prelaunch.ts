/**
 * Starting the sandbox process before its spec is known (exec's prelaunch), kept apart from the
 * rest of the kernel ring so exec can do it before the bulk of the engine has even loaded.
 */
import { chmodSync, closeSync, mkdtempSync, writeFileSync } from "node:fs";
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
  const child = Bun.spawn(argv, { stdio: [...stdio, "pipe"], env: stepEnv() });
  const specFd = (child as unknown as { stdio: unknown[] }).stdio[3] as number;
  let gone: Promise<void> | undefined;
  return {
    argv,
    child,
    specFd,
    abandon: () =>
      (gone ??= (async () => {
        // SIGKILL first: the step must not see EOF on fd 3 (it would say "no spec" on stderr).
        child.kill("SIGKILL");
        await child.exited.catch(() => undefined);
        if (typeof specFd === "number") closeSync(specFd);
      })()),
  };
}

/** The sandbox process's environment (the agent's own comes in the spec). */
export const stepEnv = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  ...(process.env.TAPPASS_SELF ? { TAPPASS_SELF: process.env.TAPPASS_SELF } : {}),
  ...(process.env.TAPPASS_DEBUG ? { TAPPASS_DEBUG: process.env.TAPPASS_DEBUG } : {}),
});

