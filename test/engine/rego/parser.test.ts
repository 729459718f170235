import { expect, test } from "bun:test";
import { TapPassError } from "../../../src/engine/errors.ts";
import { compileModules } from "../../../src/engine/rego/index.ts";
import { parseModule } from "../../../src/engine/rego/parser.ts";

function errOf(source: string, query = "data.x.p"): TapPassError {
  try {
    compileModules([{ filename: "p.rego", source }]).prepare(query).eval({});
  } catch (e) {
    return e as TapPassError;
  }
  throw new Error("expected an error");
}

test("parse error carries file:line:col and exit code 3", () => {
  const e = errOf("package x\n\np := [1, 2\n");
  expect(e.code).toBe("rego_parse_error");
  expect(e.exitCode).toBe(3);
  expect(e.where).toBe("p.rego:4:1");
});

test("parse error position inside a rule body", () => {
  const e = errOf("package x\np if {\n  x := 1 +* 2\n}\n");
  expect(e.code).toBe("rego_parse_error");
  expect(e.where).toBe("p.rego:3:11");
});

test("unsafe var error", () => {
  const e = errOf("package x\np if {\n  y > 1\n}\n");
  expect(e.code).toBe("rego_unsafe_var_error");
  expect(e.where).toBe("p.rego:3:3");
});

test("recursion is a compile error", () => {
  const e = errOf("package x\np if q\nq if p\n");
  expect(e.code).toBe("rego_recursion_error");
});

test("undefined function is a type error", () => {
  expect(errOf("package x\np if nope(1)\n").code).toBe("rego_type_error");
});

test("AST keeps locations", () => {
  const m = parseModule("package a.b\n\nallow if {\n  input.x == 1\n}\n", "f.rego");
  expect(m.pkg).toEqual(["a", "b"]);
  expect(m.rules[0]?.loc).toEqual({ file: "f.rego", line: 3, col: 1 });
  expect(m.rules[0]?.body[0]?.loc).toEqual({ file: "f.rego", line: 4, col: 3 });
});
