/**
 * Compiler passes: modules → rule tree.
 *   1. rule indexing by path (package + head ref) into a tree of Nodes
 *   2. name resolution: locals → slots, globals (rules, imports, input, data) → refs,
 *      calls → builtin name or function path
 *   3. safety check + reordering of body expressions by variable dependencies
 *   4. recursion detection over the rule dependency graph
 */
import type { Body, Expr, Module, Rule, Term, With } from "./ast.ts";
import { type Annotation, annotationRef } from "./annotations.ts";
import { BUILTINS } from "./builtins/index.ts";
import { type Loc, RegoError } from "./errors.ts";
import { RObject, type Value } from "./value.ts";

/** One compiled rule definition. */
export interface CRule {
  kind: "value" | "set" | "func";
  node: Node;
  /** Dynamic head-ref suffix below node (partial object keys, ref heads with vars). */
  dyn: Term[];
  /** Element term for `contains`. */
  elem?: Term;
  /** Value term (undefined ⇒ true). */
  value?: Term;
  args?: Term[];
  body: Body;
  nslots: number;
  slotNames: string[];
  isDefault: boolean;
  else?: CRule;
  loc: Loc;
  /** Value term is a constant: a complete rule can stop at the first solution. */
  constValue: boolean;
}

export interface Node {
  key: string;
  path: string[];
  children: Map<string, Node>;
  rules: CRule[];
  funcs: CRule[];
  defaultRule?: CRule;
  defaultFunc?: CRule;
  /** True when this node or a descendant has rules (or is a package). */
  hasRules: boolean;
  /** A module declares this package: its document exists (at least `{}`) even without rules. */
  pkg?: boolean;
}

export interface CompiledQuery {
  body: Body;
  nslots: number;
  /** User-visible query vars → slot. */
  vars: [string, number][];
}

export const DATA_SLOT = -1;
/** A variable key in a recorded dependency path. */
const WILD = "\u0001";
export const INPUT_SLOT = -2;

const newNode = (key: string, path: string[]): Node => ({ key, path, children: new Map(), rules: [], funcs: [], hasRules: false });

interface Scope {
  vars: Map<string, number>;
  parent?: Scope;
  /** Index of the expression declaring a var (`:=`, `some`): closures before it can't see it. */
  declIdx?: Map<string, number>;
  /** Index of the expression being resolved. */
  cur?: number;
}
function lookup(s: Scope | undefined, name: string): number | undefined {
  let first = true;
  for (let c = s; c; c = c.parent) {
    const v = c.vars.get(name);
    if (v !== undefined) {
      const d = c.declIdx?.get(name);
      if (!first && d !== undefined && c.cur !== undefined && d > c.cur) return undefined;
      return v;
    }
    first = false;
  }
  return undefined;
}

interface ModCtx {
  pkg: string[];
  imports: Map<string, Term>; // alias → resolved ref term (data/input root)
  pkgNames: Set<string>;
  file: string;
}

export class Compiler {
  readonly root = newNode("", []);
  /** package path (joined) → top-level rule names */
  private pkgNames = new Map<string, Set<string>>();
  /** function path (joined) → arity */
  private funcArity = new Map<string, number>();
  private deps = new Map<Node, Set<string>>();
  /** METADATA annotations by path (joined with "."): document scope, package, subpackages. */
  private docAnnots = new Map<string, Annotation>();
  private pkgAnnots = new Map<string, Annotation>();
  private subAnnots = new Map<string, Annotation>();

  compileModules(mods: Module[]): void {
    for (const m of mods) {
      const key = m.pkg.join(".");
      let names = this.pkgNames.get(key);
      if (!names) this.pkgNames.set(key, (names = new Set()));
      for (const r of m.rules) {
        const h = r.head.ref[0];
        if (h?.t === "var") names.add(h.name);
        if (r.head.args) this.funcArity.set([...m.pkg, ...this.constPrefix(r.head.ref).names].join("."), r.head.args.length);
      }
    }
    for (const m of mods) {
      for (const a of m.annotations ?? []) (a.scope === "subpackages" ? this.subAnnots : this.pkgAnnots).set(m.pkg.join("."), a);
      for (const r of m.rules)
        for (const a of r.annotations ?? [])
          if (a.scope === "document") this.docAnnots.set([...m.pkg, ...this.constPrefix(r.head.ref).names].join("."), a);
    }
    for (const m of mods) {
      (this.nodeAt(m.pkg, true) as Node).pkg = true;
      const mc: ModCtx = { pkg: m.pkg, imports: new Map(), pkgNames: this.pkgNames.get(m.pkg.join(".")) ?? new Set(), file: m.file };
      for (const imp of m.imports) {
        const ref = imp.path;
        if (ref.t !== "ref" || ref.head.t !== "var") continue;
        const root = ref.head.name;
        const names = ref.path.map((p) => (p.t === "scalar" ? String(p.v) : ""));
        if (root === "future" || root === "rego") continue;
        if (root !== "data" && root !== "input")
          throw new RegoError("rego_parse_error", `invalid import path: must begin with input or data`, imp.loc);
        const alias = imp.alias ?? (names.length ? (names[names.length - 1] as string) : root);
        const head: Term = { t: "var", name: root, loc: imp.loc, slot: root === "data" ? DATA_SLOT : INPUT_SLOT };
        mc.imports.set(alias, { t: "ref", head, path: ref.path, loc: imp.loc });
      }
      for (const r of m.rules) this.addRule(r, mc);
    }
    this.markHasRules(this.root);
    this.checkRecursion();
  }

  private markHasRules(n: Node): boolean {
    let has = n.rules.length > 0 || n.defaultRule !== undefined || n.funcs.length > 0 || n.defaultFunc !== undefined || n.pkg === true;
    for (const c of n.children.values()) if (this.markHasRules(c)) has = true;
    n.hasRules = has;
    return has;
  }

  private constPrefix(ref: Term[]): { names: string[]; rest: Term[] } {
    const names: string[] = [];
    let i = 0;
    for (; i < ref.length; i++) {
      const t = ref[i] as Term;
      if (i === 0 && t.t === "var") names.push(t.name);
      else if (t.t === "scalar" && typeof t.v === "string") names.push(t.v);
      else break;
    }
    return { names, rest: ref.slice(i) };
  }

  nodeAt(path: string[], create = false): Node | undefined {
    let n = this.root;
    for (const k of path) {
      let c = n.children.get(k);
      if (!c) {
        if (!create) return undefined;
        c = newNode(k, [...n.path, k]);
        n.children.set(k, c);
      }
      n = c;
    }
    return n;
  }

  private addRule(r: Rule, mc: ModCtx): void {
    const { names, rest } = this.constPrefix(r.head.ref);
    const dynTerms = rest;
    let nodePath = [...mc.pkg, ...names];
    if (r.head.args && rest.length) throw new RegoError("rego_parse_error", "function names must be plain references", r.loc);
    const node = this.nodeAt(nodePath, true) as Node;
    const cr = this.compileRule(r, mc, node, dynTerms);
    if (r.head.args) {
      if (r.default) node.defaultFunc = cr;
      else node.funcs.push(cr);
    } else if (r.default) {
      if (node.defaultRule) throw new RegoError("rego_type_error", `multiple default rules ${["data", ...nodePath].join(".")} found`, r.loc);
      node.defaultRule = cr;
    } else node.rules.push(cr);
    void nodePath;
    nodePath = [];
  }

  private compileRule(r: Rule, mc: ModCtx, node: Node, dyn: Term[]): CRule {
    const origArgs = r.head.args;
    if (r.head.args?.some(hasComputed)) {
      // Function args that compute values (calls, template strings) are bound to fresh vars and
      // compared in the body, so they are evaluated once the body has bound their vars.
      const extra: Body = [];
      const args = r.head.args.map((a, i) => {
        if (!hasComputed(a)) return a;
        const v: Term = { t: "var", name: `$arg${i}`, loc: a.loc };
        extra.push({ k: "unify", a: v, b: a, negated: false, with: [], loc: a.loc });
        return v;
      });
      r = { ...r, head: { ...r.head, args }, body: [...extra, ...r.body] };
    }
    const st = new SlotAlloc();
    const kind: CRule["kind"] = r.head.args ? "func" : r.head.contains !== undefined ? "set" : "value";
    const headTerms: Term[] = [...dyn];
    if (r.head.contains) headTerms.push(r.head.contains);
    if (r.head.value) headTerms.push(r.head.value);
    const deps = this.deps.get(node) ?? new Set<string>();
    this.deps.set(node, deps);
    const rc = new RuleCompiler(this, mc, st, deps, () => this.metadata(r, mc.pkg, node.path));
    const { body, scope, bound } = rc.compileBody(r.body, undefined, headTerms, r.head.args ?? [], r.loc);
    const resolvedDyn = dyn.map((t) => rc.resolveTerm(t, scope));
    const elem = r.head.contains ? rc.resolveTerm(r.head.contains, scope) : undefined;
    const value = r.head.value ? rc.resolveTerm(r.head.value, scope) : undefined;
    const args = r.head.args?.map((t) => rc.resolveTerm(t, scope));
    // head safety
    const headBound = new Set(bound);
    for (const t of [...resolvedDyn, ...(elem ? [elem] : []), ...(value ? [value] : [])]) {
      const a = analyze(t, false, this);
      for (const s of a.need) if (!headBound.has(s)) throw unsafe(st.names[s] ?? "?", t.loc);
    }
    const cr: CRule = {
      kind,
      node,
      dyn: resolvedDyn,
      elem,
      value,
      args,
      body,
      nslots: 0,
      slotNames: st.names,
      isDefault: r.default,
      loc: r.loc,
      constValue: value === undefined || isConst(value),
    };
    if (r.else) {
      const e = this.compileRule({ ...r.else, head: { ...r.else.head, args: origArgs } }, mc, node, dyn);
      cr.else = e;
    }
    cr.nslots = st.n;
    if (cr.else) cr.nslots = Math.max(cr.nslots, cr.else.nslots);
    return cr;
  }

  /** rego.metadata.chain() / rego.metadata.rule() values for a rule (OPA's AnnotationSet.Chain). */
  private metadata(r: Rule, pkg: string[], path: string[]): { chain: Value; rule: Value } {
    const ruleAnnots = (r.annotations ?? []).filter((a) => a.scope === "rule");
    const chain: Value[] = ruleAnnots.length ? ruleAnnots.map((a) => annotationRef(path, a)) : [annotationRef(path, undefined)];
    const doc = this.docAnnots.get(path.join("."));
    if (doc) chain.push(annotationRef(path, doc));
    const pa = this.pkgAnnots.get(pkg.join("."));
    if (pa) chain.push(annotationRef(pkg, pa));
    for (let n = pkg.length; n >= 0; n--) {
      const sa = this.subAnnots.get(pkg.slice(0, n).join("."));
      if (sa) chain.push(annotationRef(pkg.slice(0, n), sa));
    }
    return { chain, rule: ruleAnnots[0]?.value ?? new RObject() };
  }

  compileQuery(body: Body): CompiledQuery {
    const st = new SlotAlloc();
    const mc: ModCtx = { pkg: [], imports: new Map(), pkgNames: new Set(), file: "query" };
    const rc = new RuleCompiler(this, mc, st, new Set());
    const { body: b, scope } = rc.compileBody(body, undefined, [], [], body[0]?.loc ?? { file: "query", line: 1, col: 1 });
    const vars: [string, number][] = [];
    for (const [name, slot] of scope.vars) if (!name.startsWith("_") && !name.startsWith("$")) vars.push([name, slot]);
    return { body: b, nslots: st.n, vars };
  }

  funcArityOf(path: string[]): number | undefined {
    return this.funcArity.get(path.join("."));
  }
  hasFunc(path: string[]): boolean {
    return this.funcArity.has(path.join("."));
  }

  // ---- recursion detection --------------------------------------------------------------
  private checkRecursion(): void {
    // edges: node → nodes referenced (by data path prefix)
    const nodes: Node[] = [];
    const walk = (n: Node) => {
      if (n.rules.length || n.funcs.length || n.defaultRule) nodes.push(n);
      for (const c of n.children.values()) walk(c);
    };
    walk(this.root);
    // A reference depends on every rule whose path agrees with it on their common prefix
    // (variables in the reference match any key).
    const targets = (path: string): Node[] => {
      const parts = path === "" ? [] : path.split("\u0000");
      const out: Node[] = [];
      for (const n of nodes) {
        const m = Math.min(parts.length, n.path.length);
        let ok = true;
        for (let i = 0; i < m && ok; i++) if (parts[i] !== WILD && parts[i] !== n.path[i]) ok = false;
        if (ok) out.push(n);
      }
      return out;
    };
    const edges = new Map<Node, Node[]>();
    for (const n of nodes) {
      const out: Node[] = [];
      for (const p of this.deps.get(n) ?? []) out.push(...targets(p));
      edges.set(n, out);
    }
    const state = new Map<Node, number>();
    const stack: Node[] = [];
    const visit = (n: Node) => {
      state.set(n, 1);
      stack.push(n);
      for (const m of edges.get(n) ?? []) {
        const s = state.get(m);
        if (s === 1) {
          const cyc = stack.slice(stack.indexOf(m)).map((x) => ["data", ...x.path].join("."));
          const r = m.rules[0] ?? m.funcs[0];
          throw new RegoError("rego_recursion_error", `rule ${["data", ...m.path].join(".")} is recursive: ${[...cyc, ["data", ...m.path].join(".")].join(" -> ")}`, r?.loc);
        }
        if (s === undefined) visit(m);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of nodes) if (!state.has(n)) visit(n);
  }
}

class SlotAlloc {
  n = 0;
  names: string[] = [];
  alloc(name: string): number {
    this.names.push(name);
    return this.n++;
  }
}

const unsafe = (name: string, loc: Loc) => new RegoError("rego_unsafe_var_error", `var ${name} is unsafe`, loc);

/** A term computing a value (call or template string) outside nested closures. */
function hasComputed(t: Term): boolean {
  switch (t.t) {
    case "call":
    case "template":
      return true;
    case "ref":
      return hasComputed(t.head) || t.path.some(hasComputed);
    case "array":
    case "set":
      return t.items.some(hasComputed);
    case "object":
      return t.items.some(([k, v]) => hasComputed(k) || hasComputed(v));
    default:
      return false;
  }
}

function isConst(t: Term): boolean {
  switch (t.t) {
    case "scalar":
      return true;
    case "array":
    case "set":
      return t.items.every(isConst);
    case "object":
      return t.items.every(([k, v]) => isConst(k) && isConst(v));
    default:
      return false;
  }
}

/** Collect var names occurring directly in a term (not inside nested closures). */
function directNames(t: Term, out: Set<string>): void {
  switch (t.t) {
    case "var":
      out.add(t.name);
      return;
    case "ref":
      directNames(t.head, out);
      for (const p of t.path) directNames(p, out);
      return;
    case "array":
    case "set":
      for (const i of t.items) directNames(i, out);
      return;
    case "object":
      for (const [k, v] of t.items) {
        directNames(k, out);
        directNames(v, out);
      }
      return;
    case "call":
      for (const a of t.args) directNames(a, out);
      return;
    case "template":
      for (const p of t.parts) if (typeof p !== "string") directNames(p, out);
      return;
    default:
      return;
  }
}

function exprTerms(e: Expr): Term[] {
  const ts: Term[] = [];
  switch (e.k) {
    case "term":
      ts.push(e.term);
      break;
    case "unify":
    case "assign":
      ts.push(e.a, e.b);
      break;
    case "some":
      ts.push(...e.vars);
      break;
    case "somein":
      if (e.key) ts.push(e.key);
      ts.push(e.value, e.coll);
      break;
    case "every":
      ts.push(e.coll);
      break;
  }
  for (const w of e.with) {
    const h = w.target.t === "ref" ? w.target.head : w.target;
    const isDoc = h.t === "var" && (h.name === "input" || h.name === "data");
    if (isDoc || (w.value.t !== "var" && w.value.t !== "ref")) ts.push(w.value);
  }
  return ts;
}

function patternNames(t: Term, out: Set<string>): void {
  if (t.t === "var") out.add(t.name);
  else if (t.t === "array") for (const i of t.items) patternNames(i, out);
  else if (t.t === "object") for (const [, v] of t.items) patternNames(v, out);
}

interface Analysis {
  need: Set<number>;
  out: Set<number>;
}

/**
 * Variable analysis of a resolved term. pattern=true: bare vars/array items/object values are
 * outputs (unification targets); false: they are needed. Ref path vars are always outputs.
 */
export function analyze(t: Term, pattern: boolean, c: Compiler, a: Analysis = { need: new Set(), out: new Set() }): Analysis {
  switch (t.t) {
    case "var":
      if (t.slot !== undefined && t.slot >= 0) (pattern ? a.out : a.need).add(t.slot);
      break;
    case "ref":
      analyze(t.head, false, c, a);
      for (const p of t.path) {
        if (p.t === "var") analyze(p, true, c, a);
        else analyze(p, p.t === "array" || p.t === "object" ? true : false, c, a);
      }
      break;
    case "array":
      for (const i of t.items) analyze(i, pattern, c, a);
      break;
    case "set":
      for (const i of t.items) analyze(i, false, c, a);
      break;
    case "object":
      for (const [k, v] of t.items) {
        analyze(k, false, c, a);
        analyze(v, pattern, c, a);
      }
      break;
    case "call": {
      const arity = callArity(t, c);
      t.args.forEach((arg, i) => analyze(arg, arity !== undefined && i === arity, c, a));
      break;
    }
    case "template":
      for (const p of t.parts) if (typeof p !== "string") analyze(p, false, c, a);
      break;
    case "arraycompr":
    case "setcompr":
    case "objcompr":
      for (const s of t.closure ?? []) a.need.add(s);
      break;
    case "scalar":
      break;
  }
  return a;
}

export function callArity(t: Term & { t: "call" }, c: Compiler): number | undefined {
  if (t.bi !== undefined) return BUILTINS.get(t.bi)?.arity;
  if (t.fpath) return c.funcArityOf(t.fpath);
  return undefined;
}

class RuleCompiler {
  constructor(
    private c: Compiler,
    private mc: ModCtx,
    private st: SlotAlloc,
    private deps: Set<string>,
    private meta?: () => { chain: Value; rule: Value },
  ) {}

  /**
   * Resolve and schedule one body. `headTerms` are the rule head terms (top body only),
   * `args` function argument patterns (declared locals, bound on entry).
   */
  compileBody(
    body: Body,
    parent: Scope | undefined,
    headTerms: Term[],
    args: Term[],
    loc: Loc,
    declaredExtra: Term[] = [],
  ): { body: Body; scope: Scope; bound: Set<number> } {
    const scope: Scope = { vars: new Map(), parent };
    const declared = new Set<string>();
    for (const a of args) patternNames(a, declared);
    for (const d of declaredExtra) patternNames(d, declared);
    const declIdx = new Map<string, number>();
    scope.declIdx = declIdx;
    body.forEach((e, idx) => {
      const ns = new Set<string>();
      if (e.k === "some") for (const v of e.vars) if (v.t === "var") ns.add(v.name);
      if (e.k === "assign") patternNames(e.a, ns);
      if (e.k === "somein") {
        if (e.key) patternNames(e.key, ns);
        patternNames(e.value, ns);
      }
      for (const n of ns) {
        declared.add(n);
        if (!declIdx.has(n)) declIdx.set(n, idx);
      }
    });
    const direct = new Set<string>();
    for (const e of body) for (const t of exprTerms(e)) directNames(t, direct);
    for (const t of headTerms) directNames(t, direct);
    for (const a of args) directNames(a, direct);
    for (const name of direct) {
      if (name === "_") continue;
      if (declared.has(name)) scope.vars.set(name, this.st.alloc(name));
      else if (lookup(parent, name) !== undefined) continue;
      else if (this.isGlobal(name)) continue;
      else scope.vars.set(name, this.st.alloc(name));
    }
    for (const name of declared) if (!scope.vars.has(name) && name !== "_") scope.vars.set(name, this.st.alloc(name));
    // check := redeclaration within the same body
    const assigned = new Set<string>();
    for (const e of body) {
      if (e.k === "assign") {
        const ns = new Set<string>();
        patternNames(e.a, ns);
        for (const n of ns) {
          if (n === "_") continue;
          if (assigned.has(n) || args.some((a) => a.t === "var" && a.name === n))
            throw new RegoError("rego_compile_error", `var ${n} assigned above`, e.loc);
          assigned.add(n);
        }
        if (e.a.t !== "var" && e.a.t !== "array" && e.a.t !== "object")
          throw new RegoError("rego_compile_error", `cannot assign to ${e.a.t}`, e.loc);
      }
    }
    const resolved = body.map((e, idx) => {
      scope.cur = idx;
      return this.resolveExpr(e, scope);
    });
    scope.cur = undefined;
    const bound = new Set<number>();
    // closure vars from enclosing bodies are bound before a nested body runs
    for (let s = parent; s; s = s.parent) for (const v of s.vars.values()) bound.add(v);
    for (const d of declaredExtra) for (const s of analyze(this.resolveTerm(d, scope), true, this.c).out) bound.add(s);
    for (const a of args) for (const s of analyze(this.resolveTerm(a, scope), true, this.c).out) bound.add(s);
    const scheduled = this.schedule(resolved, bound, loc);
    return { body: scheduled, scope, bound };
  }

  private isGlobal(name: string): boolean {
    return name === "input" || name === "data" || this.mc.imports.has(name) || this.mc.pkgNames.has(name);
  }

  resolveExpr(e: Expr, scope: Scope): Expr {
    const r = (t: Term) => this.resolveTerm(t, scope);
    const withs: With[] = e.with.map((w) => {
      const target = this.resolveWithTarget(w.target, scope);
      let value: Term | undefined;
      if (target.t === "call") {
        const name = this.callName(w.value);
        if (name && lookup(scope, name[0] as string) === undefined) {
          try {
            value = { ...this.resolveCall({ t: "call", op: name, args: [], loc: w.value.loc }, scope), fnRef: true } as unknown as Term;
          } catch {
            value = undefined;
          }
        }
      }
      return { target, value: value ?? r(w.value), loc: w.loc };
    });
    const base = { negated: e.negated, with: withs, loc: e.loc };
    switch (e.k) {
      case "term":
        return { ...base, k: "term", term: r(e.term) };
      case "unify":
        return { ...base, k: "unify", a: r(e.a), b: r(e.b) };
      case "assign":
        return { ...base, k: "assign", a: r(e.a), b: r(e.b) };
      case "some":
        return { ...base, k: "some", vars: e.vars.map(r) };
      case "somein":
        return { ...base, k: "somein", key: e.key ? r(e.key) : undefined, value: r(e.value), coll: r(e.coll) };
      case "every": {
        const coll = r(e.coll);
        const decl = e.key ? [e.key, e.value] : [e.value];
        const again = this.compileBody(e.body, scope, [], [], e.loc, decl);
        const key2 = e.key ? this.resolveTerm(e.key, again.scope) : undefined;
        const value2 = this.resolveTerm(e.value, again.scope);
        const closure = this.closureOf(again.scope, again.body);
        return { ...base, k: "every", key: key2, value: value2, coll, body: again.body, closure };
      }
    }
  }

  private resolveWithTarget(t: Term, scope: Scope): Term {
    // input / data refs, or function names
    const head = t.t === "ref" ? t.head : t;
    if (head.t === "var" && (head.name === "input" || head.name === "data")) return this.resolveTerm(t, { vars: new Map() });
    const name = this.callName(t);
    if (!name) throw new RegoError("rego_compile_error", "with target must be input, data or a function", t.loc);
    const call = this.resolveCall({ t: "call", op: name, args: [], loc: t.loc }, scope);
    return call;
  }

  private callName(t: Term): string[] | undefined {
    if (t.t === "var") return [t.name];
    if (t.t === "ref" && t.head.t === "var") {
      const out = [t.head.name];
      for (const p of t.path) {
        if (p.t !== "scalar" || typeof p.v !== "string") return undefined;
        out.push(p.v);
      }
      return out;
    }
    return undefined;
  }

  private closureOf(scope: Scope, body: Body): number[] {
    // slots used in body that belong to ancestor scopes
    const own = new Set<number>();
    const collectOwn = (s: Scope) => {
      for (const v of s.vars.values()) own.add(v);
    };
    collectOwn(scope);
    const used = new Set<number>();
    const visitT = (t: Term) => {
      switch (t.t) {
        case "var":
          if (t.slot !== undefined && t.slot >= 0) used.add(t.slot);
          return;
        case "ref":
          visitT(t.head);
          t.path.forEach(visitT);
          return;
        case "array":
        case "set":
          t.items.forEach(visitT);
          return;
        case "object":
          for (const [k, v] of t.items) {
            visitT(k);
            visitT(v);
          }
          return;
        case "call":
          t.args.forEach(visitT);
          return;
        case "template":
          for (const p of t.parts) if (typeof p !== "string") visitT(p);
          return;
        case "arraycompr":
        case "setcompr":
        case "objcompr":
          for (const s of t.closure ?? []) used.add(s);
          return;
      }
    };
    for (const e of body) {
      for (const t of exprTerms(e)) visitT(t);
      if (e.k === "every") for (const s of e.closure ?? []) used.add(s);
    }
    const anc = new Set<number>();
    for (let s = scope.parent; s; s = s.parent) for (const v of s.vars.values()) anc.add(v);
    return [...used].filter((s) => !own.has(s) && anc.has(s));
  }

  resolveTerm(t: Term, scope: Scope): Term {
    switch (t.t) {
      case "scalar":
        return t;
      case "var": {
        if (t.name === "_") return { ...t, slot: this.st.alloc("_") };
        const s = lookup(scope, t.name);
        if (s !== undefined) return { ...t, slot: s };
        const g = this.globalRef(t.name, t.loc);
        if (g) return g;
        // not declared anywhere (e.g. inside template) → new local
        const ns = this.st.alloc(t.name);
        scope.vars.set(t.name, ns);
        return { ...t, slot: ns };
      }
      case "ref": {
        const head = this.resolveTerm(t.head, scope);
        const path = t.path.map((p) => this.resolveTerm(p, scope));
        let out: Term;
        if (head.t === "ref") out = { t: "ref", head: head.head, path: [...head.path, ...path], loc: t.loc };
        else out = { t: "ref", head, path, loc: t.loc };
        this.recordDep(out);
        return out;
      }
      case "array":
        return { ...t, items: t.items.map((i) => this.resolveTerm(i, scope)) };
      case "set":
        return { ...t, items: t.items.map((i) => this.resolveTerm(i, scope)) };
      case "object":
        return { ...t, items: t.items.map(([k, v]) => [this.resolveTerm(k, scope), this.resolveTerm(v, scope)] as [Term, Term]) };
      case "template":
        return { ...t, parts: t.parts.map((p) => (typeof p === "string" ? p : this.resolveTerm(p, scope))) };
      case "call":
        return this.resolveCall(t, scope);
      case "arraycompr":
      case "setcompr": {
        const sub = this.compileBody(t.body, scope, [t.term], [], t.loc);
        const term = this.resolveTerm(t.term, sub.scope);
        this.checkHead([term], sub.bound, sub.body);
        return { ...t, term, body: sub.body, closure: this.closureOf(sub.scope, [...sub.body, { k: "term", term, negated: false, with: [], loc: t.loc }]) };
      }
      case "objcompr": {
        const sub = this.compileBody(t.body, scope, [t.key, t.value], [], t.loc);
        const key = this.resolveTerm(t.key, sub.scope);
        const value = this.resolveTerm(t.value, sub.scope);
        this.checkHead([key, value], sub.bound, sub.body);
        const fake: Expr[] = [
          { k: "term", term: key, negated: false, with: [], loc: t.loc },
          { k: "term", term: value, negated: false, with: [], loc: t.loc },
        ];
        return { ...t, key, value, body: sub.body, closure: this.closureOf(sub.scope, [...sub.body, ...fake]) };
      }
    }
  }

  private checkHead(terms: Term[], bound: Set<number>, _body: Body): void {
    for (const t of terms) {
      const a = analyze(t, false, this.c);
      for (const s of a.need) if (!bound.has(s) && this.st.names[s] !== undefined && !this.outerSlot(s)) throw unsafe(this.st.names[s] as string, t.loc);
    }
  }
  private outerSlot(_s: number): boolean {
    return false;
  }

  private recordDep(ref: Term & { t: "ref" }): void {
    if (ref.head.t !== "var" || ref.head.slot !== DATA_SLOT) return;
    const parts: string[] = [];
    for (const p of ref.path) {
      if (p.t === "scalar" && typeof p.v === "string") parts.push(p.v);
      else if (p.t === "scalar" && typeof p.v === "number") parts.push(String(p.v));
      else if (p.t === "var" || p.t === "ref" || p.t === "call" || p.t === "template") parts.push(WILD);
      else break;
    }
    this.deps.add(parts.join("\u0000"));
  }

  private globalRef(name: string, loc: Loc): Term | undefined {
    if (name === "input") return { t: "ref", head: { t: "var", name, loc, slot: INPUT_SLOT }, path: [], loc };
    if (name === "data") return { t: "ref", head: { t: "var", name, loc, slot: DATA_SLOT }, path: [], loc };
    const imp = this.mc.imports.get(name);
    if (imp) return imp;
    if (this.mc.pkgNames.has(name)) {
      const path: Term[] = [...this.mc.pkg, name].map((n) => ({ t: "scalar", v: n, loc }));
      return { t: "ref", head: { t: "var", name: "data", loc, slot: DATA_SLOT }, path, loc };
    }
    return undefined;
  }

  private resolveCall(t: Term & { t: "call" }, scope: Scope): Term {
    const op = t.op;
    if (op.length === 3 && op[0] === "rego" && op[1] === "metadata" && (op[2] === "chain" || op[2] === "rule") && t.args.length === 0) {
      // like OPA's compiler: the calling rule's annotations are a constant
      const m = this.meta?.() ?? { chain: [], rule: new RObject() };
      return { t: "scalar", v: op[2] === "chain" ? m.chain : m.rule, loc: t.loc };
    }
    const args = t.args.map((a) => this.resolveTerm(a, scope));
    const first = op[0] as string;
    let fpath: string[] | undefined;
    let bi: string | undefined;
    if (first === "data") fpath = op.slice(1);
    else if (this.mc.imports.has(first)) {
      const imp = this.mc.imports.get(first) as Term & { t: "ref" };
      if (imp.head.t === "var" && imp.head.slot === DATA_SLOT) fpath = [...imp.path.map((p) => String((p as { v: unknown }).v)), ...op.slice(1)];
    } else if (this.mc.pkgNames.has(first) && this.c.hasFunc([...this.mc.pkg, ...op])) fpath = [...this.mc.pkg, ...op];
    else if (BUILTINS.has(op.join("."))) bi = op.join(".");
    else if (this.c.hasFunc([...this.mc.pkg, ...op])) fpath = [...this.mc.pkg, ...op];
    if (fpath && !this.c.hasFunc(fpath)) {
      // maybe a builtin reached through data? no: unknown function
      throw new RegoError("rego_type_error", `undefined function data.${fpath.join(".")}`, t.loc);
    }
    if (!fpath && !bi) throw new RegoError("rego_type_error", `undefined function ${op.join(".")}`, t.loc);
    if (fpath) this.deps.add(fpath.join("\u0000"));
    // arity check
    const arity = bi !== undefined ? BUILTINS.get(bi)?.arity : this.c.funcArityOf(fpath as string[]);
    if (arity !== undefined && args.length > 0 && args.length !== arity && args.length !== arity + 1 && bi !== "print")
      throw new RegoError("rego_type_error", `${op.join(".")}: arity mismatch\n\thave: ${args.length} args\n\twant: ${arity} args`, t.loc);
    return { t: "call", op, args, loc: t.loc, bi, fpath };
  }

  /** Order expressions so every var is bound before it is needed. */
  private schedule(body: Body, bound: Set<number>, _loc: Loc): Body {
    const remaining = [...body];
    const out: Body = [];
    const infos = new Map<Expr, { need: Set<number>; out: Set<number> }>();
    for (const e of remaining) infos.set(e, this.exprInfo(e));
    while (remaining.length) {
      let picked = -1;
      for (let i = 0; i < remaining.length; i++) {
        const e = remaining[i] as Expr;
        if (this.ready(e, bound, remaining, infos)) {
          picked = i;
          break;
        }
      }
      if (picked < 0) {
        const e = remaining[0] as Expr;
        const info = infos.get(e) as { need: Set<number>; out: Set<number> };
        const missing = [...info.need, ...info.out].find((s) => !bound.has(s));
        throw unsafe(missing !== undefined ? (this.st.names[missing] ?? "?") : "?", e.loc);
      }
      const e = remaining.splice(picked, 1)[0] as Expr;
      const info = infos.get(e) as { need: Set<number>; out: Set<number> };
      if (!e.negated) for (const s of info.out) bound.add(s);
      if (e.k === "unify" || e.k === "assign") {
        e.aNeeds = [...analyze(e.a, false, this.c).need];
        e.bNeeds = [...analyze(e.b, false, this.c).need];
      }
      out.push(e);
    }
    return out;
  }

  private exprInfo(e: Expr): { need: Set<number>; out: Set<number> } {
    const a: Analysis = { need: new Set(), out: new Set() };
    switch (e.k) {
      case "term":
        analyze(e.term, false, this.c, a);
        break;
      case "unify":
      case "assign":
        analyze(e.a, true, this.c, a);
        analyze(e.b, true, this.c, a);
        break;
      case "some":
        break;
      case "somein":
        analyze(e.coll, false, this.c, a);
        if (e.key) analyze(e.key, true, this.c, a);
        analyze(e.value, true, this.c, a);
        break;
      case "every":
        analyze(e.coll, false, this.c, a);
        for (const s of e.closure ?? []) a.need.add(s);
        break;
    }
    for (const w of e.with) analyze(w.value, false, this.c, a);
    return a;
  }

  private ready(e: Expr, bound: Set<number>, remaining: Expr[], infos: Map<Expr, Analysis>): boolean {
    const info = infos.get(e) as Analysis;
    if (e.negated) {
      // every var that some other pending expression can bind must be bound first
      const pend = new Set<number>();
      for (const o of remaining) if (o !== e && !o.negated) for (const s of (infos.get(o) as Analysis).out) pend.add(s);
      for (const s of [...info.need, ...info.out]) if (!bound.has(s) && pend.has(s)) return false;
      for (const w of e.with) for (const s of analyze(w.value, false, this.c).need) if (!bound.has(s)) return false;
      return true;
    }
    for (const s of info.need) if (!bound.has(s)) return false;
    if (e.k === "unify" || e.k === "assign") return this.unifiable(e.a, e.b, new Set(bound));
    return true;
  }

  private canEval(t: Term, bound: Set<number>): boolean {
    for (const s of analyze(t, false, this.c).need) if (!bound.has(s)) return false;
    return true;
  }

  private unifiable(a: Term, b: Term, bound: Set<number>): boolean {
    if (this.canEval(a, bound) || this.canEval(b, bound)) {
      return true;
    }
    if (a.t === "array" && b.t === "array" && a.items.length === b.items.length) {
      for (let i = 0; i < a.items.length; i++) {
        const x = a.items[i] as Term;
        const y = b.items[i] as Term;
        if (!this.unifiable(x, y, bound)) return false;
        for (const s of analyze(x, true, this.c).out) bound.add(s);
        for (const s of analyze(y, true, this.c).out) bound.add(s);
      }
      return true;
    }
    if (a.t === "object" && b.t === "object" && a.items.length === b.items.length) {
      for (const [k, v] of a.items) {
        const other = b.items.find(([k2]) => k2.t === "scalar" && k.t === "scalar" && k2.v === k.v);
        if (!other) return false;
        if (!this.unifiable(v, other[1], bound)) return false;
        for (const s of analyze(v, true, this.c).out) bound.add(s);
        for (const s of analyze(other[1], true, this.c).out) bound.add(s);
      }
      return true;
    }
    return false;
  }
}
