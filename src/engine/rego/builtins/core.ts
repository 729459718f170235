/**
 * Core builtins: comparison, arithmetic, aggregates, arrays, sets, objects, strings,
 * type checks, casts, walk, membership, print/trace.
 */
import {
  BigNum,
  compare,
  equal,
  isInteger,
  isNumber,
  numAdd,
  numCompare,
  numDiv,
  numFromBigInt,
  numFromString,
  numMul,
  numNeg,
  numRem,
  numRound,
  numSub,
  numToString,
  RObject,
  RSet,
  toBigInt,
  toJSNumber,
  toRegoString,
  typeName,
  type Value,
} from "../value.ts";
import {
  argArray,
  argInt,
  argNumber,
  argObject,
  argSet,
  argString,
  type BuiltinDef,
  BuiltinError,
  def,
  oneOf,
  typeErr,
} from "./registry.ts";

type Num = number | BigNum;

// ---- comparison -------------------------------------------------------------------------------
const cmp = (name: string, f: (c: number) => boolean) => def(name, 2, ([a, b]) => f(compare(a as Value, b as Value)));

// ---- arithmetic ---------------------------------------------------------------------------------
function numOp(name: string, f: (a: Num, b: Num) => Value | undefined): BuiltinDef {
  return def(name, 2, (args) => f(argNumber(args, 0), argNumber(args, 1)));
}

function setOp(name: string, f: (a: RSet, b: RSet) => RSet): BuiltinDef {
  return def(name, 2, (args) => f(argSet(args, 0), argSet(args, 1)));
}

const intersect = (a: RSet, b: RSet) => {
  const out = new RSet();
  for (const v of a.values()) if (b.has(v)) out.add(v);
  return out;
};
const union = (a: RSet, b: RSet) => {
  const out = a.clone();
  for (const v of b.values()) out.add(v);
  return out;
};
const difference = (a: RSet, b: RSet) => {
  const out = new RSet();
  for (const v of a.values()) if (!b.has(v)) out.add(v);
  return out;
};

function collectionOf(args: Value[], i: number): Value[] {
  const v = args[i];
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.values();
  throw typeErr(i + 1, oneOf("set", "array"), v as Value);
}

function numbersOf(args: Value[], i: number): Num[] {
  const xs = collectionOf(args, i);
  for (const x of xs) if (!isNumber(x)) throw typeErr(i + 1, `${oneOf("set", "array")} of numbers`, `${Array.isArray(args[i]) ? "array" : "set"}`);
  return xs as Num[];
}

// ---- strings ------------------------------------------------------------------------------------
const cps = (s: string) => Array.from(s);

function trimSet(s: string, cut: string, left: boolean, right: boolean): string {
  const set = new Set(cps(cut));
  const a = cps(s);
  let i = 0;
  let j = a.length;
  if (left) while (i < j && set.has(a[i] as string)) i++;
  if (right) while (j > i && set.has(a[j - 1] as string)) j--;
  return a.slice(i, j).join("");
}

function stringsOf(args: Value[], i: number): string[] {
  const v = args[i];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) || v instanceof RSet) {
    const xs = Array.isArray(v) ? v : v.values();
    for (const x of xs)
      if (typeof x !== "string") throw new BuiltinError(`operand ${i + 1} must be ${Array.isArray(v) ? "array" : "set"} of strings but got ${Array.isArray(v) ? "array" : "set"} containing ${typeName(x)}`, "eval_type_error");
    return xs as string[];
  }
  throw typeErr(i + 1, oneOf("string", "set", "array"), v as Value);
}

/** Go fmt-like sprintf, enough for OPA policies. */
export function sprintf(format: string, args: Value[]): string {
  let out = "";
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    let j = i + 1;
    let flags = "";
    while (j < format.length && "+-# 0".includes(format[j] as string)) flags += format[j++];
    let width = "";
    while (j < format.length && /\d/.test(format[j] as string)) width += format[j++];
    let prec: number | undefined;
    if (format[j] === ".") {
      j++;
      let p = "";
      while (j < format.length && /\d/.test(format[j] as string)) p += format[j++];
      prec = p === "" ? 0 : Number(p);
    }
    const verb = format[j];
    i = j;
    if (verb === undefined) {
      out += "%!(NOVERB)";
      break;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++] as Value;
    let s: string;
    switch (verb) {
      case "v":
      case "s":
        s = typeof a === "string" ? a : isNumber(a) ? numToString(a) : toRegoString(a);
        break;
      case "q":
        s = typeof a === "string" ? JSON.stringify(a) : toRegoString(a);
        break;
      case "d":
        s = isNumber(a) && isInteger(a) ? toBigInt(a).toString() : `%!d(${goTypeName(a)}=${fmtV(a)})`;
        break;
      case "t":
        s = typeof a === "boolean" ? String(a) : `%!t(${goTypeName(a)}=${fmtV(a)})`;
        break;
      case "f":
      case "F":
        s = isNumber(a) ? toJSNumber(a).toFixed(prec ?? 6) : `%!f(${goTypeName(a)}=${fmtV(a)})`;
        break;
      case "e":
      case "E": {
        if (!isNumber(a)) {
          s = `%!e(${goTypeName(a)}=${fmtV(a)})`;
          break;
        }
        s = toJSNumber(a).toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
        if (verb === "E") s = s.toUpperCase();
        break;
      }
      case "g":
      case "G":
        s = isNumber(a) ? (prec !== undefined ? String(Number(toJSNumber(a).toPrecision(prec || 1))) : numToString(a)) : `%!g(${goTypeName(a)}=${fmtV(a)})`;
        break;
      case "x":
      case "X":
      case "o":
      case "b": {
        const base = verb === "o" ? 8 : verb === "b" ? 2 : 16;
        if (isNumber(a) && isInteger(a)) s = toBigInt(a).toString(base);
        else if (typeof a === "string" && base === 16) s = Buffer.from(a, "utf8").toString("hex");
        else s = `%!${verb}(${goTypeName(a)}=${fmtV(a)})`;
        if (verb === "X") s = s.toUpperCase();
        break;
      }
      default:
        s = `%!${verb}(${goTypeName(a)}=${fmtV(a)})`;
    }
    if (flags.includes("+") && isNumber(a) && !s.startsWith("-") && "dfeEgG".includes(verb)) s = `+${s}`;
    if (prec !== undefined && (verb === "s" || verb === "v") && typeof a === "string") s = cps(s).slice(0, prec).join("");
    if (width) {
      const w = Number(width);
      const len = cps(s).length;
      if (len < w) {
        if (flags.includes("-")) s = s + " ".repeat(w - len);
        else if (flags.includes("0") && isNumber(a)) {
          const neg = s.startsWith("-") || s.startsWith("+");
          s = neg ? s[0] + "0".repeat(w - len) + s.slice(1) : "0".repeat(w - len) + s;
        } else s = " ".repeat(w - len) + s;
      }
    }
    out += s;
  }
  if (ai < args.length) out += `%!(EXTRA ${args.slice(ai).map((a) => `${goTypeName(a)}=${fmtV(a)}`).join(", ")})`;
  return out;
}
function fmtV(a: Value): string {
  return typeof a === "string" ? a : isNumber(a) ? numToString(a) : toRegoString(a);
}
function goTypeName(a: Value): string {
  if (typeof a === "string") return "string";
  if (typeof a === "boolean") return "bool";
  if (isNumber(a)) return isInteger(a) ? "*big.Int" : "float64";
  return "ast.Term";
}

// ---- objects ------------------------------------------------------------------------------------
function keysOf(args: Value[], i: number, name = ""): Value[] {
  const v = args[i];
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.values();
  if (v instanceof RObject) return v.keys();
  void name;
  throw typeErr(i + 1, oneOf("object", "set", "array"), v as Value);
}

function deepUnion(a: Value, b: Value): Value {
  if (a instanceof RObject && b instanceof RObject) {
    const o = a.clone();
    for (const [k, v] of b.entries()) {
      const prev = o.get(k);
      o.set(k, prev === undefined ? v : deepUnion(prev, v));
    }
    return o;
  }
  return b;
}

function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    for (const [k, v] of sub.entries()) {
      const sv = sup.get(k);
      if (sv === undefined) return false;
      if (sv instanceof RObject && v instanceof RObject) {
        if (!isSubset(sv, v)) return false;
      } else if (sv instanceof RSet && v instanceof RSet) {
        if (!isSubset(sv, v)) return false;
      } else if (Array.isArray(sv) && Array.isArray(v)) {
        if (!isSubset(sv, v)) return false;
      } else if (!equal(sv, v)) return false;
    }
    return true;
  }
  if (sup instanceof RSet && sub instanceof RSet) {
    for (const v of sub.values()) if (!sup.has(v)) return false;
    return true;
  }
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      let ok = true;
      for (let j = 0; j < sub.length; j++)
        if (!equal(sup[i + j] as Value, sub[j] as Value)) {
          ok = false;
          break;
        }
      if (ok) return true;
    }
    return false;
  }
  if (Array.isArray(sup) && sub instanceof RSet) {
    const s = RSet.from(sup);
    for (const v of sub.values()) if (!s.has(v)) return false;
    return true;
  }
  return equal(sup, sub);
}

function getIn(v: Value, k: Value): Value | undefined {
  if (v instanceof RObject) return v.get(k);
  if (Array.isArray(v)) return typeof k === "number" && Number.isInteger(k) && k >= 0 && k < v.length ? v[k] : undefined;
  if (v instanceof RSet) return v.has(k) ? k : undefined;
  return undefined;
}

// ---- walk -------------------------------------------------------------------------------------
function walk(v: Value, path: Value[], out: Value[]): void {
  out.push([path.slice(), v]);
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], out));
  else if (v instanceof RObject) for (const [k, x] of v.entries()) walk(x, [...path, k], out);
  else if (v instanceof RSet) for (const x of v.values()) walk(x, [...path, x], out);
}

function toNumber(v: Value): Value | undefined {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (isNumber(v)) return v;
  if (typeof v === "string") {
    const t = v.trim() === v ? v : "";
    if (/^[+-]?(inf|infinity|nan)$/i.test(t)) throw new BuiltinError("invalid syntax", "eval_type_error");
    const n = numFromString(t.startsWith("+") ? t.slice(1) : t);
    if (n === undefined) {
      if (/^0x[0-9a-f]+$/i.test(t)) return numFromBigInt(BigInt(t));
      throw new BuiltinError(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  throw typeErr(1, oneOf("null", "boolean", "number", "string"), v);
}

function rangeOf(a: Num, b: Num, step: Num): Value[] {
  const out: Value[] = [];
  const up = numCompare(a, b) <= 0;
  let x = a;
  const lim = 10_000_000;
  while (up ? numCompare(x, b) <= 0 : numCompare(x, b) >= 0) {
    out.push(x);
    if (out.length > lim) throw new BuiltinError("range too large");
    x = up ? numAdd(x, step) : numSub(x, step);
  }
  return out;
}

function argIntNum(args: Value[], i: number): Num {
  const v = argNumber(args, i);
  if (!isInteger(v)) throw new BuiltinError(`operand ${i + 1} must be integer number but got floating-point number`, "eval_type_error");
  return v;
}

export const builtins: BuiltinDef[] = [
  cmp("equal", (c) => c === 0),
  cmp("neq", (c) => c !== 0),
  cmp("lt", (c) => c < 0),
  cmp("lte", (c) => c <= 0),
  cmp("gt", (c) => c > 0),
  cmp("gte", (c) => c >= 0),

  numOp("plus", numAdd),
  def("minus", 2, (args) => {
    const [a, b] = args;
    if (isNumber(a) && isNumber(b)) return numSub(a, b);
    if (a instanceof RSet && b instanceof RSet) return difference(a, b);
    if (!isNumber(a) && !(a instanceof RSet)) throw typeErr(1, oneOf("number", "set"), a as Value);
    throw typeErr(2, isNumber(a) ? "number" : "set", b as Value);
  }),
  numOp("mul", numMul),
  numOp("div", (a, b) => {
    const r = numDiv(a, b);
    if (r === undefined) throw new BuiltinError("divide by zero");
    return r;
  }),
  numOp("rem", (a, b) => {
    if (!isInteger(a) || !isInteger(b)) throw new BuiltinError("modulo on floating-point number");
    const r = numRem(a, b);
    if (r === undefined) throw new BuiltinError("modulo by zero");
    return r;
  }),
  def("abs", 1, (args) => {
    const a = argNumber(args, 0);
    return numCompare(a, 0) < 0 ? numNeg(a) : a;
  }),
  def("round", 1, (args) => numRound(argNumber(args, 0), "round")),
  def("ceil", 1, (args) => numRound(argNumber(args, 0), "ceil")),
  def("floor", 1, (args) => numRound(argNumber(args, 0), "floor")),
  def("numbers.range", 2, (args) => rangeOf(argIntNum(args, 0), argIntNum(args, 1), 1)),
  def("numbers.range_step", 3, (args) => {
    const a = argIntNum(args, 0);
    const b = argIntNum(args, 1);
    const s = argIntNum(args, 2);
    if (numCompare(s, 0) <= 0) throw new BuiltinError("step must be a positive integer above zero");
    return rangeOf(a, b, s);
  }),
  setOp("and", intersect),
  setOp("or", union),

  // aggregates
  def("count", 1, ([x]) => {
    if (typeof x === "string") return cps(x).length;
    if (Array.isArray(x)) return x.length;
    if (x instanceof RObject || x instanceof RSet) return x.size;
    throw typeErr(1, oneOf("array", "object", "set", "string"), x as Value);
  }),
  def("sum", 1, (args) => numbersOf(args, 0).reduce<Num>((a, b) => numAdd(a, b), 0)),
  def("product", 1, (args) => numbersOf(args, 0).reduce<Num>((a, b) => numMul(a, b), 1)),
  def("max", 1, (args) => {
    const xs = collectionOf(args, 0);
    if (xs.length === 0) return undefined;
    return xs.reduce((a, b) => (compare(a, b) >= 0 ? a : b));
  }),
  def("min", 1, (args) => {
    const xs = collectionOf(args, 0);
    if (xs.length === 0) return undefined;
    return xs.reduce((a, b) => (compare(a, b) <= 0 ? a : b));
  }),
  def("sort", 1, (args) => {
    const v = args[0];
    if (Array.isArray(v)) return [...v].sort(compare);
    if (v instanceof RSet) return v.values().slice();
    throw typeErr(1, oneOf("array", "set"), v as Value);
  }),

  // arrays
  def("array.concat", 2, (args) => [...argArray(args, 0), ...argArray(args, 1)]),
  def("array.slice", 3, (args) => {
    const a = argArray(args, 0);
    let s = argInt(args, 1);
    let e = argInt(args, 2);
    if (s < 0) s = 0;
    if (e > a.length) e = a.length;
    if (s >= e) return [];
    return a.slice(s, e);
  }),
  def("array.reverse", 1, (args) => [...argArray(args, 0)].reverse()),

  // sets
  def("intersection", 1, (args) => {
    const s = argSet(args, 0);
    const xs = s.values();
    for (const x of xs) if (!(x instanceof RSet)) throw typeErr(1, "set of sets", "set");
    if (xs.length === 0) return new RSet();
    return (xs as RSet[]).reduce((a, b) => intersect(a, b));
  }),
  def("union", 1, (args) => {
    const s = argSet(args, 0);
    const out = new RSet();
    for (const x of s.values()) {
      if (!(x instanceof RSet)) throw typeErr(1, "set of sets", "set");
      for (const v of x.values()) out.add(v);
    }
    return out;
  }),

  // objects
  def("object.get", 3, (args) => {
    const o = argObject(args, 0);
    const key = args[1] as Value;
    const dflt = args[2] as Value;
    if (Array.isArray(key)) {
      let cur: Value = o;
      for (const k of key) {
        const n = getIn(cur, k);
        if (n === undefined) return dflt;
        cur = n;
      }
      return cur;
    }
    return o.get(key) ?? dflt;
  }),
  def("object.remove", 2, (args) => {
    const o = argObject(args, 0);
    const ks = keysOf(args, 1);
    const out = o.clone();
    for (const k of ks) out.delete(k);
    return out;
  }),
  def("object.filter", 2, (args) => {
    const o = argObject(args, 0);
    const ks = keysOf(args, 1);
    const out = new RObject();
    for (const k of ks) {
      const v = o.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }),
  def("object.union", 2, (args) => deepUnion(argObject(args, 0), argObject(args, 1))),
  def("object.union_n", 1, (args) => {
    const xs = argArray(args, 0);
    let out: Value = new RObject();
    for (const x of xs) {
      if (!(x instanceof RObject)) throw typeErr(1, "array of objects", "array");
      out = deepUnion(out, x);
    }
    return out;
  }),
  def("object.keys", 1, (args) => RSet.from(argObject(args, 0).keys())),
  def("object.subset", 2, (args) => {
    const [a, b] = args as [Value, Value];
    const ok = (v: Value) => v instanceof RObject || v instanceof RSet || Array.isArray(v);
    if (!ok(a)) throw typeErr(1, oneOf("object", "set", "array"), a);
    if (!ok(b)) throw typeErr(2, oneOf("object", "set", "array"), b);
    if (a instanceof RObject && !(b instanceof RObject)) throw typeErr(2, "object", b);
    if (a instanceof RSet && !(b instanceof RSet)) throw typeErr(2, "set", b);
    return isSubset(a, b);
  }),

  // strings
  def("concat", 2, (args) => {
    const d = argString(args, 0);
    const v = args[1];
    const xs = Array.isArray(v) ? v : v instanceof RSet ? v.values() : undefined;
    if (!xs) throw typeErr(2, oneOf("set", "array"), v as Value);
    for (const x of xs) if (typeof x !== "string") throw typeErr(2, `${oneOf("set", "array")} of strings`, Array.isArray(v) ? "array" : "set");
    return (xs as string[]).join(d);
  }),
  def("contains", 2, (args) => argString(args, 0).includes(argString(args, 1))),
  def("startswith", 2, (args) => argString(args, 0).startsWith(argString(args, 1))),
  def("endswith", 2, (args) => argString(args, 0).endsWith(argString(args, 1))),
  def("lower", 1, (args) => argString(args, 0).toLowerCase()),
  def("upper", 1, (args) => argString(args, 0).toUpperCase()),
  def("split", 2, (args) => {
    const s = argString(args, 0);
    const d = argString(args, 1);
    return d === "" ? cps(s) : s.split(d);
  }),
  def("replace", 3, (args) => {
    const s = argString(args, 0);
    const o = argString(args, 1);
    const n = argString(args, 2);
    if (o === "") return cps(s).reduce((acc, c) => acc + c + n, n);
    return s.split(o).join(n);
  }),
  def("strings.replace_n", 2, (args) => {
    const pats = argObject(args, 0);
    const s = argString(args, 1);
    const pairs: [string, string][] = [];
    for (const [k, v] of pats.entries()) {
      if (typeof k !== "string") throw new BuiltinError("operand 1 non-string key found in pattern object", "eval_type_error");
      if (typeof v !== "string") throw new BuiltinError("operand 1 non-string value found in pattern object", "eval_type_error");
      pairs.push([k, v]);
    }
    let out = "";
    let i = 0;
    while (i < s.length) {
      let hit = false;
      for (const [o, n] of pairs) {
        if (o !== "" && s.startsWith(o, i)) {
          out += n;
          i += o.length;
          hit = true;
          break;
        }
      }
      if (!hit) out += s[i++];
    }
    return out;
  }),
  def("trim", 2, (args) => trimSet(argString(args, 0), argString(args, 1), true, true)),
  def("trim_left", 2, (args) => trimSet(argString(args, 0), argString(args, 1), true, false)),
  def("trim_right", 2, (args) => trimSet(argString(args, 0), argString(args, 1), false, true)),
  def("trim_prefix", 2, (args) => {
    const s = argString(args, 0);
    const p = argString(args, 1);
    return s.startsWith(p) ? s.slice(p.length) : s;
  }),
  def("trim_suffix", 2, (args) => {
    const s = argString(args, 0);
    const p = argString(args, 1);
    return p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  }),
  def("trim_space", 1, (args) => argString(args, 0).replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, "")),
  def("substring", 3, (args) => {
    const s = argString(args, 0);
    const start = argInt(args, 1);
    const len = argInt(args, 2);
    if (start < 0) throw new BuiltinError("negative offset");
    const a = cps(s);
    if (start >= a.length) return "";
    if (len < 0) return a.slice(start).join("");
    return a.slice(start, start + len).join("");
  }),
  def("indexof", 2, (args) => {
    const s = argString(args, 0);
    const sub = argString(args, 1);
    const i = s.indexOf(sub);
    if (i < 0) return -1;
    return cps(s.slice(0, i)).length;
  }),
  def("indexof_n", 2, (args) => {
    const s = argString(args, 0);
    const sub = argString(args, 1);
    const out: Value[] = [];
    if (sub === "") return out;
    let i = s.indexOf(sub);
    while (i >= 0) {
      out.push(cps(s.slice(0, i)).length);
      i = s.indexOf(sub, i + 1);
    }
    return out;
  }),
  def("sprintf", 2, (args) => sprintf(argString(args, 0), argArray(args, 1))),
  def("format_int", 2, (args) => {
    const n = argNumber(args, 0);
    const base = argNumber(args, 1);
    if (![2, 8, 10, 16].includes(base as number)) throw new BuiltinError("operand 2 must be one of {2, 8, 10, 16}", "eval_type_error");
    const i = toBigInt(numRound(n, n instanceof BigNum || (n as number) >= 0 ? "floor" : "ceil"));
    return i.toString(base as number);
  }),
  def("strings.reverse", 1, (args) => cps(argString(args, 0)).reverse().join("")),
  def("strings.any_prefix_match", 2, (args) => {
    const ss = stringsOf(args, 0);
    const ps = stringsOf(args, 1);
    return ss.some((s) => ps.some((p) => s.startsWith(p)));
  }),
  def("strings.any_suffix_match", 2, (args) => {
    const ss = stringsOf(args, 0);
    const ps = stringsOf(args, 1);
    return ss.some((s) => ps.some((p) => s.endsWith(p)));
  }),
  def("strings.count", 2, (args) => {
    const s = argString(args, 0);
    const sub = argString(args, 1);
    if (sub === "") return cps(s).length + 1;
    return s.split(sub).length - 1;
  }),

  // types
  def("is_number", 1, ([x]) => isNumber(x)),
  def("is_string", 1, ([x]) => typeof x === "string"),
  def("is_boolean", 1, ([x]) => typeof x === "boolean"),
  def("is_array", 1, ([x]) => Array.isArray(x)),
  def("is_set", 1, ([x]) => x instanceof RSet),
  def("is_object", 1, ([x]) => x instanceof RObject),
  def("is_null", 1, ([x]) => x === null),
  def("type_name", 1, ([x]) => typeName(x as Value)),
  def("to_number", 1, ([x]) => toNumber(x as Value)),

  // misc
  def("walk", 1, ([x]) => {
    const out: Value[] = [];
    walk(x as Value, [], out);
    return out;
  }, { relation: true }),
  def("internal.member_2", 2, ([x, c]) => {
    if (Array.isArray(c)) return c.some((v) => equal(v, x as Value));
    if (c instanceof RSet) return c.has(x as Value);
    if (c instanceof RObject) return c.values().some((v) => equal(v, x as Value));
    return false;
  }),
  def("internal.member_3", 3, ([k, x, c]) => {
    const v = getIn(c as Value, k as Value);
    if (c instanceof RSet) return false;
    return v !== undefined && equal(v, x as Value);
  }),
  def("graph.reachable", 2, (args) => {
    const g = argObject(args, 0);
    const queue = [...collectionOf(args, 1)];
    const reached = new RSet();
    while (queue.length) {
      const n = queue.shift() as Value;
      if (reached.has(n)) continue;
      const edges = g.get(n);
      if (edges === undefined) continue;
      reached.add(n);
      if (Array.isArray(edges)) queue.push(...edges);
      else if (edges instanceof RSet) queue.push(...edges.values());
    }
    return reached;
  }),
  def("print", 1, () => true),
  def("trace", 1, (args, ctx) => {
    ctx.print(argString(args, 0));
    return true;
  }),
];
