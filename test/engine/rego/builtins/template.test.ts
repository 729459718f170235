import { describe, expect, test } from "bun:test";
import { call, callErr } from "./helpers.ts";

const r = (t: string, v: unknown) => call("strings.render_template", [t, v]);

describe("strings.render_template (Go text/template)", () => {
  test("fields, ranges, conditionals", () => {
    expect(r("{{.test}}", { test: "hello world" })).toBe("hello world");
    expect(r("{{.test}}", { test: 2023 })).toBe("2023");
    expect(r("{{range $i, $name := .names}}{{if $i}},{{end}}hello {{$name}}{{end}}", { names: ["rohan", "john doe"] })).toBe("hello rohan,hello john doe");
    expect(r("{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", { m: { b: 2, a: 1 } })).toBe("a=1;b=2;");
    expect(r("{{if eq .x 1}}one{{else if eq .x 2}}two{{else}}other{{end}}", { x: 2 })).toBe("two");
    expect(r("{{range .l}}{{.}}{{else}}empty{{end}}", { l: [] })).toBe("empty");
    expect(r("{{with .o}}{{.k}}{{end}}", { o: { k: "v" } })).toBe("v");
  });
  test("trim markers, comments, variables, functions, pipelines", () => {
    expect(r("a  {{- /* c */ -}}  b", {})).toBe("ab");
    expect(r("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", {})).toBe("2");
    expect(r('{{ printf "%s-%03d" .a .n }} {{ len .l }} {{ index .l 1 }} {{ .l }}', { a: "x", n: 5, l: [1, 2, 3] })).toBe("x-005 3 2 [1 2 3]");
    expect(r('{{ .a | printf "%q" }}', { a: "hi" })).toBe('"hi"');
    expect(r("{{ and .a .b }} {{ or .a .b }} {{ not .a }}", { a: true, b: false })).toBe("false true false");
    expect(r('{{define "t"}}[{{.}}]{{end}}{{template "t" .x}}', { x: "y" })).toBe("[y]");
  });
  test("missing keys render as <undefined>; errors are builtin errors", () => {
    expect(r("test {{.foo}} {{.bar}} {{.baz}}", { baz: 1 })).toBe("test <undefined> <undefined> 1");
    expect(callErr("strings.render_template", ["{{ .a", {}]).code).toBe("eval_builtin_error");
    expect(callErr("strings.render_template", ["{{ nope 1 }}", {}]).message).toContain('function "nope" not defined');
  });
});
