import { expect, test } from "bun:test";
import { evalQuery } from "../../../src/engine/rego/index.ts";

const run = (source: string | string[], query = "x = data.t.p", data?: unknown, input?: unknown) =>
  evalQuery({ modules: (Array.isArray(source) ? source : [source]).map((s, i) => ({ filename: `m${i}.rego`, source: s })), query, data, input });

test("METADATA annotations feed rego.metadata.chain and rego.metadata.rule", () => {
  const src = `# METADATA
# scope: subpackages
# authors:
# - Jane Doe <jane@example.org>
package t

# METADATA
# scope: document
# description: the p document
p := "never" if false

# METADATA
# title: p rule
p := {"chain": rego.metadata.chain(), "rule": rego.metadata.rule()}`;
  expect(run(src)).toEqual([
    {
      x: {
        chain: [
          { path: ["t", "p"], annotations: { scope: "rule", title: "p rule" } },
          { path: ["t", "p"], annotations: { scope: "document", description: "the p document" } },
          { path: ["t"], annotations: { scope: "subpackages", authors: [{ name: "Jane Doe", email: "jane@example.org" }] } },
        ],
        rule: { scope: "rule", title: "p rule" },
      },
    },
  ]);
  expect(() => run(`package t\n# METADATA\n# scope: package\np := 1`)).toThrow(/annotation scope 'package' must be applied to package/);
});

test("rego.parse_module returns the AST in OPA's JSON shape", () => {
  const out = run(`package t\np := m.package.path[2].value if rego.parse_module("x.rego", "package a.b\\nq if input.x == 1", m)`);
  expect(out).toEqual([{ x: "b" }]);
});

test("with modifiers on continuation lines and inside template expressions", () => {
  const src = `package t
a := input.a
p := [x, y] if {
  x := $"{a with input as {"a": 1}}"
  y := a
    with input.a as 2
}`;
  expect(run(src)).toEqual([{ x: ["1", 2] }]);
});

test("function args computing values are compared after the body binds their vars", () => {
  expect(run(`package t\np := f("a-b")\nf($"{x}-{y}") := 1 if { x := "a"; y := "b" }`)).toEqual([{ x: 1 }]);
});

test("empty packages are empty objects; numeric keys reach base data; ref vars don't fake recursion", () => {
  expect(run([`package a.b`, `package t\np := data.a`])).toEqual([{ x: { b: {} } }]);
  expect(run(`package t\np := data.n[2]`, undefined, { n: { "2": "two" } })).toEqual([{ x: "two" }]);
  expect(run([`package t\np := data[k].allow.x if k := "o"`, `package o\nallow.x := 1`])).toEqual([{ x: 1 }]);
});

test("a mock replacement never calls another mock", () => {
  const src = `package t
f(_) := "mocked count"
g(x) := count(x)
p := x if x := q with count as f
q := x if x := r with object.keys as g
r := object.keys({"a": 1, "b": 2})`;
  expect(run(src)).toEqual([{ x: 2 }]);
});
