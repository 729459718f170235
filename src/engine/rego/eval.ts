/**
 * The evaluator: backtracking over compiled bodies in continuation-passing style.
 * Every `eval*` function calls its continuation once per solution; a continuation returning
 * `true` stops the enumeration (early exit), which propagates back up. Variables live in a
 * per-rule frame (array of slots); binding is undone structurally after the continuation.
 * Undefined is JS `undefined`.
 */
import type { Body, Expr, Term } from "./ast.ts";
import { BUILTINS } from "./builtins/index.ts";
import { type BuiltinContext, BuiltinError } from "./builtins/registry.ts";
import { type CompiledQuery, type Compiler, type CRule, DATA_SLOT, INPUT_SLOT, type Node } from "./compile.ts";
import { type Loc, RegoError } from "./errors.ts";
import { equal, RObject, RSet, toRegoString, type Value } from "./value.ts";

type Frame = (Value | undefined)[];
type K = () => boolean;
type KV = (v: Value) => boolean;

export interface EvalOptions {
  input?: Value;
  data: Value;
  strict?: boolean;
  maxSteps?: number;
  timeoutMs?: number;
  print?: (msg: string) => void;
  timeNs?: bigint;
}

interface Mock {
  value?: Value;
  call?: Term & { t: "call" };
}

interface Ctx {
  input: Value | undefined;
  data: Value;
  overrides: [string[], Value][] | undefined;
  mocks: Map<string, Mock> | undefined;
  vcache: Map<Node, Value | undefined | typeof PENDING>;
  fcache: Map<string, Value | undefined>;
}

const PENDING = Symbol("pending");

export class Evaluator {
  private steps = 0;
  private readonly maxSteps: number;
  private readonly deadline: number;
  readonly bctx: BuiltinContext & { location?: string };
  private readonly strict: boolean;
  private depth = 0;

  constructor(
    private c: Compiler,
    private opts: EvalOptions,
  ) {
    this.maxSteps = opts.maxSteps ?? 0;
    this.deadline = opts.timeoutMs ? performance.now() + opts.timeoutMs : 0;
    this.strict = opts.strict ?? false;
    const print = opts.print ?? ((m: string) => process.stderr.write(`${m}\n`));
    let timeNs = opts.timeNs;
    this.bctx = {
      get timeNs() {
        if (timeNs === undefined) timeNs = BigInt(Date.now()) * 1000000n;
        return timeNs;
      },
      cache: new Map(),
      print,
      strict: this.strict,
    };
  }

  run(q: CompiledQuery): Record<string, Value>[] {
    const ctx: Ctx = { input: this.opts.input, data: this.opts.data, overrides: undefined, mocks: undefined, vcache: new Map(), fcache: new Map() };
    const frame: Frame = new Array(q.nslots);
    const out: Record<string, Value>[] = [];
    this.evalBody(q.body, 0, frame, ctx, () => {
      const row: Record<string, Value> = {};
      for (const [name, slot] of q.vars) {
        const v = frame[slot];
        if (v !== undefined) row[name] = v;
      }
      out.push(row);
      return false;
    });
    return out;
  }

  // ---- bodies & expressions -------------------------------------------------------------

  private evalBody(body: Body, i: number, frame: Frame, ctx: Ctx, k: K): boolean {
    if (i === body.length) return k();
    return this.evalExpr(body[i] as Expr, frame, ctx, () => this.evalBody(body, i + 1, frame, ctx, k));
  }

  private tick(): void {
    this.steps++;
    if (this.maxSteps && this.steps > this.maxSteps) throw new RegoError("eval_limit_exceeded", `evaluation exceeded ${this.maxSteps} steps`);
    if (this.deadline && (this.steps & 255) === 0 && performance.now() > this.deadline)
      throw new RegoError("eval_limit_exceeded", `evaluation exceeded the time limit`);
  }

  private evalExpr(e: Expr, frame: Frame, ctx: Ctx, k: K): boolean {
    this.tick();
    let ectx = ctx;
    if (e.with.length) {
      const w = this.applyWith(e, frame, ctx);
      if (!w) return false;
      ectx = w;
    }
    if (e.negated) {
      let found = false;
      this.evalExprInner(e, frame, ectx, () => {
        found = true;
        return true;
      });
      return found ? false : k();
    }
    return this.evalExprInner(e, frame, ectx, k);
  }

  private evalExprInner(e: Expr, frame: Frame, ctx: Ctx, k: K): boolean {
    switch (e.k) {
      case "term":
        return this.evalTerm(e.term, frame, ctx, (v) => (v === false ? false : k()));
      case "unify":
      case "assign":
        return this.unifyTerms(e.a, e.b, e.aNeeds ?? [], e.bNeeds ?? [], frame, ctx, k);
      case "some":
        return k();
      case "somein":
        return this.evalTerm(e.coll, frame, ctx, (coll) => this.iterate(coll, e.key, e.value, frame, ctx, k));
      case "every":
        return this.evalTerm(e.coll, frame, ctx, (coll) => {
          if (!(Array.isArray(coll) || coll instanceof RObject || coll instanceof RSet)) return false;
          let ok = true;
          this.iterate(coll, e.key, e.value, frame, ctx, () => {
            let found = false;
            this.evalBody(e.body, 0, frame, ctx, () => {
              found = true;
              return true;
            });
            if (!found) {
              ok = false;
              return true;
            }
            return false;
          });
          return ok ? k() : false;
        });
    }
  }

  /** Iterate a collection for `some k, v in coll` / `every`. */
  private iterate(coll: Value, key: Term | undefined, value: Term, frame: Frame, ctx: Ctx, k: K): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        const item = coll[i] as Value;
        const r = key
          ? this.unifyVal(key, i, frame, ctx, () => this.unifyVal(value, item, frame, ctx, k))
          : this.unifyVal(value, item, frame, ctx, k);
        if (r) return true;
      }
    } else if (coll instanceof RObject) {
      for (const [ok, ov] of coll.entries()) {
        const r = key ? this.unifyVal(key, ok, frame, ctx, () => this.unifyVal(value, ov, frame, ctx, k)) : this.unifyVal(value, ov, frame, ctx, k);
        if (r) return true;
      }
    } else if (coll instanceof RSet) {
      for (const el of coll.values()) {
        const r = key ? this.unifyVal(key, el, frame, ctx, () => this.unifyVal(value, el, frame, ctx, k)) : this.unifyVal(value, el, frame, ctx, k);
        if (r) return true;
      }
    }
    return false;
  }

  // ---- with ---------------------------------------------------------------------------

  private applyWith(e: Expr, frame: Frame, ctx: Ctx): Ctx | undefined {
    const n: Ctx = { ...ctx, vcache: new Map(), fcache: new Map() };
    for (const w of e.with) {
      const t = w.target;
      if (t.t === "call") {
        const mocks = new Map(n.mocks ?? []);
        const key = mockKey(t);
        const v = w.value;
        if (v.t === "call" && (v as { fnRef?: boolean }).fnRef) mocks.set(key, { call: v });
        else {
          const val = this.firstValue(v, frame, ctx);
          if (val === undefined) return undefined;
          mocks.set(key, { value: val });
        }
        n.mocks = mocks;
        continue;
      }
      const val = this.firstValue(w.value, frame, ctx);
      if (val === undefined) return undefined;
      if (t.t !== "ref" || t.head.t !== "var") continue;
      const keys = t.path.map((p) => (p.t === "scalar" ? p.v : null)) as Value[];
      if (t.head.slot === INPUT_SLOT) n.input = keys.length ? setPath(n.input, keys, val) : val;
      else if (t.head.slot === DATA_SLOT) n.overrides = [...(n.overrides ?? []), [keys.map(String), val]];
    }
    return n;
  }

  private firstValue(t: Term, frame: Frame, ctx: Ctx): Value | undefined {
    let out: Value | undefined;
    this.evalTerm(t, frame, ctx, (v) => {
      out = v;
      return true;
    });
    return out;
  }

  // ---- unification ----------------------------------------------------------------------

  private unifyTerms(a: Term, b: Term, aNeeds: number[], bNeeds: number[], frame: Frame, ctx: Ctx, k: K): boolean {
    if (allBound(bNeeds, frame)) return this.evalTerm(b, frame, ctx, (v) => this.unifyVal(a, v, frame, ctx, k));
    if (allBound(aNeeds, frame)) return this.evalTerm(a, frame, ctx, (v) => this.unifyVal(b, v, frame, ctx, k));
    if (a.t === "array" && b.t === "array" && a.items.length === b.items.length) {
      const go = (i: number): boolean => {
        if (i === a.items.length) return k();
        const x = a.items[i] as Term;
        const y = b.items[i] as Term;
        return this.unifyTerms(x, y, needsNow(x), needsNow(y), frame, ctx, () => go(i + 1));
      };
      return go(0);
    }
    if (a.t === "object" && b.t === "object" && a.items.length === b.items.length) {
      const go = (i: number): boolean => {
        if (i === a.items.length) return k();
        const [ka, va] = a.items[i] as [Term, Term];
        const kv = this.firstValue(ka, frame, ctx);
        const other = b.items.find(([kb]) => kv !== undefined && equal(this.firstValue(kb, frame, ctx) as Value, kv));
        if (!other) return false;
        return this.unifyTerms(va, other[1], needsNow(va), needsNow(other[1]), frame, ctx, () => go(i + 1));
      };
      return go(0);
    }
    throw new RegoError("rego_unsafe_var_error", "unsafe unification: both sides have unbound variables", a.loc);
  }

  /** Unify a (pattern) term with a value. */
  private unifyVal(t: Term, v: Value, frame: Frame, ctx: Ctx, k: K): boolean {
    switch (t.t) {
      case "var": {
        const s = t.slot as number;
        if (s < 0) return this.evalTerm(t, frame, ctx, (x) => equal(x, v) && k());
        const cur = frame[s];
        if (cur !== undefined) return equal(cur, v) ? k() : false;
        frame[s] = v;
        const r = k();
        frame[s] = undefined;
        return r;
      }
      case "scalar":
        return equal(t.v, v) ? k() : false;
      case "array": {
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        const go = (i: number): boolean => (i === v.length ? k() : this.unifyVal(t.items[i] as Term, v[i] as Value, frame, ctx, () => go(i + 1)));
        return go(0);
      }
      case "object": {
        if (!(v instanceof RObject) || v.size !== t.items.length) return false;
        const go = (i: number): boolean => {
          if (i === t.items.length) return k();
          const [kt, vt] = t.items[i] as [Term, Term];
          return this.evalTerm(kt, frame, ctx, (key) => {
            const got = v.get(key);
            if (got === undefined) return false;
            return this.unifyVal(vt, got, frame, ctx, () => go(i + 1));
          });
        };
        return go(0);
      }
      default:
        return this.evalTerm(t, frame, ctx, (x) => equal(x, v) && k());
    }
  }

  // ---- terms ------------------------------------------------------------------------------

  evalTerm(t: Term, frame: Frame, ctx: Ctx, k: KV): boolean {
    switch (t.t) {
      case "scalar":
        return k(t.v);
      case "var": {
        const s = t.slot as number;
        if (s === INPUT_SLOT) return ctx.input === undefined ? false : k(ctx.input);
        if (s === DATA_SLOT) return this.evalDataPath([], 0, this.c.root, frame, ctx, k);
        const v = frame[s];
        if (v === undefined) throw new RegoError("rego_unsafe_var_error", `var ${t.name} is unsafe`, t.loc);
        return k(v);
      }
      case "ref":
        return this.evalRef(t, frame, ctx, k);
      case "call":
        return this.evalCall(t, frame, ctx, k);
      case "array": {
        const cv = constOf(t);
        if (cv !== undefined) return k(cv);
        return this.evalList(t.items, 0, [], frame, ctx, (vs) => k(vs));
      }
      case "set": {
        const cv = constOf(t);
        if (cv !== undefined) return k(cv);
        return this.evalList(t.items, 0, [], frame, ctx, (vs) => k(RSet.from(vs)));
      }
      case "object": {
        const cv = constOf(t);
        if (cv !== undefined) return k(cv);
        const flat: Term[] = [];
        for (const [a, b] of t.items) flat.push(a, b);
        return this.evalList(flat, 0, [], frame, ctx, (vs) => {
          const o = new RObject();
          for (let i = 0; i < vs.length; i += 2) o.set(vs[i] as Value, vs[i + 1] as Value);
          return k(o);
        });
      }
      case "arraycompr": {
        const out: Value[] = [];
        this.evalBody(t.body, 0, frame, ctx, () =>
          this.evalTerm(t.term, frame, ctx, (v) => {
            out.push(v);
            return false;
          }),
        );
        return k(out);
      }
      case "setcompr": {
        const out = new RSet();
        this.evalBody(t.body, 0, frame, ctx, () =>
          this.evalTerm(t.term, frame, ctx, (v) => {
            out.add(v);
            return false;
          }),
        );
        return k(out);
      }
      case "objcompr": {
        const out = new RObject();
        this.evalBody(t.body, 0, frame, ctx, () =>
          this.evalTerm(t.key, frame, ctx, (kv) =>
            this.evalTerm(t.value, frame, ctx, (vv) => {
              const prev = out.get(kv);
              if (prev !== undefined && !equal(prev, vv))
                throw new RegoError("eval_conflict_error", "object keys must be unique", t.loc);
              out.set(kv, vv);
              return false;
            }),
          ),
        );
        return k(out);
      }
      case "template": {
        let s = "";
        for (const p of t.parts) {
          if (typeof p === "string") {
            s += p;
            continue;
          }
          let vals: Value[] = [];
          this.evalTerm(p, frame, ctx, (v) => {
            vals.push(v);
            return false;
          });
          if (p.t === "arraycompr" && p.tmplWith) vals = vals[0] as Value[];
          if (vals.length === 0) s += "<undefined>";
          else if (vals.length > 1) throw new RegoError("eval_conflict_error", "template expression produced multiple outputs", p.loc);
          else {
            const v = vals[0] as Value;
            s += typeof v === "string" ? v : toRegoString(v);
          }
        }
        return k(s);
      }
    }
  }

  private evalList(items: Term[], i: number, acc: Value[], frame: Frame, ctx: Ctx, k: (vs: Value[]) => boolean): boolean {
    if (i === items.length) return k(acc.slice());
    return this.evalTerm(items[i] as Term, frame, ctx, (v) => {
      acc[i] = v;
      return this.evalList(items, i + 1, acc, frame, ctx, k);
    });
  }

  private evalRef(t: Term & { t: "ref" }, frame: Frame, ctx: Ctx, k: KV): boolean {
    const h = t.head;
    if (h.t === "var") {
      const s = h.slot as number;
      if (s === DATA_SLOT) return this.evalDataPath(t.path, 0, this.c.root, frame, ctx, k);
      if (s === INPUT_SLOT) return ctx.input === undefined ? false : this.walk(ctx.input, t.path, 0, frame, ctx, k);
      const v = frame[s];
      if (v === undefined) throw new RegoError("rego_unsafe_var_error", `var ${h.name} is unsafe`, h.loc);
      return this.walk(v, t.path, 0, frame, ctx, k);
    }
    return this.evalTerm(h, frame, ctx, (v) => this.walk(v, t.path, 0, frame, ctx, k));
  }

  /** Walk a plain value along ref path terms, iterating unbound vars. */
  private walk(v: Value, path: Term[], i: number, frame: Frame, ctx: Ctx, k: KV, dk = false): boolean {
    if (i === path.length) return k(v);
    const p = path[i] as Term;
    if (p.t === "scalar") {
      const n = dk ? dataIndex(v, p.v) : index(v, p.v);
      return n === undefined ? false : this.walk(n, path, i + 1, frame, ctx, k, dk);
    }
    if (p.t === "var" && (p.slot as number) >= 0) {
      const s = p.slot as number;
      const cur = frame[s];
      if (cur !== undefined) {
        const n = dk ? dataIndex(v, cur) : index(v, cur);
        return n === undefined ? false : this.walk(n, path, i + 1, frame, ctx, k, dk);
      }
      // iterate
      if (Array.isArray(v)) {
        for (let j = 0; j < v.length; j++) {
          frame[s] = j;
          const r = this.walk(v[j] as Value, path, i + 1, frame, ctx, k, dk);
          frame[s] = undefined;
          if (r) return true;
        }
      } else if (v instanceof RObject) {
        for (const [ok, ov] of v.entries()) {
          frame[s] = ok;
          const r = this.walk(ov, path, i + 1, frame, ctx, k, dk);
          frame[s] = undefined;
          if (r) return true;
        }
      } else if (v instanceof RSet) {
        for (const el of v.values()) {
          frame[s] = el;
          const r = this.walk(el, path, i + 1, frame, ctx, k, dk);
          frame[s] = undefined;
          if (r) return true;
        }
      }
      return false;
    }
    if (allBound(needsNow(p), frame))
      return this.evalTerm(p, frame, ctx, (key) => {
        const n = dk ? dataIndex(v, key) : index(v, key);
        return n === undefined ? false : this.walk(n, path, i + 1, frame, ctx, k, dk);
      });
    // pattern key (e.g. a[[x, y]]): iterate keys and unify
    const each = (key: Value, val: Value) => this.unifyVal(p, key, frame, ctx, () => this.walk(val, path, i + 1, frame, ctx, k, dk));
    if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) if (each(j, v[j] as Value)) return true;
    } else if (v instanceof RObject) {
      for (const [ok, ov] of v.entries()) if (each(ok, ov)) return true;
    } else if (v instanceof RSet) {
      for (const el of v.values()) if (each(el, el)) return true;
    }
    return false;
  }

  // ---- data & virtual documents -------------------------------------------------------------

  private override(path: string[], ctx: Ctx): Value | undefined {
    if (!ctx.overrides) return undefined;
    let found: Value | undefined;
    for (const [p, v] of ctx.overrides) if (p.length === path.length && p.every((x, i) => x === path[i])) found = v;
    return found;
  }

  private applyOverridesBelow(v: Value | undefined, path: string[], ctx: Ctx): Value | undefined {
    if (!ctx.overrides) return v;
    for (const [p, ov] of ctx.overrides) {
      if (p.length >= path.length && path.every((x, i) => x === p[i])) v = setPath(v, p.slice(path.length), ov);
    }
    return v;
  }

  private baseAt(path: string[], ctx: Ctx): Value | undefined {
    let v: Value | undefined = ctx.data;
    for (const p of path) {
      if (!(v instanceof RObject)) return undefined;
      v = v.getStr(p);
      if (v === undefined) return undefined;
    }
    return v;
  }

  private evalDataPath(path: Term[], i: number, node: Node, frame: Frame, ctx: Ctx, k: KV, base: Value | undefined = ctx.data): boolean {
    if (ctx.overrides) {
      const ov = this.override(node.path, ctx);
      if (ov !== undefined) return this.walk(ov, path, i, frame, ctx, k);
    }
    if (node.rules.length || node.defaultRule || i === path.length) {
      const v = this.nodeValue(node, ctx);
      return v === undefined ? false : this.walk(v, path, i, frame, ctx, k);
    }
    const p = path[i] as Term;
    let key: Value | undefined;
    if (p.t === "scalar") key = p.v;
    else if (p.t === "var" && (p.slot as number) >= 0) key = frame[p.slot as number];
    if (typeof key === "number") key = String(key);
    if (typeof key === "string") {
      const child = node.children.get(key);
      const cbase = base instanceof RObject ? base.getStr(key) : undefined;
      if (child) return this.evalDataPath(path, i + 1, child, frame, ctx, k, cbase);
      if (ctx.overrides) {
        const cpath = [...node.path, key];
        const ob = this.applyOverridesBelow(cbase, cpath, ctx);
        return ob === undefined ? false : this.walk(ob, path, i + 1, frame, ctx, k, true);
      }
      return cbase === undefined ? false : this.walk(cbase, path, i + 1, frame, ctx, k, true);
    }
    if (key !== undefined && !node.hasRules) {
      const b = this.applyOverridesBelow(base, node.path, ctx);
      return b === undefined ? false : this.walk(b, path, i, frame, ctx, k, true);
    }
    const v = this.nodeValue(node, ctx);
    return v === undefined ? false : this.walk(v, path, i, frame, ctx, k);
  }

  /** The full value of the document at a node: base data merged with virtual documents. */
  nodeValue(node: Node, ctx: Ctx): Value | undefined {
    const cached = ctx.vcache.get(node);
    if (cached === PENDING) {
      const r = node.rules[0] ?? node.defaultRule;
      throw new RegoError("rego_recursion_error", `rule data.${node.path.join(".")} is recursive`, r?.loc);
    }
    if (cached !== undefined || ctx.vcache.has(node)) return cached as Value | undefined;
    const ov = this.override(node.path, ctx);
    if (ov !== undefined) return ov;
    ctx.vcache.set(node, PENDING);
    let result: Value | undefined;
    try {
      const base = this.baseAt(node.path, ctx);
      if (!node.hasRules) result = base;
      else {
        if (node.rules.length || node.defaultRule) result = this.evalRules(node, ctx);
        if (node.children.size || node.pkg) {
          let obj: RObject | undefined;
          const start = result ?? base;
          if (start instanceof RObject) obj = start.clone();
          else if (start === undefined) obj = new RObject();
          if (obj) {
            for (const [key, child] of node.children) {
              if ((child.funcs.length || child.defaultFunc) && !child.rules.length) continue;
              const cv = this.nodeValue(child, ctx);
              if (cv !== undefined) obj.set(key, cv);
            }
            result = obj;
          }
        } else if (result === undefined && !(node.rules.length || node.defaultRule)) result = base;
      }
      result = this.applyOverridesBelow(result, node.path, ctx);
    } catch (e) {
      ctx.vcache.delete(node);
      throw e;
    }
    ctx.vcache.set(node, result);
    return result;
  }

  private evalRules(node: Node, ctx: Ctx): Value | undefined {
    const rules = node.rules;
    const objectShape = rules.some((r) => r.dyn.length > 0);
    if (objectShape) {
      const obj = new RObject();
      for (const r of rules) this.evalObjectRule(r, obj, ctx);
      return obj;
    }
    if (rules.some((r) => r.kind === "set")) {
      const s = new RSet();
      for (const r of rules) {
        const frame: Frame = new Array(r.nslots);
        this.enterRule(r);
        try {
          this.evalBody(r.body, 0, frame, ctx, () =>
            this.evalTerm(r.elem as Term, frame, ctx, (v) => {
              s.add(v);
              return false;
            }),
          );
        } finally {
          this.depth--;
        }
      }
      return s;
    }
    let out: Value | undefined;
    for (const r of rules) {
      const v = this.evalComplete(r, ctx);
      if (v === undefined) continue;
      if (out === undefined) out = v;
      else if (!equal(out, v)) throw new RegoError("eval_conflict_error", "complete rules must not produce multiple outputs", r.loc);
    }
    if (out === undefined && node.defaultRule) out = this.firstValue(node.defaultRule.value as Term, new Array(node.defaultRule.nslots), ctx);
    return out;
  }

  private enterRule(r: CRule): void {
    if (++this.depth > 5000) throw new RegoError("rego_recursion_error", `rule data.${r.node.path.join(".")} is recursive`, r.loc);
  }

  private evalComplete(r: CRule, ctx: Ctx): Value | undefined {
    let out: Value | undefined;
    const frame: Frame = new Array(r.nslots);
    this.enterRule(r);
    try {
      this.evalBody(r.body, 0, frame, ctx, () => {
        if (r.value === undefined) {
          out = true;
          return true;
        }
        this.evalTerm(r.value, frame, ctx, (v) => {
          if (out === undefined) out = v;
          else if (!equal(out, v)) throw new RegoError("eval_conflict_error", "complete rules must not produce multiple outputs", r.loc);
          return false;
        });
        return r.constValue && out !== undefined;
      });
    } finally {
      this.depth--;
    }
    if (out === undefined && r.else) return this.evalComplete(r.else, ctx);
    return out;
  }

  private evalObjectRule(r: CRule, obj: RObject, ctx: Ctx): void {
    const frame: Frame = new Array(r.nslots);
    this.enterRule(r);
    try {
      this.evalBody(r.body, 0, frame, ctx, () =>
        this.evalList(r.dyn, 0, [], frame, ctx, (keys) => {
          if (r.kind === "set")
            return this.evalTerm(r.elem as Term, frame, ctx, (el) => {
              insertPath(obj, keys, el, true, r.loc);
              return false;
            });
          if (r.value === undefined) {
            insertPath(obj, keys, true, false, r.loc);
            return false;
          }
          return this.evalTerm(r.value, frame, ctx, (v) => {
            insertPath(obj, keys, v, false, r.loc);
            return false;
          });
        }),
      );
    } finally {
      this.depth--;
    }
  }

  // ---- calls ------------------------------------------------------------------------------

  private evalCall(t: Term & { t: "call" }, frame: Frame, ctx: Ctx, k: KV): boolean {
    let target: Term & { t: "call" } = t;
    let mockValue: Value | undefined;
    let fctx = ctx;
    if (ctx.mocks) {
      const key = mockKey(t);
      const m = ctx.mocks.get(key);
      if (m) {
        if (m.call) {
          target = m.call;
          // the replacement runs without the active mocks: it sees the original function, and
          // never another mock (its own `with` modifiers still apply)
          fctx = { ...ctx, mocks: undefined, vcache: new Map(), fcache: new Map() };
        } else mockValue = m.value;
      }
    }
    if (t.bi === "print" && mockValue === undefined && target === t) return this.evalPrint(t, frame, ctx, k);
    const arity = target.bi !== undefined ? (BUILTINS.get(target.bi)?.arity ?? t.args.length) : (this.c.funcArityOf(target.fpath as string[]) ?? t.args.length);
    const nIn = Math.min(arity, t.args.length);
    const output = t.args.length > arity ? (t.args[arity] as Term) : undefined;
    const inputs = nIn === t.args.length ? t.args : t.args.slice(0, nIn);
    return this.evalList(inputs, 0, [], frame, ctx, (vals) => {
      if (mockValue !== undefined) return output ? this.unifyVal(output, mockValue, frame, ctx, () => k(true)) : k(mockValue);
      if (target.bi !== undefined) {
        const def = BUILTINS.get(target.bi);
        if (!def) throw new RegoError("rego_type_error", `undefined function ${target.bi}`, t.loc);
        let res: Value | undefined;
        try {
          res = def.fn(vals, this.bctx);
        } catch (e) {
          if (e instanceof RegoError) throw e;
          if (this.strict || e instanceof StrictHalt) {
            const code = e instanceof BuiltinError ? e.code : "eval_builtin_error";
            throw new RegoError(code, `${target.bi}: ${(e as Error).message}`, t.loc);
          }
          return false;
        }
        if (res === undefined) return false;
        if (def.relation && Array.isArray(res)) {
          for (const r of res) if (output ? this.unifyVal(output, r, frame, ctx, () => k(true)) : k(r)) return true;
          return false;
        }
        return output ? this.unifyVal(output, res, frame, ctx, () => k(true)) : k(res);
      }
      const res = this.callFunction(target.fpath as string[], vals, fctx, t.loc);
      if (res === undefined) return false;
      return output ? this.unifyVal(output, res, frame, ctx, () => k(true)) : k(res);
    });
  }

  private evalPrint(t: Term & { t: "call" }, frame: Frame, ctx: Ctx, k: KV): boolean {
    const parts: string[] = [];
    for (const a of t.args) {
      const vals: Value[] = [];
      this.evalTerm(a, frame, ctx, (v) => {
        vals.push(v);
        return false;
      });
      if (vals.length === 0) parts.push("<undefined>");
      else parts.push(vals.map((v) => (typeof v === "string" ? v : toRegoString(v))).join(", "));
    }
    this.bctx.print(parts.join(" "));
    return k(true);
  }

  callFunction(fpath: string[], args: Value[], ctx: Ctx, loc: Loc): Value | undefined {
    const node = this.c.nodeAt(fpath);
    if (!node) throw new RegoError("rego_type_error", `undefined function data.${fpath.join(".")}`, loc);
    const memoKey = undefined as string | undefined;
    if (memoKey !== undefined && ctx.fcache.has(memoKey)) return ctx.fcache.get(memoKey);
    let out: Value | undefined;
    for (const def of node.funcs) {
      const v = this.evalFuncDef(def, args, ctx);
      if (v === undefined) continue;
      if (out === undefined) out = v;
      else if (!equal(out, v)) throw new RegoError("eval_conflict_error", "functions must not produce multiple outputs for same inputs", def.loc);
    }
    if (out === undefined && node.defaultFunc) out = this.firstValue(node.defaultFunc.value as Term, new Array(node.defaultFunc.nslots), ctx);
    if (memoKey !== undefined) ctx.fcache.set(memoKey, out);
    return out;
  }

  private evalFuncDef(def: CRule, args: Value[], ctx: Ctx): Value | undefined {
    const params = def.args ?? [];
    if (params.length !== args.length) return undefined;
    const frame: Frame = new Array(def.nslots);
    let out: Value | undefined;
    this.enterRule(def);
    try {
      const bindArgs = (i: number): boolean => {
        if (i === params.length)
          return this.evalBody(def.body, 0, frame, ctx, () => {
            if (def.value === undefined) {
              out = true;
              return true;
            }
            this.evalTerm(def.value, frame, ctx, (v) => {
              if (out === undefined) out = v;
              else if (!equal(out, v))
                throw new RegoError("eval_conflict_error", "functions must not produce multiple outputs for same inputs", def.loc);
              return false;
            });
            return def.constValue && out !== undefined;
          });
        return this.unifyVal(params[i] as Term, args[i] as Value, frame, ctx, () => bindArgs(i + 1));
      };
      bindArgs(0);
    } finally {
      this.depth--;
    }
    if (out === undefined && def.else) return this.evalFuncDef(def.else, args, ctx);
    return out;
  }
}

/** Thrown by builtins that must abort even without strict mode. */
export class StrictHalt extends Error {}

function mockKey(t: Term & { t: "call" }): string {
  return t.bi !== undefined ? `b:${t.bi}` : `f:${(t.fpath ?? []).join(".")}`;
}

function allBound(slots: number[], frame: Frame): boolean {
  for (let i = 0; i < slots.length; i++) if (frame[slots[i] as number] === undefined) return false;
  return true;
}

/** Local slots a term needs bound to be evaluated (ref path vars excluded); cached on the term. */
function needsNow(t: Term): number[] {
  const c = t as { _needs?: number[] };
  if (c._needs) return c._needs;
  const out: number[] = [];
  const visit = (x: Term, pattern: boolean) => {
    switch (x.t) {
      case "var":
        if ((x.slot as number) >= 0 && !pattern) out.push(x.slot as number);
        return;
      case "ref":
        visit(x.head, false);
        for (const p of x.path) if (p.t !== "var") visit(p, true);
        return;
      case "array":
      case "set":
        for (const i of x.items) visit(i, false);
        return;
      case "object":
        for (const [a, b] of x.items) {
          visit(a, false);
          visit(b, false);
        }
        return;
      case "call":
        for (const a of x.args) visit(a, false);
        return;
      case "template":
        for (const p of x.parts) if (typeof p !== "string") visit(p, false);
        return;
      case "arraycompr":
      case "setcompr":
      case "objcompr":
        out.push(...(x.closure ?? []));
        return;
    }
  };
  visit(t, false);
  c._needs = out;
  return out;
}

const NOT_CONST = Symbol("notconst");
function constOf(t: Term): Value | undefined {
  const c = t as { _cv?: Value | typeof NOT_CONST };
  if (c._cv !== undefined) return c._cv === NOT_CONST ? undefined : c._cv;
  const v = computeConst(t);
  c._cv = v === undefined ? NOT_CONST : v;
  return v;
}
function computeConst(t: Term): Value | undefined {
  switch (t.t) {
    case "scalar":
      return t.v;
    case "array": {
      const out: Value[] = [];
      for (const i of t.items) {
        const v = computeConst(i);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case "set": {
      const out = new RSet();
      for (const i of t.items) {
        const v = computeConst(i);
        if (v === undefined) return undefined;
        out.add(v);
      }
      return out;
    }
    case "object": {
      const out = new RObject();
      for (const [a, b] of t.items) {
        const ka = computeConst(a);
        const vb = computeConst(b);
        if (ka === undefined || vb === undefined) return undefined;
        out.set(ka, vb);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** index() for base documents: their object keys are strings, so numeric keys match by text. */
function dataIndex(v: Value, key: Value): Value | undefined {
  const r = index(v, key);
  if (r === undefined && typeof key === "number" && v instanceof RObject) return v.getStr(String(key));
  return r;
}

/** v[key] for arrays, objects and sets; undefined otherwise. */
export function index(v: Value, key: Value): Value | undefined {
  if (v instanceof RObject) return typeof key === "string" ? v.getStr(key) : v.get(key);
  if (Array.isArray(v)) {
    if (typeof key !== "number" || !Number.isInteger(key) || key < 0 || key >= v.length) return undefined;
    return v[key];
  }
  if (v instanceof RSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** Copy-on-write set of a nested path (creating objects). */
export function setPath(v: Value | undefined, keys: Value[], val: Value): Value {
  if (keys.length === 0) return val;
  const o = v instanceof RObject ? v.clone() : new RObject();
  const [first, ...rest] = keys as [Value, ...Value[]];
  o.set(first, setPath(o.get(first), rest, val));
  return o;
}

function insertPath(obj: RObject, keys: Value[], v: Value, isSet: boolean, loc: Loc): void {
  let cur = obj;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i] as Value;
    let next = cur.get(key);
    if (next === undefined) {
      next = new RObject();
      cur.set(key, next);
    } else if (!(next instanceof RObject)) throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
    cur = next;
  }
  const last = keys[keys.length - 1] as Value;
  if (isSet) {
    let s = cur.get(last);
    if (s === undefined) {
      s = new RSet();
      cur.set(last, s);
    }
    if (!(s instanceof RSet)) throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
    s.add(v);
    return;
  }
  const prev = cur.get(last);
  if (prev !== undefined && !equal(prev, v)) throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
  cur.set(last, v);
}
