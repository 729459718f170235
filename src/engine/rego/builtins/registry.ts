/**
 * The builtin registry contract.
 *
 * Every builtin file under src/engine/rego/builtins/ exports
 *
 *     export const builtins: BuiltinDef[] = [ { name: "count", arity: 1, fn: ([x]) => ... }, ... ];
 *
 * and builtins/index.ts merges all arrays into one Map keyed by name.
 *
 * - `fn` receives the evaluated arguments (never Undefined) and returns a Value, or `undefined`
 *   for an undefined result (e.g. `to_number` never does; `object.get` never does; a predicate
 *   like `startswith` returns `false`, not undefined).
 * - Errors: throw `new BuiltinError(message)` (becomes eval_builtin_error) or use the `arg*`
 *   helpers / `typeErr` which throw with code eval_type_error ("operand 1 must be string but got
 *   number"). The evaluator prefixes the builtin name and the call site:
 *   `file.rego:4: eval_type_error: strings.any_suffix_match: operand 2 must be ...`.
 *   Without strict-builtin-errors, OPA treats eval_builtin_error as Undefined and eval_type_error
 *   as an error; the evaluator implements that policy — builtins just throw.
 * - Builtins must be pure functions of their args + ctx. Nondeterministic ones (time.now_ns,
 *   rand.intn, uuid.rfc4122) set `nondeterministic: true` and memoize via `ctx.cache` so one
 *   query sees one answer.
 */
import {
  type BigNum,
  isInteger,
  isNumber,
  RObject,
  RSet,
  type TypeName,
  typeName,
  type Value,
} from "../value.ts";

export interface BuiltinContext {
  /** Wall-clock time of this query in ns since the epoch (fixed for the whole evaluation). */
  readonly timeNs: bigint;
  /** Per-evaluation memo (for nondeterministic builtins and expensive parses). */
  readonly cache: Map<string, unknown>;
  /** Print sink for `print` (defaults to stderr). */
  print(msg: string): void;
  /** True when strict builtin errors are on (errors are raised instead of Undefined). */
  readonly strict: boolean;
  /** Source location of the call ("file:line:col"), for messages. */
  readonly location?: string;
}

export interface BuiltinDef {
  /** Full dotted name, e.g. "strings.replace_n". */
  name: string;
  /** Number of arguments (not counting the optional output operand). */
  arity: number;
  fn: (args: Value[], ctx: BuiltinContext) => Value | undefined;
  /** Result may differ between calls with the same args (time, rand, uuid). */
  nondeterministic?: boolean;
  /** Declared result type, used for simple compile-time checks (optional). */
  result?: TypeName | "any";
  /** Declared arg types (for compile-time type errors on constant args; optional). */
  args?: (TypeName | "any" | TypeName[])[];
  /** A relation builtin (like walk): may produce several results — fn returns an array of them. */
  relation?: boolean;
}

/** A runtime builtin failure. `code` defaults to eval_builtin_error. */
export class BuiltinError extends Error {
  constructor(
    message: string,
    readonly code: "eval_builtin_error" | "eval_type_error" = "eval_builtin_error",
  ) {
    super(message);
    this.name = "BuiltinError";
  }
}

/** "operand N must be EXPECTED but got GOT" as an eval_type_error. */
export function typeErr(pos: number, expected: string, got: Value | string): BuiltinError {
  const g = typeof got === "string" && /^(null|boolean|number|string|array|object|set)$/.test(got) ? got : typeName(got as Value);
  return new BuiltinError(`operand ${pos} must be ${expected} but got ${g}`, "eval_type_error");
}

/** Human "one of {a, b}" expectation string, like OPA. */
export const oneOf = (...types: string[]): string => `one of {${types.join(", ")}}`;

export function argString(args: Value[], i: number): string {
  const v = args[i];
  if (typeof v !== "string") throw typeErr(i + 1, "string", v as Value);
  return v;
}

export function argNumber(args: Value[], i: number): number | BigNum {
  const v = args[i];
  if (!isNumber(v)) throw typeErr(i + 1, "number", v as Value);
  return v;
}

/** An integer operand within JS safe range. */
export function argInt(args: Value[], i: number): number {
  const v = args[i];
  if (!isNumber(v)) throw typeErr(i + 1, "number", v as Value);
  if (typeof v !== "number" || !isInteger(v)) throw new BuiltinError(`operand ${i + 1} must be integer number but got floating-point number`, "eval_type_error");
  return v;
}

export function argBool(args: Value[], i: number): boolean {
  const v = args[i];
  if (typeof v !== "boolean") throw typeErr(i + 1, "boolean", v as Value);
  return v;
}

export function argArray(args: Value[], i: number): Value[] {
  const v = args[i];
  if (!Array.isArray(v)) throw typeErr(i + 1, "array", v as Value);
  return v;
}

export function argObject(args: Value[], i: number): RObject {
  const v = args[i];
  if (!(v instanceof RObject)) throw typeErr(i + 1, "object", v as Value);
  return v;
}

export function argSet(args: Value[], i: number): RSet {
  const v = args[i];
  if (!(v instanceof RSet)) throw typeErr(i + 1, "set", v as Value);
  return v;
}

/** An array or set operand, as an array of its elements (sets in sorted order). */
export function argCollection(args: Value[], i: number, expected = oneOf("array", "set")): Value[] {
  const v = args[i];
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.values();
  throw typeErr(i + 1, expected, v as Value);
}

/** Register helper: define many builtins with less ceremony. */
export function def(name: string, arity: number, fn: BuiltinDef["fn"], extra: Partial<BuiltinDef> = {}): BuiltinDef {
  return { name, arity, fn, ...extra };
}
