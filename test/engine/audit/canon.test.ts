/**
 * canonicalJson (hashed and signed by audit rows and policy envelopes) must equal a plain
 * reference: keys sorted by code unit, no whitespace, undefined members dropped, toJSON honoured.
 */
import { expect, test } from "bun:test";
import { contentOf } from "../../../src/engine/audit/chain.ts";
import { canonicalJson } from "../../../src/engine/canonical.ts";

function reference(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) throw new TypeError("non-finite");
  if (typeof v === "function") throw new TypeError("function");
  if (typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => reference(x)).join(",")}]`;
  const o = v as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof o.toJSON === "function") return reference(o.toJSON());
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(",")}}`;
}

test("canonicalJson equals the reference on awkward values and on a realistic row", () => {
  const values: unknown[] = [
    null, undefined, 0, -0, 1.5e-7, 1e21, "", "é\u0000\u2028\"\\", "😀", true, false, 12n, [], {}, [undefined, null, 1],
    { b: 1, a: undefined, "": 2, A: [{ z: 1, y: { x: undefined, w: "v" } }], "\u00e9": 3, "10": 4, "9": 5 },
    { toJSON: () => ({ b: 2, a: 1 }) }, new Date(0),
  ];
  for (const v of values) expect(canonicalJson(v)).toBe(reference(v));
  expect(() => canonicalJson(Number.NaN)).toThrow();
  expect(() => canonicalJson(() => 1)).toThrow();
  const row = {
    meta: { mode: "enforce", tokens: { input: 1, output: 2 }, denied_by: { step: "x", reason: "y" }, tools: [{ name: "t", origin: "mcp" }], absent: undefined },
    step_decisions: [{ step: "detect_secrets", decision: "allow" as const, evidence: { hits: [], score: 0.25 }, compiled_policy_aspect: "pipeline" as const, rule_provenance: [{ level: "builtin" as const, source: "preset:standard", detail: "d" }], duration_ms: 0.012 }],
  };
  expect(contentOf(row)).toBe(reference({ meta: row.meta, step_decisions: row.step_decisions }));
});

test("the audit fast paths write canonicalJson's exact bytes: contentOf on random values, headerText on odd fields", async () => {
  const { headerOf, headerText } = await import("../../../src/engine/audit/chain.ts");
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const keys = ["a", "b", "Z", "_", "é", "😀", "10", "9", "0", "01", "-1", "1e3", "__proto__x", "toString", "step", "evidence", ""];
  const strings = ["", "x", "é\u0000\u2028\"\\", "😀", "\ud800", "line\nbreak", "</script>"];
  const gen = (d: number): unknown => {
    const r = rnd();
    if (d > 3 || r < 0.35) {
      const p = rnd();
      if (p < 0.2) return strings[Math.floor(rnd() * strings.length)];
      if (p < 0.4) return Math.floor(rnd() * 1e6) / (rnd() < 0.5 ? 1 : 7);
      if (p < 0.5) return rnd() < 0.5;
      if (p < 0.6) return null;
      if (p < 0.65) return undefined;
      if (p < 0.68) return -0;
      if (p < 0.7) return 1e21;
      return `s${Math.floor(rnd() * 100)}`;
    }
    if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 5); i > 0; i--) o[keys[Math.floor(rnd() * keys.length)] as string] = gen(d + 1);
    if (rnd() < 0.05) return new Date(Math.floor(rnd() * 1e12));
    if (rnd() < 0.03) return Object.assign(Object.create(null), o);
    return o;
  };
  const { canonicalText } = await import("../../../src/engine/audit/chain.ts");
  for (let i = 0; i < 3000; i++) {
    const row = { meta: gen(0) as Record<string, unknown>, step_decisions: gen(0) as never };
    expect(contentOf(row)).toBe(`{"meta":${reference(row.meta)},"step_decisions":${reference(row.step_decisions)}}`);
    // canonicalText (pins, loop fingerprints, validator keys): canonicalJson's bytes on any value
    const v = gen(0);
    expect(canonicalText(v)).toBe(reference(v));
  }
  for (const v of [undefined, null, "é", 12n, [undefined], { "10": 1, b: [2, undefined] }, new Date(0)]) expect(canonicalText(v)).toBe(canonicalJson(v));
  expect(() => canonicalText(Number.POSITIVE_INFINITY)).toThrow();
  expect(() => contentOf({ meta: { x: Number.NaN }, step_decisions: [] })).toThrow();
  expect(contentOf({ meta: { n: 12n, "10": 1, "9": 2 } as never, step_decisions: [] })).toBe(reference({ meta: { n: 12n, "10": 1, "9": 2 }, step_decisions: [] }));
  const base = { seq: 3, ts: "2026-01-01T00:00:00.000Z", trace_id: "t\"1", session_id: null, agent_id: "é", sandbox_id: null, policy_version: 7, surface: "llm", decision: "allow", kid: "k" };
  const odd: Array<Record<string, unknown>> = [base, { ...base, policy_version: null }, { ...base, agent_id: undefined }, { ...base, agent_id: { x: 1, a: 2 } }, { ...base, seq: 1.5 }, { ...base, surface: true }];
  for (const h of odd) for (const v of [1, 2] as const) expect(headerText(h as never, v)).toBe(reference(headerOf(h as never, v)));
});
