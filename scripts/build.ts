/**
 * `npm run build`: ONE executable, dist/tappass (bun build --compile), plus the persona
 * symlinks dist/tappass-host and dist/tappass-agent. Flags from FINDINGS.md: --splitting with
 * ESM keeps lazily-imported engine code out of start-up; --bytecode halves cold start.
 */
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
const out = join(dist, "tappass");
const t0 = performance.now();
const proc = Bun.spawnSync(
  [
    process.execPath, "build", "--compile", "--splitting", "--format=esm", "--bytecode", "--minify-syntax", "--minify-whitespace",
    "--sourcemap=none", `--outfile=${out}`,
    // Optional native/dev-only modules that must never be bundled into the binary: better-sqlite3
    // (the Node adapter), and typescript, which oclif requires only to read a plugin's
    // tsconfig.json in development (it catches the failure); bundled it is 16 MB of the binary.
    "--external=better-sqlite3",
    "--external=typescript",
    join(root, "src", "cli", "main.ts"),
  ],
  { cwd: root, stdout: "inherit", stderr: "inherit" },
);
if (proc.exitCode !== 0) {
  process.stderr.write(`build: bun build failed (exit ${proc.exitCode})\n`);
  process.exit(proc.exitCode ?? 1);
}
for (const persona of ["tappass-host", "tappass-agent"]) {
  const link = join(dist, persona);
  if (existsSync(link)) rmSync(link);
  symlinkSync("tappass", link);
}
process.stderr.write(`build: dist/tappass (+ tappass-host, tappass-agent) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
