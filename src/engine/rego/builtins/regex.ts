/**
 * regex.* builtins (Go regexp semantics on RE2, see re2.ts) and glob.* builtins.
 */
import type { Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";
import { GoRegexp, quoteMeta } from "./re2.ts";

function compile(pattern: string): GoRegexp {
  try {
    return GoRegexp.compile(pattern);
  } catch (e) {
    throw new BuiltinError((e as Error).message);
  }
}

/** Integer operand (OPA's IntOperand): "operand N must be integer number but got ...". */
function intArg(args: Value[], i: number): number {
  const v = args[i] as Value;
  if (typeof v !== "number") {
    if (v !== null && typeof v === "object" && "m" in (v as object)) throw new BuiltinError(`operand ${i + 1} must be integer number but got out of range number`, "eval_type_error");
    throw typeErr(i + 1, "number", v);
  }
  if (!Number.isInteger(v)) throw new BuiltinError(`operand ${i + 1} must be integer number but got floating-point number`, "eval_type_error");
  return v;
}

// ---- regex.template_match ------------------------------------------------------------------

/** First-level delimiter spans [start, end) in s; throws on unbalanced delimiters. */
function delimiterIndices(s: string, open: string, close: string): number[] {
  let level = 0;
  let idx = 0;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === open) {
      level++;
      if (level === 1) idx = i;
    } else if (c === close) {
      level--;
      if (level === 0) out.push(idx, i + 1);
      else if (level < 0) throw new BuiltinError(`unbalanced braces in ${JSON.stringify(s)}`);
    }
  }
  if (level !== 0) throw new BuiltinError(`unbalanced braces in ${JSON.stringify(s)}`);
  return out;
}

const templateCache = new Map<string, GoRegexp>();

function compileTemplate(tpl: string, open: string, close: string): GoRegexp {
  const key = `${open}${close}${tpl}`;
  const hit = templateCache.get(key);
  if (hit) return hit;
  const idxs = delimiterIndices(tpl, open, close);
  let pattern = "^";
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(end, idxs[i]);
    end = idxs[i + 1] as number;
    const patt = tpl.slice((idxs[i] as number) + 1, end - 1);
    pattern += `${quoteMeta(raw)}(${patt})`;
    compile(`^${patt}$`);
  }
  pattern += `${quoteMeta(tpl.slice(end))}$`;
  const re = compile(pattern);
  if (templateCache.size > 1000) templateCache.clear();
  templateCache.set(key, re);
  return re;
}

// ---- regex.globs_match: intersection of two "regex-like globs" -------------------------------
//
// Syntax (as OPA's glob-intersection library): '.' any char, '[...]' a set with ranges, '\'
// escapes, postfix '+' / '*' on the preceding token. True when some non-empty string matches both.

interface GToken {
  kind: "char" | "dot" | "set";
  ch?: number;
  set?: Set<number>;
  flag: "" | "+" | "*";
}

function globErr(input: number[], pos: number, msg: string): BuiltinError {
  return new BuiltinError(`input:${String.fromCodePoint(...input)}, pos:${pos}, ${msg}: the input provided is invalid`);
}

function tokenizeGlob(s: string): GToken[] {
  const input = Array.from(s).map((c) => c.codePointAt(0) as number);
  const tokens: GToken[] = [];
  const BS = 0x5c;
  const next = (i: number): { i: number; r: number; esc: boolean } | undefined => {
    if (i >= input.length) return undefined;
    if (input[i] === BS) {
      if (i === input.length - 1) throw globErr(input, i, "input ends with a \\ (escape) character");
      return { i: i + 2, r: input[i + 1] as number, esc: true };
    }
    return { i: i + 1, r: input[i] as number, esc: false };
  };
  let i = 0;
  for (;;) {
    const n = next(i);
    if (!n) break;
    i = n.i;
    let tok: GToken;
    const c = String.fromCodePoint(n.r);
    if (!n.esc && c === ".") tok = { kind: "dot", flag: "" };
    else if (!n.esc && c === "]") throw globErr(input, i, "set-close ']' with no preceding '['");
    else if (!n.esc && c === "[") {
      const runes = new Set<number>();
      let complete = false;
      let prev = 0;
      let prevExists = false;
      for (;;) {
        const m = next(i);
        if (!m) break;
        i = m.i;
        const mc = String.fromCodePoint(m.r);
        if (!m.esc && mc === "-") {
          if (!prevExists) throw globErr(input, i, "range character '-' must be preceded by a Unicode character");
          if (i >= input.length - 1) throw globErr(input, i, "range character '-' must be followed by a Unicode character");
          const r = next(i) as { i: number; r: number; esc: boolean };
          i = r.i;
          const rc = String.fromCodePoint(r.r);
          if (!r.esc && (rc === "]" || rc === "-")) throw globErr(input, i, "range character '-' cannot be followed by a special symbol");
          if (r.r < prev) throw globErr(input, i, `range is out of order: '${rc}' comes before '${String.fromCodePoint(prev)}' in Unicode`);
          for (let x = prev; x <= r.r; x++) runes.add(x);
          prevExists = false;
        } else if (!m.esc && mc === "]") {
          complete = true;
          break;
        } else {
          runes.add(m.r);
          prev = m.r;
          prevExists = true;
        }
      }
      if (!complete) throw globErr(input, i, "found [ without matching ]");
      tok = { kind: "set", set: runes, flag: "" };
    } else if (!n.esc && (c === "+" || c === "*")) {
      throw globErr(input, i, `flag '${c}' must be preceded by a non-flag`);
    } else tok = { kind: "char", ch: n.r, flag: "" };
    // optional flag
    if (i < input.length && input[i] !== BS) {
      const f = String.fromCodePoint(input[i] as number);
      if (f === "+" || f === "*") {
        tok.flag = f;
        i++;
      }
    }
    tokens.push(tok);
  }
  return tokens;
}

/** Can a single character match both tokens? */
function tokensMeet(a: GToken, b: GToken): boolean {
  if (a.kind === "dot") return b.kind !== "set" || (b.set as Set<number>).size > 0;
  if (b.kind === "dot") return a.kind !== "set" || (a.set as Set<number>).size > 0;
  if (a.kind === "char" && b.kind === "char") return a.ch === b.ch;
  if (a.kind === "char") return (b.set as Set<number>).has(a.ch as number);
  if (b.kind === "char") return (a.set as Set<number>).has(b.ch as number);
  const [x, y] = (a.set as Set<number>).size < (b.set as Set<number>).size ? [a.set, b.set] : [b.set, a.set];
  for (const r of x as Set<number>) if ((y as Set<number>).has(r)) return true;
  return false;
}

/**
 * Product-automaton search: state (i, j) = positions in the two token lists. A character step
 * consumes a token (or stays on a '+'/'*' token after consuming; '*' may also be skipped).
 * Non-empty intersection ⇔ both ends reachable after at least one character.
 */
function globsIntersect(g1: GToken[], g2: GToken[]): boolean {
  const seen = new Set<string>();
  type St = [number, boolean, number, boolean, boolean]; // i, plusDone1, j, plusDone2, consumedAny
  const expand = (g: GToken[], i: number, done: boolean): [number, boolean][] => {
    const out: [number, boolean][] = [];
    let k = i;
    let d = done;
    for (;;) {
      out.push([k, d]);
      const t = g[k];
      if (!t) break;
      if (t.flag === "*" || (t.flag === "+" && d)) {
        k++;
        d = false;
        continue;
      }
      break;
    }
    return out;
  };
  const stack: St[] = [[0, false, 0, false, false]];
  while (stack.length) {
    const [i0, d10, j0, d20, any] = stack.pop() as St;
    const key = `${i0},${d10 ? 1 : 0},${j0},${d20 ? 1 : 0},${any ? 1 : 0}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const [i] of expand(g1, i0, d10)) {
      for (const [j] of expand(g2, j0, d20)) {
        if (i === g1.length && j === g2.length && any) return true;
        const a = g1[i];
        const b = g2[j];
        if (!a || !b) continue;
        if (!tokensMeet(a, b)) continue;
        // after consuming one char with each token:
        const nexts1: [number, boolean][] = a.flag === "" ? [[i + 1, false]] : [[i, true]];
        const nexts2: [number, boolean][] = b.flag === "" ? [[j + 1, false]] : [[j, true]];
        for (const [ni, nd1] of nexts1) for (const [nj, nd2] of nexts2) stack.push([ni, nd1, nj, nd2, true]);
      }
    }
  }
  return false;
}

// ---- glob.match (gobwas/glob syntax) --------------------------------------------------------

const globCache = new Map<string, GoRegexp>();

function escapeClassChar(c: string): string {
  return /[\\\][^-]/.test(c) ? `\\${c}` : c;
}

/** Translate a gobwas/glob pattern with separators into an anchored RE2 pattern. */
function globToRegex(pattern: string, seps: string[]): string {
  const cps = Array.from(pattern);
  const sepClass = seps.map(escapeClassChar).join("");
  const notSep = sepClass === "" ? "(?s:.)" : `[^${sepClass}]`;
  let i = 0;
  let depth = 0;
  const parse = (): string => {
    let out = "";
    while (i < cps.length) {
      const c = cps[i] as string;
      if (c === "\\") {
        if (i + 1 >= cps.length) throw new BuiltinError("unexpected end of input");
        out += quoteMeta(cps[i + 1] as string);
        i += 2;
        continue;
      }
      if (c === "*") {
        if (cps[i + 1] === "*") {
          out += "(?s:.*)";
          i += 2;
          while (cps[i] === "*") i++;
        } else {
          out += `${notSep}*`;
          i++;
        }
        continue;
      }
      if (c === "?") {
        out += notSep;
        i++;
        continue;
      }
      if (c === "[") {
        i++;
        let neg = false;
        if (cps[i] === "!") {
          neg = true;
          i++;
        }
        let cls = "";
        let closed = false;
        let count = 0;
        while (i < cps.length) {
          const d = cps[i] as string;
          if (d === "]") {
            closed = true;
            i++;
            break;
          }
          if (d === "\\" && i + 1 < cps.length) {
            cls += escapeClassChar(cps[i + 1] as string);
            i += 2;
            count++;
            continue;
          }
          if (d === "-" && count > 0 && cps[i + 1] !== undefined && cps[i + 1] !== "]") {
            cls += `-${escapeClassChar(cps[i + 1] as string)}`;
            i += 2;
            continue;
          }
          cls += escapeClassChar(d);
          count++;
          i++;
        }
        if (!closed) throw new BuiltinError("unexpected end of input");
        if (cls === "") throw new BuiltinError("unexpected length of list: 0");
        out += neg ? `[^${cls}]` : `[${cls}]`;
        continue;
      }
      if (c === "{") {
        i++;
        depth++;
        const alts: string[] = [];
        for (;;) {
          alts.push(parse());
          const d = cps[i];
          if (d === ",") {
            i++;
            continue;
          }
          if (d === "}") {
            i++;
            break;
          }
          throw new BuiltinError("unexpected end of input");
        }
        depth--;
        out += `(?:${alts.join("|")})`;
        continue;
      }
      if (depth > 0 && (c === "," || c === "}")) return out;
      out += quoteMeta(c);
      i++;
    }
    return out;
  };
  const body = parse();
  if (i < cps.length) throw new BuiltinError(`unexpected ${cps[i]}`);
  return `^${body}$`;
}

function globCompile(pattern: string, seps: string[]): GoRegexp {
  const key = `${seps.join("")}\u0000${pattern}`;
  const hit = globCache.get(key);
  if (hit) return hit;
  const re = compile(globToRegex(pattern, seps));
  if (globCache.size > 1000) globCache.clear();
  globCache.set(key, re);
  return re;
}

/** gobwas QuoteMeta: escape glob specials. */
function globQuoteMeta(s: string): string {
  return s.replace(/[*?\\[\]{}]/g, "\\$&");
}

export const builtins: BuiltinDef[] = [
  def("regex.match", 2, (args) => {
    const p = argString(args, 0);
    const s = argString(args, 1);
    return compile(p).test(s);
  }),
  def("re_match", 2, (args) => compile(argString(args, 0)).test(argString(args, 1))),
  def("regex.is_valid", 1, ([p]) => {
    if (typeof p !== "string") return false;
    try {
      GoRegexp.compile(p);
      return true;
    } catch {
      return false;
    }
  }),
  def("regex.split", 2, (args) => {
    const p = argString(args, 0);
    const s = argString(args, 1);
    return compile(p).split(s);
  }),
  def("regex.find_n", 3, (args) => {
    const p = argString(args, 0);
    const s = argString(args, 1);
    const n = intArg(args, 2);
    return compile(p)
      .findAll(s, n, false)
      .map((m) => m.text);
  }),
  def("regex.find_all_string_submatch_n", 3, (args) => {
    const p = argString(args, 0);
    const s = argString(args, 1);
    const n = intArg(args, 2);
    return compile(p)
      .findAll(s, n, true)
      .map((m) => [m.text, ...m.groups.map((g) => g ?? "")]);
  }),
  def("regex.replace", 3, (args) => {
    const s = argString(args, 0);
    const p = argString(args, 1);
    const r = argString(args, 2);
    return compile(p).replaceAll(s, r);
  }),
  def("regex.template_match", 4, (args) => {
    const pattern = argString(args, 0);
    const match = argString(args, 1);
    const start = argString(args, 2);
    const end = argString(args, 3);
    if (new TextEncoder().encode(start).length !== 1)
      throw new BuiltinError(`start delimiter has to be exactly one character long but is ${new TextEncoder().encode(start).length} long`);
    if (new TextEncoder().encode(end).length !== 1)
      throw new BuiltinError(`end delimiter has to be exactly one character long but is ${new TextEncoder().encode(end).length} long`);
    return compileTemplate(pattern, start, end).test(match);
  }),
  def("regex.globs_match", 2, (args) => {
    const a = argString(args, 0);
    const b = argString(args, 1);
    return globsIntersect(tokenizeGlob(a), tokenizeGlob(b));
  }),
  def("glob.match", 3, (args) => {
    const pattern = argString(args, 0);
    const d = args[1] as Value;
    let seps: string[];
    if (d === null) seps = [];
    else if (Array.isArray(d)) {
      seps = d.map((e) => {
        if (typeof e !== "string") throw new BuiltinError(`operand 2 must be array of strings but got array containing ${typeof e}`, "eval_type_error");
        const cps = Array.from(e);
        if (cps.length !== 1) throw new BuiltinError(`operand 2 must be array of runes but got ${JSON.stringify(e)}`, "eval_type_error");
        return cps[0] as string;
      });
      if (seps.length === 0) seps = ["."];
    } else throw typeErr(2, "one of {array, null}", d);
    const s = argString(args, 2);
    return globCompile(pattern, seps).test(s);
  }),
  def("glob.quote_meta", 1, (args) => globQuoteMeta(argString(args, 0))),
];
