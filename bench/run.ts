/**
 * `npm run bench`: runs every bench/*.bench.ts (each exports `default async () => section`),
 * prints a summary, and writes bench/results/latest.json. Ratios are measured side by side in
 * one run; absolute times are machine-dependent.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort().filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const results: Record<string, unknown> = { started_at: new Date().toISOString(), bun: Bun.version, platform: `${process.platform}-${process.arch}` };
let failed = 0;
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, "");
  process.stderr.write(`bench: ${name} …\n`);
  const t0 = performance.now();
  try {
    const mod = (await import(join(dir, f))) as { default: () => Promise<unknown> };
    results[name] = await mod.default();
  } catch (e) {
    failed++;
    results[name] = { error: (e as Error).stack ?? String(e) };
  }
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  console.log(`== ${name}\n${JSON.stringify(results[name], null, 2)}`);
}
mkdirSync(join(dir, "results"), { recursive: true });
writeFileSync(join(dir, "results", "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
process.stderr.write(`bench: wrote bench/results/latest.json${failed ? ` (${failed} section(s) failed)` : ""}\n`);
process.exit(failed ? 1 : 0);
