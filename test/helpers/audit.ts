import { tappass } from "./cli.ts";

/** Every audit row of a home, oldest first, via `tappass audit tail --json` (as a script would). */
// biome-ignore lint/suspicious/noExplicitAny: audit rows are JSON documents
export function auditRows(home: string): any[] {
  const r = tappass(["audit", "tail", "--json", "-n", "100000"], { home });
  if (r.code !== 0) throw new Error(`audit tail failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  return Array.isArray(j) ? j : (j.rows ?? []);
}
