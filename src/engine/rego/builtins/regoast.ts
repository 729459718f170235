/**
 * rego.parse_module (the module's AST in OPA's JSON shape) and the rego.metadata.* names.
 * rego.metadata.chain()/rule() calls are replaced by constants at compile time (compile.ts),
 * like OPA's compiler does; the registered functions only make the names known.
 */
import type { Body, Expr, Module, Rule, Term } from "../ast.ts";
import { RegoError } from "../errors.ts";
import { parseModule } from "../parser.ts";
import { RObject, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def } from "./registry.ts";

const obj = (entries: [string, Value | undefined][]): RObject => {
  const o = new RObject();
  for (const [k, v] of entries) if (v !== undefined) o.set(k, v);
  return o;
};
const term = (type: string, value: Value): Value => obj([["type", type], ["value", value]]);
const varT = (name: string) => term("var", name);
const opRef = (op: string[]): Value => term("ref", op.map((p, i) => (i === 0 ? varT(p) : term("string", p))));

function termJSON(t: Term): Value {
  switch (t.t) {
    case "scalar": {
      const v = t.v;
      if (v === null) return term("null", null);
      if (typeof v === "boolean") return term("boolean", v);
      if (typeof v === "string") return term("string", v);
      return term("number", v);
    }
    case "var":
      return varT(t.name);
    case "ref":
      return term("ref", [termJSON(t.head), ...t.path.map((p) => (p.t === "scalar" && typeof p.v === "string" ? term("string", p.v) : termJSON(p)))]);
    case "array":
      return term("array", t.items.map(termJSON));
    case "set":
      return term("set", t.items.map(termJSON));
    case "object":
      return term("object", t.items.map(([k, v]) => [termJSON(k), termJSON(v)]));
    case "arraycompr":
      return term("arraycomprehension", obj([["term", termJSON(t.term)], ["body", bodyJSON(t.body)]]));
    case "setcompr":
      return term("setcomprehension", obj([["term", termJSON(t.term)], ["body", bodyJSON(t.body)]]));
    case "objcompr":
      return term("objectcomprehension", obj([["key", termJSON(t.key)], ["value", termJSON(t.value)], ["body", bodyJSON(t.body)]]));
    case "call":
      return term("call", [opRef(t.op), ...t.args.map(termJSON)]);
    case "template":
      return term("templatestring", t.parts.map((p) => (typeof p === "string" ? term("string", p) : termJSON(p))));
  }
}

function exprJSON(e: Expr, index: number): Value {
  let terms: Value;
  switch (e.k) {
    case "term":
      terms = e.term.t === "call" ? [opRef(e.term.op), ...e.term.args.map(termJSON)] : termJSON(e.term);
      break;
    case "unify":
      terms = [opRef(["eq"]), termJSON(e.a), termJSON(e.b)];
      break;
    case "assign":
      terms = [opRef(["assign"]), termJSON(e.a), termJSON(e.b)];
      break;
    case "some":
      terms = obj([["symbols", e.vars.map(termJSON)]]);
      break;
    case "somein": {
      const args = e.key ? [termJSON(e.key), termJSON(e.value), termJSON(e.coll)] : [termJSON(e.value), termJSON(e.coll)];
      terms = obj([["symbols", [term("call", [opRef(["internal", e.key ? "member_3" : "member_2"]), ...args])]]]);
      break;
    }
    case "every":
      terms = obj([
        ["key", e.key ? termJSON(e.key) : undefined],
        ["value", termJSON(e.value)],
        ["domain", termJSON(e.coll)],
        ["body", bodyJSON(e.body)],
      ]);
      break;
  }
  return obj([
    ["index", index],
    ["negated", e.negated ? true : undefined],
    ["terms", terms],
    ["with", e.with.length ? e.with.map((w) => obj([["target", termJSON(w.target)], ["value", termJSON(w.value)]])) : undefined],
  ]);
}

const bodyJSON = (b: Body): Value => b.map(exprJSON);

function ruleJSON(r: Rule, isElse = false): Value {
  const h = r.head;
  const name = h.ref[0]?.t === "var" ? h.ref[0].name : "";
  const value = h.value ? termJSON(h.value) : h.contains === undefined && !isElse ? term("boolean", true) : undefined;
  const head = obj([
    ["name", h.ref.length === 1 ? name : undefined],
    ["ref", h.ref.map((t, i) => (i === 0 ? varT(name) : termJSON(t)))],
    ["args", h.args ? h.args.map(termJSON) : undefined],
    ["key", h.contains ? termJSON(h.contains) : undefined],
    ["value", value ?? (isElse ? term("boolean", true) : undefined)],
    ["assign", h.assign ? true : undefined],
  ]);
  const body = r.body.length ? bodyJSON(r.body) : [obj([["index", 0], ["terms", term("boolean", true)]])];
  return obj([
    ["default", r.default ? true : undefined],
    ["head", head],
    ["body", body],
    ["else", r.else ? ruleJSON(r.else, true) : undefined],
  ]);
}

export function moduleJSON(m: Module): Value {
  return obj([
    ["package", obj([["path", [varT("data"), ...m.pkg.map((p) => term("string", p))]]])],
    ["imports", m.imports.length ? m.imports.map((i) => obj([["path", termJSON(i.path)], ["alias", i.alias]])) : undefined],
    ["rules", m.rules.length ? m.rules.map((r) => ruleJSON(r)) : undefined],
  ]);
}

export const builtins: BuiltinDef[] = [
  def("rego.parse_module", 2, (args) => {
    const file = argString(args, 0);
    const src = argString(args, 1);
    let m: Module;
    try {
      m = parseModule(src, file);
    } catch (e) {
      if (e instanceof RegoError) throw new BuiltinError(`1 error occurred: ${e.full()}`);
      throw e;
    }
    return moduleJSON(m);
  }),
  def("rego.metadata.chain", 0, () => []),
  def("rego.metadata.rule", 0, () => new RObject()),
];
