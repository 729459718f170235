#!/usr/bin/env node
// npm bin shim (`npx tappass …`): runs the compiled binary when `npm run build` made one,
// otherwise the TypeScript source under the Bun that `npm install` brought. Same commands either way.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const invoked = basename(process.argv[1] ?? "tappass").replace(/\.js$/, "");
const compiled = join(root, "dist", "tappass");
const bun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
const useCompiled = existsSync(compiled) && !process.env.TAPPASS_FROM_SOURCE;
const cmd = useCompiled ? compiled : bun;
const args = useCompiled ? process.argv.slice(2) : [join(root, "src", "cli", "main.ts"), ...process.argv.slice(2)];
if (!useCompiled && !existsSync(bun)) {
  process.stderr.write("error: Bun not found in node_modules — run `npm install` in the TapPass checkout first\n");
  process.exit(4);
}
const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, TAPPASS_PERSONA_NAME: invoked.startsWith("tappass") ? invoked : "tappass" } });
if (r.error) {
  process.stderr.write(`error: could not start TapPass: ${r.error.message}\n`);
  process.exit(4);
}
process.exit(r.status ?? (r.signal ? 128 + 1 : 4));
