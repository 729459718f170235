/** Test helpers: call a registered builtin by name with a fresh context. */
import { BUILTINS } from "../../../../src/engine/rego/builtins/index.ts";
import type { BuiltinContext } from "../../../../src/engine/rego/builtins/registry.ts";
import { fromJSON, toJSON, type Value } from "../../../../src/engine/rego/value.ts";

export function ctx(over: Partial<BuiltinContext> = {}): BuiltinContext {
  return {
    timeNs: BigInt(Date.now()) * 1000000n,
    cache: new Map(),
    print: () => {},
    strict: true,
    ...over,
  };
}

/** Call builtin `name` with Values (plain JS is converted with fromJSON). */
export function call(name: string, args: unknown[], c: BuiltinContext = ctx()): Value | undefined {
  const b = BUILTINS.get(name);
  if (!b) throw new Error(`no builtin ${name}`);
  if (b.arity !== args.length) throw new Error(`${name}: arity ${b.arity}, got ${args.length}`);
  return b.fn(args.map((a) => fromJSON(a)), c);
}

/** Same, result converted to plain JSON (sets → sorted arrays). */
export function callJ(name: string, args: unknown[], c?: BuiltinContext): unknown {
  const r = call(name, args, c);
  return r === undefined ? undefined : toJSON(r);
}

/** The thrown error's message and code. */
export function callErr(name: string, args: unknown[], c?: BuiltinContext): { message: string; code?: string } {
  try {
    call(name, args, c);
  } catch (e) {
    return { message: (e as Error).message, code: (e as { code?: string }).code };
  }
  throw new Error(`${name} did not throw`);
}
