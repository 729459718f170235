import { expect, test } from "bun:test";
import { TapPassError } from "../../../src/engine/errors.ts";
import { compileModules, evalQuery } from "../../../src/engine/rego/index.ts";

const POLICY = `package authz
import rego.v1

default allow := false

allow if {
  some role in input.roles
  role in data.admins
}

allow if input.user == "root"

reasons contains msg if {
  not allow
  msg := sprintf("user %s is not allowed", [input.user])
}
`;

test("prepare once, evaluate many inputs", () => {
  const q = compileModules([{ filename: "authz.rego", source: POLICY }], { data: { admins: ["ops"] } }).prepare("x = data.authz.allow");
  expect(q.eval({ user: "a", roles: ["ops"] })).toEqual([{ x: true }]);
  expect(q.eval({ user: "b", roles: ["dev"] })).toEqual([{ x: false }]);
  expect(q.eval({ user: "root", roles: [] })).toEqual([{ x: true }]);
});

test("bare ref query reports the value under the query text, sets as sorted arrays", () => {
  const c = compileModules([{ filename: "authz.rego", source: POLICY }], { data: { admins: [] } });
  expect(c.prepare("data.authz.allow").eval({ user: "u", roles: [] })).toEqual([{ "data.authz.allow": false }]);
  expect(c.prepare("data.authz.reasons").eval({ user: "u", roles: [] })).toEqual([{ "data.authz.reasons": ["user u is not allowed"] }]);
});

test("undefined is an empty result", () => {
  expect(evalQuery({ modules: [], query: "x = input.nope" })).toEqual([]);
});

test("per-eval data overrides and with", () => {
  const q = compileModules([{ filename: "authz.rego", source: POLICY }]).prepare("x = data.authz.allow");
  expect(q.eval({ user: "a", roles: ["ops"] }, { data: { admins: ["ops"] } })).toEqual([{ x: true }]);
  const w = compileModules([{ filename: "authz.rego", source: POLICY }]).prepare('x = data.authz.allow with input as {"user": "root"}');
  expect(w.eval()).toEqual([{ x: true }]);
});

test("step limit fails closed with eval_limit_exceeded", () => {
  const q = compileModules([{ filename: "l.rego", source: "package l\np := count([x | some x in numbers.range(1, 100000); x % 7 == 0])\n" }]).prepare("x = data.l.p");
  try {
    q.eval({}, { maxSteps: 1000 });
    throw new Error("expected a limit error");
  } catch (e) {
    expect(e).toBeInstanceOf(TapPassError);
    expect((e as TapPassError).code).toBe("eval_limit_exceeded");
  }
});

test("conflicts are eval_conflict_error", () => {
  try {
    evalQuery({ modules: [{ filename: "c.rego", source: "package c\np := 1\np := 2\n" }], query: "x = data.c.p" });
    throw new Error("expected conflict");
  } catch (e) {
    expect((e as TapPassError).code).toBe("eval_conflict_error");
  }
});
