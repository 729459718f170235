/**
 * Run the TapPass CLI from source asynchronously (so a fake model served by the test process
 * keeps answering while the command runs).
 */
import { join } from "node:path";
import { root } from "./cli.ts";

export interface AsyncResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function tappassAsync(args: string[], opts: { home: string; env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number }): Promise<AsyncResult> {
  const p = Bun.spawn([process.execPath, join(root, "src", "cli", "main.ts"), ...args], {
    env: { ...process.env, TAPPASS_HOME: opts.home, NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd ?? root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
