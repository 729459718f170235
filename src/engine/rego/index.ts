/**
 * TapPass's Rego v1 interpreter — public API.
 *
 *   const compiled = compileModules([{ filename: "authz.rego", source }], { data });
 *   const q = compiled.prepare("allow = data.authz.allow");
 *   q.eval(input)   // → [{ allow: true }]   ([] = undefined)
 *
 * Stages: lexer.ts → parser.ts (AST with file:line:col) → compile.ts (indexing, name
 * resolution, safety ordering, recursion check) → eval.ts (backtracking evaluator).
 * Values: value.ts. Builtins: builtins/ (registry.ts is the contract).
 */
import { TapPassError } from "../errors.ts";
import type { Module } from "./ast.ts";
import { type CompiledQuery, Compiler } from "./compile.ts";
import { RegoError } from "./errors.ts";
import { Evaluator } from "./eval.ts";
import { parseModule, parseQuery } from "./parser.ts";
import { fromJSON, RObject, toJSON, type Value } from "./value.ts";

export interface EvalOpts {
  data?: unknown;
  maxSteps?: number;
  timeoutMs?: number;
  /** Raise builtin errors instead of treating them as undefined. */
  strictBuiltinErrors?: boolean;
  /** Sink for print(); defaults to stderr. */
  print?: (msg: string) => void;
}

export interface PreparedQuery {
  /** Bindings per solution as plain JSON (sets → sorted arrays); [] means undefined. */
  eval(input?: unknown, opts?: EvalOpts): Array<Record<string, unknown>>;
  /** Same, returning raw Rego values (no JSON conversion). */
  evalValues(input?: Value, opts?: EvalOpts & { dataValue?: Value }): Array<Record<string, Value>>;
}

export interface CompiledRego {
  prepare(query: string): PreparedQuery;
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegoError) throw e.toTapPass();
    if (e instanceof TapPassError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message))
      throw new TapPassError("eval_limit_exceeded", "evaluation too deep (maximum call stack exceeded)", 3);
    throw e;
  }
}

/** Compile without converting errors (used by the conformance runner). */
export function compileRaw(modules: { filename: string; source: string }[], data?: unknown): { compiler: Compiler; data: Value; prepare(q: string): { q: CompiledQuery; single?: string } } {
  const parsed: Module[] = modules.map((m) => parseModule(m.source, m.filename));
  const compiler = new Compiler();
  compiler.compileModules(parsed);
  const base = data === undefined ? new RObject() : fromJSON(data);
  return {
    compiler,
    data: base,
    prepare(query: string) {
      const body = parseQuery(query, "query");
      const q = compiler.compileQuery(body);
      return { q };
    },
  };
}

/** Merge b into a (objects deep, b wins). */
function mergeData(a: Value, b: Value): Value {
  if (a instanceof RObject && b instanceof RObject) {
    const o = a.clone();
    for (const [k, v] of b.entries()) {
      const prev = o.get(k);
      o.set(k, prev === undefined ? v : mergeData(prev, v));
    }
    return o;
  }
  return b;
}

export function compileModules(modules: { filename: string; source: string }[], opts?: { data?: unknown }): CompiledRego {
  const raw = wrap(() => compileRaw(modules, opts?.data));
  return {
    prepare(query: string): PreparedQuery {
      // A query that is a single bare term (e.g. `data.authz.allow`) is captured under its
      // own text, like OPA's expression value, so a `false` result is still reported.
      const trimmed = query.trim();
      let capture: string | undefined;
      const bodyProbe = wrap(() => parseQuery(trimmed, "query"));
      const first = bodyProbe[0];
      if (bodyProbe.length === 1 && first && first.k === "term" && !first.negated && first.with.length === 0)
        capture = trimmed;
      const { q } = wrap(() => raw.prepare(capture !== undefined ? `q__capture = (${trimmed})` : trimmed));
      if (capture !== undefined) {
        const slot = q.vars.find(([n]) => n === "q__capture");
        q.vars = slot ? [[capture, slot[1]]] : q.vars;
      }
      const evalValues = (input?: Value, o?: EvalOpts & { dataValue?: Value }) =>
        wrap(() => {
          let data = raw.data;
          if (o?.dataValue !== undefined) data = mergeData(data, o.dataValue);
          else if (o?.data !== undefined) data = mergeData(data, fromJSON(o.data));
          const ev = new Evaluator(raw.compiler, {
            input,
            data,
            maxSteps: o?.maxSteps,
            timeoutMs: o?.timeoutMs,
            strict: o?.strictBuiltinErrors,
            print: o?.print,
          });
          return ev.run(q);
        });
      return {
        evalValues,
        eval(input?: unknown, o?: EvalOpts) {
          const rows = evalValues(input === undefined ? undefined : wrap(() => fromJSON(input)), o);
          return rows.map((r) => {
            const out: Record<string, unknown> = {};
            for (const k of Object.keys(r)) out[k] = toJSON(r[k] as Value);
            return out;
          });
        },
      };
    },
  };
}

/** Convenience: compile, prepare and evaluate once. */
export function evalQuery(opts: {
  modules: { filename: string; source: string }[];
  query: string;
  input?: unknown;
  data?: unknown;
}): Array<Record<string, unknown>> {
  return compileModules(opts.modules, { data: opts.data }).prepare(opts.query).eval(opts.input);
}

export { RegoError } from "./errors.ts";
export type { Value } from "./value.ts";
