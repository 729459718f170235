import { describe, expect, test } from "bun:test";
import { BigNum } from "../../../../src/engine/rego/value.ts";
import { call, callErr, callJ } from "./helpers.ts";

describe("base64 / base64url / hex (RFC 4648 vectors)", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg=="],
    ["fo", "Zm8="],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg=="],
    ["fooba", "Zm9vYmE="],
    ["foobar", "Zm9vYmFy"],
  ];
  test("base64 round trip", () => {
    for (const [plain, enc] of vectors) {
      expect(call("base64.encode", [plain])).toBe(enc);
      expect(call("base64.decode", [enc])).toBe(plain);
      expect(call("base64.is_valid", [enc])).toBe(true);
    }
    expect(call("base64.is_valid", ["Zm9"])).toBe(false);
    expect(callErr("base64.decode", ["Zm9v!"]).message).toBe("illegal base64 data at input byte 4");
  });
  test("base64url with and without padding", () => {
    expect(call("base64url.encode", ["subjects?_d"])).toBe("c3ViamVjdHM_X2Q=");
    expect(call("base64url.encode_no_pad", ["hello"])).toBe("aGVsbG8");
    expect(call("base64url.decode", ["aGVsbG8"])).toBe("hello");
    expect(call("base64url.decode", ["c3ViamVjdHM_X2Q="])).toBe("subjects?_d");
  });
  test("hex (RFC 4648 base16)", () => {
    expect(call("hex.encode", ["foobar"])).toBe("666f6f626172");
    expect(call("hex.decode", ["666F6F626172"])).toBe("foobar");
    expect(callErr("hex.decode", ["fghijkl"]).message).toBe("encoding/hex: invalid byte: U+0067 'g'");
    expect(callErr("hex.decode", ["abc"]).message).toBe("encoding/hex: odd length hex string");
  });
});

describe("urlquery", () => {
  test("encode / decode", () => {
    expect(call("urlquery.encode", ["a b&c=d/é"])).toBe("a+b%26c%3Dd%2F%C3%A9");
    expect(call("urlquery.decode", ["a+b%26c%3Dd%2F%C3%A9"])).toBe("a b&c=d/é");
    expect(callErr("urlquery.decode", ["%zz"]).message).toBe('invalid URL escape "%zz"');
  });
  test("objects", () => {
    expect(call("urlquery.encode_object", [{ b: ["2", "1"], a: "x y" }])).toBe("a=x+y&b=2&b=1");
    expect(callJ("urlquery.decode_object", ["a=1&b&a=2"])).toEqual({ a: ["1", "2"], b: [""] });
    expect(callErr("urlquery.encode_object", [{ a: 1 }]).message).toContain("only strings");
  });
});

describe("json / yaml", () => {
  test("marshal is Go-compatible (sorted keys, HTML escaping, exact numbers)", () => {
    expect(call("json.marshal", [{ b: [1, 2.5], a: "<&>" }])).toBe('{"a":"\\u003c\\u0026\\u003e","b":[1,2.5]}');
    expect(call("json.marshal", [new BigNum(123456789012345678901234567890n, 0)])).toBe("123456789012345678901234567890");
    expect(call("json.marshal_with_options", [{ a: [1] }, { indent: "  ", prefix: "> " }])).toBe('> {\n>   "a": [\n>     1\n>   ]\n> }');
    expect(callErr("json.marshal_with_options", [[], { bogus: true }]).code).toBe("eval_type_error");
  });
  test("unmarshal keeps big integers exact; duplicate keys: last wins", () => {
    const v = call("json.unmarshal", ['{"n": 123456789012345678901234567890, "a": 1, "a": 2}']);
    expect(call("json.marshal", [v as never])).toBe('{"a":2,"n":123456789012345678901234567890}');
    expect(callErr("json.unmarshal", ["{"]).message).toBe("unexpected end of JSON input");
    expect(call("json.is_valid", ["plainstring"])).toBe(false);
    expect(call("json.is_valid", [1])).toBe(false);
  });
  test("yaml round trip and YAML 1.1 scalars", () => {
    const text = call("yaml.marshal", [{ foo: [1, 2], bar: { x: "yes" } }]) as string;
    expect(text).toBe('bar:\n  x: "yes"\nfoo:\n- 1\n- 2\n');
    expect(callJ("yaml.unmarshal", [text])).toEqual({ bar: { x: "yes" }, foo: [1, 2] });
    expect(callJ("yaml.unmarshal", ["a: yes\nb: off\nc: 1.5"])).toEqual({ a: true, b: false, c: 1.5 });
    expect(call("yaml.is_valid", ["foo: {"])).toBe(false);
  });
});
