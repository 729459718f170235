/** The append path's canonical serialiser must produce canonicalJson's bytes exactly. */
import { expect, test } from "bun:test";
import { canon, contentOf } from "../../../src/engine/audit/chain.ts";
import { canonicalJson } from "../../../src/engine/canonical.ts";

test("canon equals canonicalJson on awkward values and on a realistic row", () => {
  const values: unknown[] = [
    null, undefined, 0, -0, 1.5e-7, 1e21, "", "é\u0000\u2028\"\\", "😀", true, false, 12n, [], {}, [undefined, null, 1],
    { b: 1, a: undefined, "": 2, A: [{ z: 1, y: { x: undefined, w: "v" } }], "\u00e9": 3, "10": 4, "9": 5 },
    { toJSON: () => ({ b: 2, a: 1 }) }, new Date(0),
  ];
  for (const v of values) expect(canon(v)).toBe(canonicalJson(v));
  expect(() => canon(Number.NaN)).toThrow();
  expect(() => canon(() => 1)).toThrow();
  const row = {
    meta: { mode: "enforce", tokens: { input: 1, output: 2 }, denied_by: { step: "x", reason: "y" }, tools: [{ name: "t", origin: "mcp" }], absent: undefined },
    step_decisions: [{ step: "detect_secrets", decision: "allow" as const, evidence: { hits: [], score: 0.25 }, compiled_policy_aspect: "pipeline" as const, rule_provenance: [{ level: "builtin" as const, source: "preset:standard", detail: "d" }], duration_ms: 0.012 }],
  };
  expect(contentOf(row)).toBe(canonicalJson({ meta: row.meta, step_decisions: row.step_decisions }));
});
