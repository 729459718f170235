import { describe, expect, test } from "bun:test";
import { RSet } from "../../../../src/engine/rego/value.ts";
import { call, callErr, callJ, ctx } from "./helpers.ts";

describe("graph.reachable_paths / rand.intn", () => {
  test("paths through cycles, dead ends and missing nodes", () => {
    const g = { a: ["b", "c"], b: ["c"], c: [], d: ["nope"] };
    expect(callJ("graph.reachable_paths", [g, ["a"]])).toEqual([["a", "b", "c"], ["a", "c"]]);
    expect(callJ("graph.reachable_paths", [{ a: RSet.from(["b"]), b: RSet.from(["a"]) }, RSet.from(["a"])])).toEqual([["a", "b"]]);
    expect(callJ("graph.reachable_paths", [g, ["d"]])).toEqual([["d"]]);
    expect(callErr("graph.reachable_paths", [g, "a"]).code).toBe("eval_type_error");
  });
  test("rand.intn is in range and stable per (key, n) within one evaluation", () => {
    const c = ctx();
    const v = call("rand.intn", ["k", 1000], c) as number;
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(1000);
    expect(call("rand.intn", ["k", 1000], c)).toBe(v);
    expect(call("rand.intn", ["k", 0], c)).toBe(0);
    expect(call("rand.intn", ["k", -5], c) as number).toBeLessThan(5);
  });
});
