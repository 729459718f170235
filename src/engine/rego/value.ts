/**
 * The Rego Value model.
 *
 * A Value is one of:
 *   null | boolean | number | string | BigNum | Value[] | RObject | RSet
 *
 * - `undefined` (the JS value) is Rego's *Undefined*: never stored inside a Value.
 * - Numbers: a plain JS `number` whenever it represents the Rego number exactly — every integer
 *   with |n| <= 2^53 and every finite non-integer double. Integers beyond that range and
 *   decimals outside double range (1e400) are `BigNum` (m × 10^e, exact). INVARIANT: a value
 *   representable as a JS number is never a BigNum (see `normNum`), so equality of numbers is
 *   `===` on the fast path.
 * - Arrays are plain frozen-by-convention JS arrays.
 * - Objects (`RObject`) have arbitrary Value keys; sets (`RSet`) hold arbitrary Values. Both are
 *   keyed internally by `keyOf(v)` (the primitive itself for string/number/boolean/null, a
 *   canonical string for the rest), and iterate in OPA's sorted order.
 * - Values are immutable once built: only call `set`/`add` while constructing.
 *
 * Ordering is OPA's total order: null < boolean < number < string < array < object < set.
 */

// ---------------------------------------------------------------------------------------------
// Numbers

/** An exact decimal m × 10^e (normalized: m has no trailing zeros; 0 is never a BigNum). */
export class BigNum {
  constructor(
    readonly m: bigint,
    readonly e: number,
  ) {}
  /** True when the value is an integer. */
  get isInt(): boolean {
    return this.e >= 0;
  }
  toString(): string {
    return numToString(this);
  }
}

export class RObject {
  /** keyOf(key) → [key, value] */
  readonly map = new Map<unknown, [Value, Value]>();
  private _sorted: [Value, Value][] | undefined;

  static from(entries: Iterable<[Value, Value]>): RObject {
    const o = new RObject();
    for (const [k, v] of entries) o.set(k, v);
    return o;
  }
  get size(): number {
    return this.map.size;
  }
  /** The value at key k, or undefined. */
  get(k: Value): Value | undefined {
    return this.map.get(keyOf(k))?.[1];
  }
  /** Fast path for string keys. */
  getStr(k: string): Value | undefined {
    return this.map.get(k.charCodeAt(0) === 0 ? `\u0000s${k}` : k)?.[1];
  }
  has(k: Value): boolean {
    return this.map.has(keyOf(k));
  }
  /** Construction only. */
  set(k: Value, v: Value): this {
    this.map.set(keyOf(k), [k, v]);
    this._sorted = undefined;
    return this;
  }
  delete(k: Value): this {
    this.map.delete(keyOf(k));
    this._sorted = undefined;
    return this;
  }
  /** Entries in OPA sorted key order. Do not mutate the returned array. */
  entries(): [Value, Value][] {
    if (this._sorted === undefined) {
      const a = [...this.map.values()];
      if (a.length > 1) a.sort((x, y) => compare(x[0], y[0]));
      this._sorted = a;
    }
    return this._sorted;
  }
  keys(): Value[] {
    return this.entries().map((e) => e[0]);
  }
  values(): Value[] {
    return this.entries().map((e) => e[1]);
  }
  clone(): RObject {
    const o = new RObject();
    for (const [k, e] of this.map) o.map.set(k, e);
    return o;
  }
}

export class RSet {
  readonly map = new Map<unknown, Value>();
  private _sorted: Value[] | undefined;

  static from(items: Iterable<Value>): RSet {
    const s = new RSet();
    for (const v of items) s.add(v);
    return s;
  }
  get size(): number {
    return this.map.size;
  }
  has(v: Value): boolean {
    return this.map.has(keyOf(v));
  }
  /** Construction only. */
  add(v: Value): this {
    const k = keyOf(v);
    if (!this.map.has(k)) {
      this.map.set(k, v);
      this._sorted = undefined;
    }
    return this;
  }
  delete(v: Value): this {
    this.map.delete(keyOf(v));
    this._sorted = undefined;
    return this;
  }
  /** Elements in OPA sorted order. Do not mutate the returned array. */
  values(): Value[] {
    if (this._sorted === undefined) {
      const a = [...this.map.values()];
      if (a.length > 1) a.sort(compare);
      this._sorted = a;
    }
    return this._sorted;
  }
  clone(): RSet {
    const s = new RSet();
    for (const [k, v] of this.map) s.map.set(k, v);
    return s;
  }
}

export type Value = null | boolean | number | string | BigNum | Value[] | RObject | RSet;

export type TypeName = "null" | "boolean" | "number" | "string" | "array" | "object" | "set";

/** OPA's type_name: "null", "boolean", "number", "string", "array", "object", "set". */
export function typeName(v: Value): TypeName {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
      return "number";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  if (v instanceof RObject) return "object";
  if (v instanceof RSet) return "set";
  return "number";
}

const TYPE_RANK: Record<TypeName, number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6 };

export const isNumber = (v: Value | undefined): v is number | BigNum => typeof v === "number" || v instanceof BigNum;
export const isString = (v: Value | undefined): v is string => typeof v === "string";
export const isArray = (v: Value | undefined): v is Value[] => Array.isArray(v);
export const isObject = (v: Value | undefined): v is RObject => v instanceof RObject;
export const isSet = (v: Value | undefined): v is RSet => v instanceof RSet;

// ---- decimal helpers -------------------------------------------------------------------------

/** An exact decimal (not normalized). */
export interface Dec {
  m: bigint;
  e: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const pow10cache: bigint[] = [];
export function pow10(n: number): bigint {
  if (n < 64) {
    let c = pow10cache[n];
    if (c === undefined) {
      c = 10n ** BigInt(n);
      pow10cache[n] = c;
    }
    return c;
  }
  return 10n ** BigInt(n);
}

/** Parse a decimal literal (JSON number syntax, optionally with exponent) exactly. */
export function parseDec(s: string): Dec | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return undefined;
  const intPart = m[2] ?? "";
  const frac = m[3] ?? "";
  if (intPart === "" && frac === "") return undefined;
  let mant = BigInt((intPart + frac).replace(/^0+(?=\d)/, "") || "0");
  if (m[1] === "-") mant = -mant;
  const exp = (m[4] ? Number.parseInt(m[4], 10) : 0) - frac.length;
  return { m: mant, e: exp };
}

/** Exact decimal of a Rego number. JS floats are taken at their shortest round-trip string. */
export function toDec(v: number | BigNum): Dec {
  if (v instanceof BigNum) return { m: v.m, e: v.e };
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) return { m: BigInt(v), e: 0 };
  return parseDec(String(v)) as Dec;
}

/** Build the canonical Value for m × 10^e (JS number when exact, else BigNum). */
export function normNum(m: bigint, e: number): number | BigNum {
  if (m === 0n) return 0;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  if (e >= 0) {
    if (e <= 16) {
      const i = m * pow10(e);
      if (i <= MAX_SAFE && i >= -MAX_SAFE) return Number(i);
    }
    return new BigNum(m, e);
  }
  // non-integer: use a JS number when its shortest representation is exactly this decimal
  const s = decToPlain(m, e);
  const n = Number(s);
  if (Number.isFinite(n) && n !== 0) {
    const back = parseDec(String(n));
    if (back) {
      let bm = back.m;
      let be = back.e;
      while (bm !== 0n && bm % 10n === 0n) {
        bm /= 10n;
        be++;
      }
      if (bm === m && be === e) return n;
    }
  }
  return new BigNum(m, e);
}

function decToPlain(m: bigint, e: number): string {
  const neg = m < 0n;
  let digits = (neg ? -m : m).toString();
  let out: string;
  if (e >= 0) out = digits + "0".repeat(e);
  else {
    const k = -e;
    if (digits.length <= k) digits = "0".repeat(k - digits.length + 1) + digits;
    out = `${digits.slice(0, digits.length - k)}.${digits.slice(digits.length - k)}`;
  }
  return neg ? `-${out}` : out;
}

/** Number from a literal string (exact). */
export function numFromString(s: string): number | BigNum | undefined {
  const d = parseDec(s.trim());
  if (!d) return undefined;
  // fast path: plain small literal
  if (d.e === 0 && d.m <= MAX_SAFE && d.m >= -MAX_SAFE) return Number(d.m);
  return normNum(d.m, d.e);
}

/** Number from a JS number (floats are kept as-is; unsafe integers become BigNum). */
export function numFromJS(n: number): number | BigNum {
  if (!Number.isFinite(n)) throw new TypeError(`not a finite number: ${n}`);
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return normNum(BigInt(n), 0);
  return n;
}

export function numFromBigInt(b: bigint): number | BigNum {
  if (b <= MAX_SAFE && b >= -MAX_SAFE) return Number(b);
  return normNum(b, 0);
}

/** OPA-like text of a number. */
export function numToString(v: number | BigNum): string {
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
    return String(v).replace("e+", "e");
  }
  if (v.e >= 0 && v.e <= 30) return (v.m * pow10(v.e)).toString();
  if (v.e < 0 && v.e > -30) return decToPlain(v.m, v.e);
  return `${v.m}e${v.e}`;
}

export function isInteger(v: number | BigNum): boolean {
  return typeof v === "number" ? Number.isInteger(v) : v.e >= 0;
}

/** The integer as a bigint (caller ensures isInteger). */
export function toBigInt(v: number | BigNum): bigint {
  if (typeof v === "number") return BigInt(v);
  return v.m * pow10(v.e);
}

/** Approximate JS number (may be ±Infinity for huge BigNums). */
export function toJSNumber(v: number | BigNum): number {
  if (typeof v === "number") return v;
  return Number(`${v.m}e${v.e}`);
}

/** Safe JS integer of v, or undefined if v is not an integer in the safe range. */
export function toSafeInt(v: Value | undefined): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

function cmpDec(a: Dec, b: Dec): number {
  if (a.e === b.e) return a.m < b.m ? -1 : a.m > b.m ? 1 : 0;
  const sa = a.m < 0n ? -1 : a.m > 0n ? 1 : 0;
  const sb = b.m < 0n ? -1 : b.m > 0n ? 1 : 0;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // same sign, different exponents: compare magnitude by digit length first to avoid huge pow10
  const da = (a.m < 0n ? -a.m : a.m).toString().length + a.e;
  const db = (b.m < 0n ? -b.m : b.m).toString().length + b.e;
  if (da !== db) return (da < db ? -1 : 1) * sa;
  const e = Math.min(a.e, b.e);
  const am = a.m * pow10(a.e - e);
  const bm = b.m * pow10(b.e - e);
  return am < bm ? -1 : am > bm ? 1 : 0;
}

export function numCompare(a: number | BigNum, b: number | BigNum): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  return cmpDec(toDec(a), toDec(b));
}

function alignAdd(a: Dec, b: Dec, sign: 1n | -1n): Dec {
  const e = Math.min(a.e, b.e);
  return { m: a.m * pow10(a.e - e) + sign * b.m * pow10(b.e - e), e };
}

export function numAdd(a: number | BigNum, b: number | BigNum): number | BigNum {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    if (Number.isSafeInteger(r) && Number.isInteger(a) && Number.isInteger(b)) return r;
  }
  const d = alignAdd(toDec(a), toDec(b), 1n);
  return normNum(d.m, d.e);
}

export function numSub(a: number | BigNum, b: number | BigNum): number | BigNum {
  if (typeof a === "number" && typeof b === "number") {
    const r = a - b;
    if (Number.isSafeInteger(r) && Number.isInteger(a) && Number.isInteger(b)) return r;
  }
  const d = alignAdd(toDec(a), toDec(b), -1n);
  return normNum(d.m, d.e);
}

export function numMul(a: number | BigNum, b: number | BigNum): number | BigNum {
  if (typeof a === "number" && typeof b === "number") {
    const r = a * b;
    if (Number.isSafeInteger(r) && Number.isInteger(a) && Number.isInteger(b)) return r;
  }
  const x = toDec(a);
  const y = toDec(b);
  return normNum(x.m * y.m, x.e + y.e);
}

/** Division; undefined when b is zero (the caller reports "divide by zero"). */
export function numDiv(a: number | BigNum, b: number | BigNum): number | BigNum | undefined {
  if (isZero(b)) return undefined;
  const x = toDec(a);
  const y = toDec(b);
  // exact when it terminates within the precision; otherwise round to 34 significant digits
  const PREC = 40;
  let num = x.m;
  let e = x.e - y.e;
  const shift = PREC + Math.max(0, y.m.toString().length - num.toString().length + 1);
  num *= pow10(shift);
  e -= shift;
  const q = num / y.m;
  const r = num % y.m;
  if (r === 0n) return normNum(q, e);
  // inexact: behave like float64 division when both fit, else keep 34 digits
  const fa = toJSNumber(a);
  const fb = toJSNumber(b);
  const f = fa / fb;
  if (Number.isFinite(f) && Number.isFinite(fa) && Number.isFinite(fb) && f !== 0) return numFromJS(f);
  return roundSig(q, e, 34);
}

function roundSig(m: bigint, e: number, sig: number): number | BigNum {
  const neg = m < 0n;
  let a = neg ? -m : m;
  const len = a.toString().length;
  if (len > sig) {
    const drop = len - sig;
    const p = pow10(drop);
    const rem = a % p;
    a /= p;
    if (rem * 2n >= p) a += 1n;
    e += drop;
  }
  return normNum(neg ? -a : a, e);
}

/** Integer remainder (sign of dividend, like Go); undefined when b is zero. */
export function numRem(a: number | BigNum, b: number | BigNum): number | BigNum | undefined {
  if (isZero(b)) return undefined;
  if (typeof a === "number" && typeof b === "number") return a % b;
  return numFromBigInt(toBigInt(a) % toBigInt(b));
}

export function numNeg(a: number | BigNum): number | BigNum {
  if (typeof a === "number") return a === 0 ? 0 : -a;
  return new BigNum(-a.m, a.e);
}

export function isZero(v: number | BigNum): boolean {
  return typeof v === "number" ? v === 0 : v.m === 0n;
}

export function numSign(v: number | BigNum): number {
  if (typeof v === "number") return v < 0 ? -1 : v > 0 ? 1 : 0;
  return v.m < 0n ? -1 : v.m > 0n ? 1 : 0;
}

/** floor / ceil / round-half-away-from-zero of a number. */
export function numRound(v: number | BigNum, mode: "floor" | "ceil" | "round"): number | BigNum {
  if (typeof v === "number") {
    if (mode === "floor") return Math.floor(v);
    if (mode === "ceil") return Math.ceil(v);
    return v < 0 ? -Math.round(-v) : Math.round(v);
  }
  if (v.e >= 0) return v;
  const p = pow10(-v.e);
  let q = v.m / p; // truncates toward zero
  const r = v.m % p;
  if (r !== 0n) {
    if (mode === "floor" && v.m < 0n) q -= 1n;
    else if (mode === "ceil" && v.m > 0n) q += 1n;
    else if (mode === "round") {
      const twice = (r < 0n ? -r : r) * 2n;
      if (twice >= p) q += v.m < 0n ? -1n : 1n;
    }
  }
  return numFromBigInt(q);
}

// ---------------------------------------------------------------------------------------------
// Ordering, equality, keys

/** OPA's total order. Returns <0, 0, >0. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return TYPE_RANK[ta] - TYPE_RANK[tb];
  switch (ta) {
    case "null":
      return 0;
    case "boolean":
      return a === b ? 0 : a === false ? -1 : 1;
    case "number":
      return numCompare(a as number | BigNum, b as number | BigNum);
    case "string":
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case "array": {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case "object": {
      const x = (a as RObject).entries();
      const y = (b as RObject).entries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const ex = x[i] as [Value, Value];
        const ey = y[i] as [Value, Value];
        let c = compare(ex[0], ey[0]);
        if (c !== 0) return c;
        c = compare(ex[1], ey[1]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case "set": {
      const x = (a as RSet).values();
      const y = (b as RSet).values();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i] as Value, y[i] as Value);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
  }
}

/** Structural equality (fast paths for primitives). */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  const t = typeof a;
  if (t !== "object" || a === null || b === null || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i] as Value, b[i] as Value)) return false;
    return true;
  }
  if (a instanceof RObject) {
    if (!(b instanceof RObject) || a.size !== b.size) return false;
    for (const [k, [, v]] of a.map) {
      const e = b.map.get(k);
      if (e === undefined || !equal(v, e[1])) return false;
    }
    return true;
  }
  if (a instanceof RSet) {
    if (!(b instanceof RSet) || a.size !== b.size) return false;
    for (const k of a.map.keys()) if (!b.map.has(k)) return false;
    return true;
  }
  if (a instanceof BigNum) return b instanceof BigNum && a.m === b.m && a.e === b.e;
  return false;
}

/** A canonical string encoding: equal values ⇔ equal strings. */
export function canon(v: Value): string {
  if (v === null) return "n";
  switch (typeof v) {
    case "boolean":
      return v ? "t" : "f";
    case "number":
      return `d${v}`;
    case "string":
      return JSON.stringify(v);
  }
  if (v instanceof BigNum) return `D${v.m}e${v.e}`;
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v instanceof RObject) {
    const parts: string[] = [];
    for (const [k, val] of v.map.values()) parts.push(`${canon(k)}:${canon(val)}`);
    parts.sort();
    return `{${parts.join(",")}}`;
  }
  const parts = [...(v as RSet).map.values()].map(canon);
  parts.sort();
  return `<${parts.join(",")}>`;
}

/** The Map key for a value: primitives are their own key, composites a canonical string. */
export function keyOf(v: Value): unknown {
  switch (typeof v) {
    case "string":
      return v.charCodeAt(0) === 0 ? `\u0000s${v}` : v;
    case "number":
    case "boolean":
      return v;
  }
  if (v === null) return null;
  return `\u0000${canon(v)}`;
}

/** Hash-friendly string usable to memoize on a list of values. */
export function keyOfArgs(vs: Value[]): string {
  return vs.map(canon).join("\u0001");
}

// ---------------------------------------------------------------------------------------------
// JSON conversion

/**
 * JS/JSON value → Rego Value. Plain objects become RObject, arrays arrays, bigint a number,
 * JS Set → RSet, Map → RObject. Already-converted Values pass through.
 */
export function fromJSON(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case "boolean":
    case "string":
      return x;
    case "number":
      return numFromJS(x);
    case "bigint":
      return numFromBigInt(x);
  }
  if (Array.isArray(x)) return x.map(fromJSON);
  if (x instanceof RObject || x instanceof RSet || x instanceof BigNum) return x;
  if (x instanceof Set) return RSet.from([...x].map(fromJSON));
  if (x instanceof Map) return RObject.from([...x].map(([k, v]) => [fromJSON(k), fromJSON(v)] as [Value, Value]));
  if (typeof x === "object") {
    const o = new RObject();
    for (const k of Object.keys(x as object)) {
      const v = (x as Record<string, unknown>)[k];
      if (v === undefined) continue;
      o.set(k, fromJSON(v));
    }
    return o;
  }
  throw new TypeError(`cannot convert ${typeof x} to a Rego value`);
}

/**
 * Rego Value → plain JSON. Sets become sorted arrays, non-string object keys are rendered as
 * their JSON text (like OPA), BigNums become JS numbers (lossy; use `toJSONText` for exact).
 */
export function toJSON(v: Value): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof BigNum) return toJSNumber(v);
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof RSet) return v.values().map(toJSON);
  const out: Record<string, unknown> = {};
  for (const [k, val] of (v as RObject).entries()) out[typeof k === "string" ? k : toJSONText(k)] = toJSON(val);
  return out;
}

/** Exact JSON text (numbers keep full precision; sets as sorted arrays; keys sorted). */
export function toJSONText(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return numToString(v);
    case "string":
      return JSON.stringify(v);
  }
  if (v instanceof BigNum) return numToString(v);
  if (Array.isArray(v)) return `[${v.map(toJSONText).join(",")}]`;
  if (v instanceof RSet) return `[${v.values().map(toJSONText).join(",")}]`;
  const parts: string[] = [];
  for (const [k, val] of (v as RObject).entries())
    parts.push(`${JSON.stringify(typeof k === "string" ? k : toJSONText(k))}:${toJSONText(val)}`);
  return `{${parts.join(",")}}`;
}

/**
 * Rego source text of a value, as OPA prints terms (sprintf %v, error messages):
 * strings quoted, sets as {a, b}, empty set as set(), objects as {"k": v}.
 */
export function toRegoString(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return numToString(v);
    case "string":
      return JSON.stringify(v);
  }
  if (v instanceof BigNum) return numToString(v);
  if (Array.isArray(v)) return `[${v.map(toRegoString).join(", ")}]`;
  if (v instanceof RSet) return v.size === 0 ? "set()" : `{${v.values().map(toRegoString).join(", ")}}`;
  return `{${(v as RObject)
    .entries()
    .map(([k, val]) => `${toRegoString(k)}: ${toRegoString(val)}`)
    .join(", ")}}`;
}

/** Empty shared constants (never mutate). */
export const EMPTY_OBJECT = new RObject();
export const EMPTY_SET = new RSet();
