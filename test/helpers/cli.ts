/**
 * Run TapPass as a user would: the source entry (`bun src/cli/main.ts`) or the built binary
 * (dist/tappass and its persona symlinks). Returns stdout, stderr, exit code and parsed JSON.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dir, "..", "..");
export const binary = join(root, "dist", "tappass");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of arbitrary shape
  json: any;
}

function finish(p: { exitCode: number | null; stdout: Uint8Array | Buffer; stderr: Uint8Array | Buffer }): CliResult {
  const stdout = Buffer.from(p.stdout).toString();
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: p.exitCode ?? -1, stdout, stderr: Buffer.from(p.stderr).toString(), json };
}

/** Run the CLI from source with the given TAPPASS_HOME. */
export function tappass(args: string[], opts: { home: string; input?: string; env?: Record<string, string>; cwd?: string } ): CliResult {
  const p = Bun.spawnSync([process.execPath, join(root, "src", "cli", "main.ts"), ...args], {
    env: { ...process.env, TAPPASS_HOME: opts.home, NO_COLOR: "1", ...opts.env },
    stdin: opts.input !== undefined ? Buffer.from(opts.input) : "ignore",
    cwd: opts.cwd ?? root,
  });
  return finish(p);
}

/** Run the built binary (or a persona symlink: "tappass-agent", "tappass-host"). */
export function built(name: string, args: string[], opts: { home: string; input?: string; env?: Record<string, string> }): CliResult {
  const p = Bun.spawnSync([join(root, "dist", name), ...args], {
    env: { ...process.env, TAPPASS_HOME: opts.home, NO_COLOR: "1", ...opts.env },
    stdin: opts.input !== undefined ? Buffer.from(opts.input) : "ignore",
  });
  return finish(p);
}

export const hasBinary = () => existsSync(binary);
