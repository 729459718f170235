import { describe, expect, test } from "bun:test";
import { BigNum } from "../../../../src/engine/rego/value.ts";
import { call, callErr, callJ, ctx } from "./helpers.ts";

describe("units", () => {
  test("parse (exact decimals)", () => {
    expect(call("units.parse", ["500m"])).toBe(0.5);
    expect(call("units.parse", ["1.1Ki"])).toBe(1126.4);
    expect(call("units.parse", ["10KI"])).toBe(10240);
    expect(call("units.parse", ["-3.5E2m"])).toBe(-0.35);
    expect(call("units.parse", ["10Ei"])).toEqual(new BigNum(1152921504606846976n, 1));
    expect(callErr("units.parse", ["100 k"]).message).toBe("spaces not allowed in resource strings");
    expect(callErr("units.parse", ["G"]).message).toBe("no amount provided");
    expect(callErr("units.parse", [".5.2"]).message).toBe("could not parse amount to a number");
  });
  test("parse_bytes (truncates)", () => {
    expect(call("units.parse_bytes", ["1.1KiB"])).toBe(1126);
    expect(call("units.parse_bytes", ['"100TIB"'])).toBe(109951162777600);
    expect(call("units.parse_bytes", ["1e-2KB"])).toBe(10);
    expect(callErr("units.parse_bytes", ["12qb"]).message).toBe("byte unit qb not recognized");
  });
});

describe("bits", () => {
  test("arbitrary precision", () => {
    expect(call("bits.and", [7, 9])).toBe(1);
    expect(call("bits.or", [7, 9])).toBe(15);
    expect(call("bits.xor", [42, 3])).toBe(41);
    expect(call("bits.negate", [42])).toBe(-43);
    expect(call("bits.lsh", [9223372036854775807n, 1])).toEqual(new BigNum(18446744073709551614n, 0));
    expect(call("bits.rsh", [-8, 1])).toBe(-4);
    expect(callErr("bits.and", [7.2, 1]).message).toBe("operand 1 must be integer number but got floating-point number");
    expect(callErr("bits.lsh", [7, -1]).message).toBe("operand 2 must be an unsigned integer number but got a negative integer");
  });
});

describe("semver", () => {
  test("is_valid / compare (SemVer 2.0 precedence)", () => {
    expect(call("semver.is_valid", ["1.0.0-alpha.1+build.5"])).toBe(true);
    expect(call("semver.is_valid", ["1.0"])).toBe(false);
    expect(call("semver.is_valid", [1])).toBe(false);
    const order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"];
    for (let i = 0; i + 1 < order.length; i++) {
      expect(call("semver.compare", [order[i], order[i + 1]])).toBe(-1);
      expect(call("semver.compare", [order[i + 1], order[i]])).toBe(1);
    }
    expect(call("semver.compare", ["1.0.0+a", "1.0.0+b"])).toBe(0);
    expect(callErr("semver.compare", ["1", "1.0.0"]).message).toBe('operand 1: string "1" is not a valid SemVer');
  });
});

describe("uuid", () => {
  test("rfc4122 is v4 and stable per key within one evaluation", () => {
    const c = ctx();
    const a = call("uuid.rfc4122", ["k"], c) as string;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(call("uuid.rfc4122", ["k"], c)).toBe(a);
    expect(call("uuid.rfc4122", ["other"], c)).not.toBe(a);
    expect(call("uuid.rfc4122", ["k"], ctx())).not.toBe(a);
  });
  test("parse v1/v2 fields", () => {
    expect(callJ("uuid.parse", ["{00000000-0000-4000-8000-000000000000}"])).toEqual({ variant: "RFC4122", version: 4 });
    const v2 = call("uuid.parse", ["urn:uuid:000003e8-48b9-21ee-b200-325096b39f47"]) as never as { get(k: string): unknown };
    expect(v2.get("id")).toBe(1000);
    expect(v2.get("domain")).toBe("Person");
    expect(v2.get("clocksequence")).toBe(12800);
    expect(v2.get("nodeid")).toBe("32-50-96-b3-9f-47");
    expect(v2.get("macvariables")).toBe("local:unicast");
    expect(v2.get("time")).toEqual(new BigNum(16935669901214696n, 2));
    expect(call("uuid.parse", ["not-a-uuid"])).toBeUndefined();
  });
});

describe("net.cidr_*", () => {
  test("contains / intersects / is_valid", () => {
    expect(call("net.cidr_contains", ["10.0.0.0/8", "10.1.0.0/24"])).toBe(true);
    expect(call("net.cidr_contains", ["172.17.0.0/24", "172.17.0.0/16"])).toBe(false);
    expect(call("net.cidr_contains", ["2001:4860:4860::8888/32", "2001:4860:4860:1234:5678:1234:5678:8888/128"])).toBe(true);
    expect(call("net.cidr_contains", ["10.0.0.0/8", "::ffff:10.1.2.3"])).toBe(true);
    expect(call("net.cidr_intersects", ["192.168.1.0/25", "192.168.1.64/25"])).toBe(true);
    expect(call("net.cidr_is_valid", ["192.168.1.2"])).toBe(false);
    expect(call("net.cidr_is_valid", ["2002::1234:abcd:ffff:c0a8:101/64"])).toBe(true);
    expect(call("net.cidr_is_valid", ["010.0.0.0/8"])).toBe(false);
    expect(callErr("net.cidr_expand", ["192.168.1.1/33"]).message).toBe("invalid CIDR address: 192.168.1.1/33");
  });
  test("expand / merge / contains_matches", () => {
    expect(callJ("net.cidr_expand", ["172.16.100.255/30"])).toEqual(["172.16.100.252", "172.16.100.253", "172.16.100.254", "172.16.100.255"]);
    expect(callJ("net.cidr_merge", [["192.0.2.112/30", "192.0.2.116/31", "192.0.2.118/31"]])).toEqual(["192.0.2.112/29"]);
    expect(callJ("net.cidr_merge", [["192.0.128.0", "192.0.129.0"]])).toEqual(["192.0.128.0/23"]);
    expect(callJ("net.cidr_merge", [["fe80::/120", "192.0.2.0/24", "192.0.3.0/24"]])).toEqual(["192.0.2.0/23", "fe80::/120"]);
    expect(callErr("net.cidr_merge", [["2601:600::1"]]).message).toBe("IPv6 invalid: needs prefix length");
    expect(callJ("net.cidr_contains_matches", [["1.1.2.0/24", "1.1.1.0/24"], ["1.1.1.1", "1.1.2.1"]])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });
});

describe("json.filter / json.remove / json.patch", () => {
  test("filter and remove", () => {
    expect(callJ("json.filter", [{ a: { b: { c: 7, d: 8 } }, e: 9 }, ["a/b/c", "e"]])).toEqual({ a: { b: { c: 7 } }, e: 9 });
    expect(callJ("json.filter", [{ a: [{ b: 7, c: 8 }, { d: 9 }] }, ["a/0/b", "a/1"]])).toEqual({ a: [{ b: 7 }, { d: 9 }] });
    expect(callJ("json.remove", [{ a: { b: 7 }, c: 1 }, ["a/b", "c"]])).toEqual({ a: {} });
    expect(callErr("json.remove", ["foo", ["a"]]).message).toBe("operand 1 must be object but got string");
  });
  test("patch (RFC 6902 operations)", () => {
    expect(callJ("json.patch", [{ foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }]])).toEqual({ foo: ["bar", "qux", "baz"] });
    expect(callJ("json.patch", [{ foo: { waldo: "fred" }, qux: {} }, [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }]])).toEqual({
      foo: {},
      qux: { thud: "fred" },
    });
    expect(callJ("json.patch", [{ "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: 10 }]])).toEqual({ "/": 9, "~1": 10 });
    expect(call("json.patch", [{ baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }]])).toBeUndefined();
    expect(call("json.patch", [["foo", "bar"], [{ op: "test", path: "/01", value: "bar" }]])).toBeUndefined();
  });
});
