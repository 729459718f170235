/**
 * Runner for OPA-format YAML conformance cases (the schema of OPA's test/cases/testdata):
 * cases[].note, modules, data, input, input_term, query, want_result, want_error,
 * want_error_code, strict_error, sort_bindings, skip. Cases needing the network or the OPA
 * runtime (http.send, graphql.*, opa.runtime, net.lookup_ip_addr) are skipped with the reason.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { RegoError } from "./errors.ts";
import { Evaluator } from "./eval.ts";
import { compileRaw } from "./index.ts";
import { compare, fromJSON, RObject, RSet, toJSONText, type Value } from "./value.ts";

export interface ConformanceReport {
  passed: number;
  failed: number;
  skipped: number;
  failures: { note: string; reason: string }[];
  skips: { note: string; reason: string }[];
}

interface Case {
  note: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  query: string;
  want_result?: Record<string, unknown>[];
  want_error?: string;
  want_error_code?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
  skip?: boolean | string;
}

const OFFLINE_SKIPS: [RegExp, string][] = [
  [/\bhttp\.send\b/, "http.send needs the network"],
  [/\bgraphql\./, "graphql builtins are not part of TapPass"],
  [/\bopa\.runtime\b/, "opa.runtime describes an OPA server process"],
  [/\bnet\.lookup_ip_addr\b/, "net.lookup_ip_addr needs DNS"],
];

export function listYamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) out.push(p);
    }
  };
  if (statSync(dir).isDirectory()) walk(dir);
  else out.push(dir);
  return out;
}

export function runConformance(dir: string, opts: { filter?: (note: string) => boolean } = {}): ConformanceReport {
  const rep: ConformanceReport = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
  for (const file of listYamlFiles(dir)) {
    let doc: { cases?: Case[] };
    try {
      doc = YAML.parse(readFileSync(file, "utf8"), { intAsBigInt: true }) as { cases?: Case[] };
    } catch (e) {
      rep.failed++;
      rep.failures.push({ note: file, reason: `cannot parse YAML: ${(e as Error).message}` });
      continue;
    }
    for (const c of doc?.cases ?? []) {
      if (opts.filter && !opts.filter(c.note)) continue;
      const r = runCase(c);
      if (r === true) rep.passed++;
      else if (r.skip) {
        rep.skipped++;
        rep.skips.push({ note: c.note, reason: r.skip });
      } else {
        rep.failed++;
        rep.failures.push({ note: c.note, reason: r.fail ?? "" });
      }
    }
  }
  return rep;
}

export function runCase(c: Case): true | { skip?: string; fail?: string } {
  if (c.skip) return { skip: typeof c.skip === "string" ? c.skip : "marked skip" };
  const text = [...(c.modules ?? []), c.query].join("\n");
  for (const [re, why] of OFFLINE_SKIPS) if (re.test(text)) return { skip: why };
  let rows: Record<string, Value>[];
  try {
    const compiled = compileRaw(
      (c.modules ?? []).map((source, i) => ({ filename: `test-${i}.rego`, source })),
      c.data ?? {},
    );
    let input: Value | undefined = c.input === undefined ? undefined : fromJSON(c.input);
    if (c.input_term !== undefined) {
      const { q } = compiled.prepare(`input__term = ${c.input_term}`);
      const ev = new Evaluator(compiled.compiler, { data: compiled.data });
      const r = ev.run(q);
      input = r[0]?.input__term;
    }
    const { q } = compiled.prepare(c.query);
    const ev = new Evaluator(compiled.compiler, { data: compiled.data, input, strict: c.strict_error ?? false, print: () => {} });
    rows = ev.run(q);
  } catch (e) {
    if (!(e instanceof RegoError)) {
      if (c.want_error !== undefined || c.want_error_code !== undefined) {
        if (e instanceof RangeError) return { fail: `internal: ${(e as Error).message}` };
      }
      return { fail: `internal error: ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}` };
    }
    if (c.want_error === undefined && c.want_error_code === undefined) return { fail: `unexpected error: ${e.full()}` };
    if (c.want_error_code !== undefined && c.want_error_code !== e.code) return { fail: `want code ${c.want_error_code}, got ${e.full()}` };
    if (c.want_error !== undefined && !e.full().includes(c.want_error) && !e.message.includes(c.want_error))
      return { fail: `want error "${c.want_error}", got ${e.full()}` };
    return true;
  }
  if (c.want_error !== undefined || c.want_error_code !== undefined)
    return { fail: `want error ${c.want_error_code ?? ""} ${c.want_error ?? ""}, got result ${rows.map((r) => toJSONText(toPlain(RObject.from(Object.entries(r))))).join(";")}` };
  const want = (c.want_result ?? []).map((r) => toPlain(fromJSON(r)));
  const got = rows.map((r) => toPlain(RObject.from(Object.entries(r))));
  const norm = (rs: Value[]) => (c.sort_bindings ? rs.map(sortArrays) : rs);
  const w = norm(want);
  const g = norm(got);
  if (sameRows(w, g) || (c.sort_bindings && sameRows([...w].sort(compare), [...g].sort(compare)))) return true;
  return { fail: `want ${w.map(toJSONText).join(";")} got ${g.map(toJSONText).join(";")}` };
}

function sameRows(a: Value[], b: Value[]): boolean {
  return a.length === b.length && a.every((x, i) => compare(x, b[i] as Value) === 0);
}

/** Sets → sorted arrays, non-string keys → their JSON text (like OPA's JSON output). */
function toPlain(v: Value): Value {
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof RSet) return v.values().map(toPlain);
  if (v instanceof RObject) {
    const o = new RObject();
    for (const [k, val] of v.entries()) o.set(typeof k === "string" ? k : toJSONText(k), toPlain(val));
    return o;
  }
  return v;
}

function sortArrays(row: Value): Value {
  if (!(row instanceof RObject)) return row;
  const o = new RObject();
  for (const [k, v] of row.entries()) o.set(k, Array.isArray(v) ? [...v].sort(compare) : v);
  return o;
}
