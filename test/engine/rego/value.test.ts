import { expect, test } from "bun:test";
import { evalQuery } from "../../../src/engine/rego/index.ts";
import { BigNum, compare, equal, fromJSON, numFromString, RObject, RSet, toJSONText } from "../../../src/engine/rego/value.ts";

const q1 = (query: string) => evalQuery({ modules: [], query })[0];

test("small numbers stay JS numbers, big ones are exact", () => {
  expect(numFromString("42")).toBe(42);
  expect(numFromString("0.5")).toBe(0.5);
  expect(numFromString("28857836529306024611913")).toBeInstanceOf(BigNum);
  expect(numFromString("1e400")).toBeInstanceOf(BigNum);
});

test("integers above 64 bits compare and add exactly", () => {
  expect(q1("x = 28857836529306024611913 != 28857836529306024611912")).toEqual({ x: true });
  expect(q1("x = 18446744073709551616 + 1 > 18446744073709551616")).toEqual({ x: true });
  expect(q1("x = 9007199254740993 - 9007199254740992")).toEqual({ x: 1 });
});

test("1e400 > 1e399", () => {
  expect(q1("x = 1e400 > 1e399")).toEqual({ x: true });
  expect(q1("x = 1e400 == 10e399")).toEqual({ x: true });
});

test("exact decimal arithmetic", () => {
  expect(q1("x = 0.1 + 0.2")).toEqual({ x: 0.3 });
  expect(q1("x = 7 / 2")).toEqual({ x: 3.5 });
  expect(q1("x = 6 / 2")).toEqual({ x: 3 });
});

test("OPA total order across types", () => {
  const vals = [RSet.from([1]), fromJSON({ a: 1 }), [1], "s", 1, true, null];
  const sorted = [...vals].sort(compare);
  expect(sorted.map((v) => toJSONText(v))).toEqual(["null", "true", "1", '"s"', "[1]", '{"a":1}', "[1]"]);
});

test("objects with non-string keys and structural equality", () => {
  const o = new RObject().set([1, 2], "a").set(1, "b");
  expect(o.get([1, 2])).toBe("a");
  expect(o.get("1")).toBeUndefined();
  expect(equal(RSet.from([1, 2]), RSet.from([2, 1]))).toBe(true);
});
