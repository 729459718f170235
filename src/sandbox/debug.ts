import { writeSync } from "node:fs";

/** TAPPASS_DEBUG=1 start-up spans on stderr: time since this process started, and a wall clock (ms, mod 100 s) to line up lines from the governor and the `__exec` step. */
export function debugSpan(what: string): void {
  if (!process.env.TAPPASS_DEBUG) return;
  const now = performance.now();
  writeSync(2, `tappass: ${what} at ${now.toFixed(1)} ms (clock ${((performance.timeOrigin + now) % 1e5).toFixed(1)})\n`);
}
