/**
 * How to run this same TapPass again as a child process (the kernel ring's `__exec` re-exec,
 * hooks rendered into harness config, the demo). Works for the compiled binary, `bun src/cli/main.ts`
 * and the npm bin shim.
 */
import { basename, join, resolve } from "node:path";

const isCompiled = () => (import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN")) && typeof Bun !== "undefined";

/** argv prefix that starts TapPass: [binary] or [bun, /abs/src/cli/main.ts]. */
export function selfCommand(): string[] {
  if (process.env.TAPPASS_SELF) return JSON.parse(process.env.TAPPASS_SELF) as string[];
  if (isCompiled()) return [process.execPath];
  const main = resolve(join(import.meta.dir ?? new URL(".", import.meta.url).pathname, "main.ts"));
  return [process.execPath, main];
}

/** The name this process was invoked as (persona selection). */
export function invokedName(): string {
  // Compiled Bun binary: argv0 is the invoked path; under bun/node scripts, argv[1] is the script.
  const candidates = [process.env.TAPPASS_PERSONA_NAME, process.argv0, process.argv[1]].filter(Boolean) as string[];
  for (const c of candidates) {
    const b = basename(c);
    if (b.startsWith("tappass")) return b.replace(/\.(js|ts|mjs|cjs)$/, "");
  }
  return "tappass";
}
