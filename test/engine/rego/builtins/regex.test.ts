import { describe, expect, test } from "bun:test";
import { call, callErr, callJ } from "./helpers.ts";

describe("regex.* (RE2, Go semantics)", () => {
  test("match / is_valid / bad patterns", () => {
    expect(call("regex.match", ["^[a-z]+\\[[0-9]+\\]$", "foo[1]"])).toBe(true);
    expect(call("regex.match", ["^$", "something"])).toBe(false);
    expect(call("regex.match", ["(?i)ABC", "xabcx"])).toBe(true);
    expect(call("regex.match", ["\\pL+", "héllo"])).toBe(true);
    expect(call("regex.is_valid", ["++"])).toBe(false);
    expect(call("regex.is_valid", ["(?P<year>\\d{4})"])).toBe(true);
    expect(call("regex.is_valid", [10])).toBe(false);
    // lookbehind / backreferences are not RE2
    expect(call("regex.is_valid", ["(?<=a)b"])).toBe(false);
    expect(call("regex.is_valid", ["(a)\\1"])).toBe(false);
    const e = callErr("regex.match", ["[", "x"]);
    expect(e.code).toBe("eval_builtin_error");
    expect(e.message).toContain("error parsing regexp: missing closing ]");
  });

  test("pathological patterns run in linear time", () => {
    const input = `${"a".repeat(50000)}b`;
    const t0 = performance.now();
    expect(call("regex.match", ["^(a+)+$", input])).toBe(false);
    expect(call("regex.match", ["(a|aa)*c", input])).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test("find_n and find_all_string_submatch_n", () => {
    expect(callJ("regex.find_n", ["a.", "paranormal", -1])).toEqual(["ar", "an", "al"]);
    expect(callJ("regex.find_n", ["a.", "paranormal", 2])).toEqual(["ar", "an"]);
    expect(callJ("regex.find_n", ["a*", "baaab", -1])).toEqual(["", "aaa", ""]);
    expect(callJ("regex.find_n", ["é.", "xéaéb😀éc", -1])).toEqual(["éa", "éb", "éc"]);
    expect(callJ("regex.find_all_string_submatch_n", ["[^aouiye]([aouiye])([^aouiye])?", "somestri", -1])).toEqual([
      ["som", "o", "m"],
      ["ri", "i", ""],
    ]);
    expect(callErr("regex.find_n", ["a", "a", 1.5]).code).toBe("eval_type_error");
  });

  test("split and replace", () => {
    expect(callJ("regex.split", ["a", "banana"])).toEqual(["b", "n", "n", ""]);
    expect(callJ("regex.split", ["^[a-z ]+$", "foobar baz"])).toEqual(["", ""]);
    expect(callJ("regex.split", ["x", ""])).toEqual([""]);
    expect(call("regex.replace", ["-wy-wxxy-", "w(x*)y", "0"])).toBe("-0-0-");
    expect(call("regex.replace", ["foo", "(foo)", "$1$1"])).toBe("foofoo");
    expect(call("regex.replace", ["2024-05", "(?P<y>\\d+)-(?P<m>\\d+)", "${m}/${y} $$"])).toBe("05/2024 $");
    expect(call("regex.replace", ["abc", "b", "$1x"])).toBe("ac");
  });

  test("template_match and globs_match", () => {
    expect(call("regex.template_match", ["urn:foo:{.*}", "urn:foo:bar:baz", "{", "}"])).toBe(true);
    expect(call("regex.template_match", ["urn:foo.<[0-9]{2}>", "urn:fooX12", "<", ">"])).toBe(false);
    expect(call("regex.globs_match", ["a.a.[0-9]+z", ".b.b2359825792*594823z"])).toBe(true);
    expect(call("regex.globs_match", ["[a-z]+\\[[0-9]+\\]", 'foo["bar"]'])).toBe(false);
    expect(call("regex.globs_match", ["x*", "y*"])).toBe(false);
    expect(call("regex.globs_match", ["ab+c", "a.*c"])).toBe(true);
    expect(callErr("regex.globs_match", ["pqrs]", "[a-b]+"]).message).toBe(
      "input:pqrs], pos:5, set-close ']' with no preceding '[': the input provided is invalid",
    );
  });
});

describe("glob.*", () => {
  test("delimiters, classes, alternatives, super-globs", () => {
    expect(call("glob.match", ["*.github.com", ["."], "api.github.com"])).toBe(true);
    expect(call("glob.match", ["*.github.com", ["."], "api.cdn.github.com"])).toBe(false);
    expect(call("glob.match", ["api.**.com", ["."], "api.cdn.github.com"])).toBe(true);
    expect(call("glob.match", ["*", [], "foo.bar"])).toBe(false);
    expect(call("glob.match", ["*", null, "foo.bar"])).toBe(true);
    expect(call("glob.match", ["[!a-c]at", [], "fat"])).toBe(true);
    expect(call("glob.match", ["{cat,bat,[fr]at}", [], "rat"])).toBe(true);
    expect(call("glob.match", ["?at", ["f"], "fat"])).toBe(false);
    expect(call("glob.match", ["a\\*b", [], "a*b"])).toBe(true);
    expect(call("glob.match", ["a\\*b", [], "axb"])).toBe(false);
    expect(call("glob.quote_meta", ["*.github.com"])).toBe("\\*.github.com");
    expect(call("glob.quote_meta", ["[a]{b}?"])).toBe("\\[a\\]\\{b\\}\\?");
  });
});
