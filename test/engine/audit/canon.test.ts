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
