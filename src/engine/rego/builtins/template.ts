/**
 * strings.render_template: a Go text/template interpreter over plain JSON data.
 *
 * Supported: text and {{actions}} with trim markers, comments, pipelines with `|`, fields
 * (.a.b, $x.a), variables ($x := / $x =), literals, parenthesised pipelines, if / else if /
 * else, range (with $i, $v := and else), with / else, define / template / block, break /
 * continue, and the builtin functions and, or, not, len, index, slice, print, printf, println,
 * eq, ne, lt, le, gt, ge, html, js, urlquery. A missing map key renders as "<undefined>" (as in
 * OPA); errors are Go-like ("template: template:1:5: ...").
 */
import { BigNum, type RObject, RSet, type Value } from "../value.ts";
import { argObject, argString, type BuiltinDef, BuiltinError, def } from "./registry.ts";

class TplError extends Error {}

const MISSING = Symbol("missing");
type TVal = unknown;

// ---- lexer + parser --------------------------------------------------------------------------

type Node =
  | { k: "text"; s: string }
  | { k: "action"; pipe: Pipe }
  | { k: "if" | "with"; pipe: Pipe; body: Node[]; else?: Node[] }
  | { k: "range"; pipe: Pipe; body: Node[]; else?: Node[] }
  | { k: "template"; name: string; pipe?: Pipe }
  | { k: "break" | "continue" };

interface Pipe {
  decl: string[];
  assign: boolean; // '=' instead of ':='
  cmds: Arg[][];
}

type Arg =
  | { k: "field"; base: "dot" | "var"; name?: string; path: string[] }
  | { k: "lit"; v: TVal }
  | { k: "ident"; name: string }
  | { k: "pipe"; pipe: Pipe; path: string[] };

interface Tok {
  t: "text" | "action";
  s: string;
  line: number;
}

function splitTemplate(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let trimNextText = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, "");
    trimNextText = false;
    if (open < 0) {
      if (text) out.push({ t: "text", s: text, line });
      break;
    }
    let start = open + 2;
    if (src.startsWith("- ", start) || src.startsWith("-\t", start) || src.startsWith("-\n", start) || src.startsWith("-\r", start)) {
      text = text.replace(/[ \t\r\n]+$/, "");
      start += 1;
    }
    if (text) out.push({ t: "text", s: text, line });
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    // find the closing }} outside of string literals / comments
    let j = start;
    let quote = "";
    let close = -1;
    if (src.slice(start).trimStart().startsWith("/*")) {
      const e = src.indexOf("*/", start);
      if (e < 0) throw new TplError(`template: template:${line}: unclosed comment`);
      close = src.indexOf("}}", e + 2);
    } else {
      for (; j < src.length; j++) {
        const c = src[j];
        if (quote) {
          if (c === "\\" && quote !== "`") j++;
          else if (c === quote) quote = "";
          continue;
        }
        if (c === '"' || c === "`" || c === "'") quote = c;
        else if (c === "}" && src[j + 1] === "}") {
          close = j;
          break;
        }
      }
    }
    if (close < 0) throw new TplError(`template: template:${line}: unclosed action`);
    let body = src.slice(start, close);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      trimNextText = true;
    }
    out.push({ t: "action", s: body.trim(), line });
    line += (src.slice(open, close).match(/\n/g) ?? []).length;
    i = close + 2;
  }
  return out;
}

/** Tokenize an action body into words (respecting strings and parens). */
function words(s: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === "|" || c === ",") {
      out.push(c);
      i++;
      continue;
    }
    if (c === ":" && s[i + 1] === "=") {
      out.push(":=");
      i += 2;
      continue;
    }
    if (c === "=" && s[i + 1] !== "=") {
      out.push("=");
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < s.length && s[j] !== c) j += s[j] === "\\" ? 2 : 1;
      if (j >= s.length) throw new TplError(`template: template:${line}: unterminated quoted string`);
      out.push(s.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = s.indexOf("`", i + 1);
      if (j < 0) throw new TplError(`template: template:${line}: unterminated raw quoted string`);
      out.push(s.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < s.length && !/[\s()|,]/.test(s[j] as string) && !(s[j] === ":" && s[j + 1] === "=")) j++;
    // a field chain may follow a closing paren: handled by the parser via ".x" words
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

function parseLiteral(w: string, line: number): TVal | undefined {
  if (w === "true") return true;
  if (w === "false") return false;
  if (w === "nil") return null;
  if (w.startsWith('"')) {
    try {
      return JSON.parse(w);
    } catch {
      throw new TplError(`template: template:${line}: bad string syntax: ${w}`);
    }
  }
  if (w.startsWith("`")) return w.slice(1, -1);
  if (w.startsWith("'")) {
    const inner = w.slice(1, -1);
    const ch = inner.startsWith("\\") ? (JSON.parse(`"${inner}"`) as string) : inner;
    return ch.codePointAt(0) ?? 0;
  }
  if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/.test(w)) return Number(w);
  return undefined;
}

function parsePipeWords(ws: string[], line: number): Pipe {
  let pos = 0;
  const pipe: Pipe = { decl: [], assign: false, cmds: [] };
  // declarations: $x := / $i, $v := / $x =
  const declEnd = ws.findIndex((w) => w === ":=" || w === "=");
  if (declEnd > 0 && ws.slice(0, declEnd).every((w) => w === "," || w.startsWith("$"))) {
    pipe.decl = ws.slice(0, declEnd).filter((w) => w !== ",");
    pipe.assign = ws[declEnd] === "=";
    pos = declEnd + 1;
  }
  const parseArg = (): Arg => {
    const w = ws[pos++] as string;
    if (w === "(") {
      let depth = 1;
      const start = pos;
      while (pos < ws.length && depth > 0) {
        if (ws[pos] === "(") depth++;
        else if (ws[pos] === ")") depth--;
        pos++;
      }
      if (depth !== 0) throw new TplError(`template: template:${line}: unclosed left paren`);
      const inner = parsePipeWords(ws.slice(start, pos - 1), line);
      const path: string[] = [];
      while (pos < ws.length && (ws[pos] as string).startsWith(".") && (ws[pos] as string).length > 1) {
        path.push(...(ws[pos] as string).slice(1).split("."));
        pos++;
      }
      return { k: "pipe", pipe: inner, path };
    }
    if (w === ".") return { k: "field", base: "dot", path: [] };
    if (w.startsWith(".")) return { k: "field", base: "dot", path: w.slice(1).split(".") };
    if (w.startsWith("$")) {
      const [name, ...path] = w.split(".");
      return { k: "field", base: "var", name, path };
    }
    const lit = parseLiteral(w, line);
    if (lit !== undefined) return { k: "lit", v: lit };
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) return { k: "ident", name: w };
    throw new TplError(`template: template:${line}: unexpected "${w}" in command`);
  };
  let cmd: Arg[] = [];
  while (pos < ws.length) {
    if (ws[pos] === "|") {
      if (cmd.length === 0) throw new TplError(`template: template:${line}: missing command`);
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    cmd.push(parseArg());
  }
  if (cmd.length) pipe.cmds.push(cmd);
  if (pipe.cmds.length === 0) throw new TplError(`template: template:${line}: missing value for command`);
  return pipe;
}

function parseTemplate(src: string): { root: Node[]; defs: Map<string, Node[]> } {
  const toks = splitTemplate(src);
  const defs = new Map<string, Node[]>();
  let i = 0;
  const parseList = (stopAt: string[]): { nodes: Node[]; stop: string; stopTok?: Tok } => {
    const nodes: Node[] = [];
    while (i < toks.length) {
      const t = toks[i++] as Tok;
      if (t.t === "text") {
        nodes.push({ k: "text", s: t.s });
        continue;
      }
      const body = t.s;
      if (body.startsWith("/*")) continue;
      const ws = words(body, t.line);
      const kw = ws[0] ?? "";
      if (stopAt.includes(kw)) return { nodes, stop: kw, stopTok: t };
      switch (kw) {
        case "if":
        case "with":
        case "range": {
          const pipe = parsePipeWords(ws.slice(1), t.line);
          const node = parseControl(kw, pipe, t);
          nodes.push(node);
          break;
        }
        case "define": {
          const name = parseLiteral(ws[1] ?? "", t.line);
          const r = parseList(["end"]);
          if (r.stop !== "end") throw new TplError(`template: template:${t.line}: unexpected EOF`);
          defs.set(String(name), r.nodes);
          break;
        }
        case "block": {
          const name = String(parseLiteral(ws[1] ?? "", t.line));
          const pipe = ws.length > 2 ? parsePipeWords(ws.slice(2), t.line) : undefined;
          const r = parseList(["end"]);
          defs.set(name, r.nodes);
          nodes.push({ k: "template", name, pipe });
          break;
        }
        case "template": {
          const name = String(parseLiteral(ws[1] ?? "", t.line));
          const pipe = ws.length > 2 ? parsePipeWords(ws.slice(2), t.line) : undefined;
          nodes.push({ k: "template", name, pipe });
          break;
        }
        case "break":
        case "continue":
          nodes.push({ k: kw });
          break;
        case "end":
        case "else":
          throw new TplError(`template: template:${t.line}: unexpected {{${kw}}}`);
        default:
          nodes.push({ k: "action", pipe: parsePipeWords(ws, t.line) });
      }
    }
    return { nodes, stop: "" };
  };
  const parseControl = (kw: "if" | "with" | "range", pipe: Pipe, t: Tok): Node => {
    const r = parseList(["end", "else"]);
    if (r.stop === "") throw new TplError(`template: template:${t.line}: unexpected EOF`);
    const node = { k: kw, pipe, body: r.nodes } as Node & { else?: Node[] };
    if (r.stop === "else") {
      const ws = words((r.stopTok as Tok).s, t.line);
      if (ws[1] === "if" || ws[1] === "with") {
        // else if ... / else with ...: a nested control that shares our {{end}}
        const inner = parseControl(ws[1] as "if" | "with", parsePipeWords(ws.slice(2), t.line), t);
        node.else = [inner];
      } else {
        const e = parseList(["end"]);
        if (e.stop !== "end") throw new TplError(`template: template:${t.line}: unexpected EOF`);
        node.else = e.nodes;
      }
    }
    return node;
  };
  const r = parseList([]);
  return { root: r.nodes, defs };
}

// ---- evaluation ---------------------------------------------------------------------------------

/** Rego Value → template data: objects → Map, sets/arrays → arrays, numbers → number|bigint. */
function toData(v: Value): TVal {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof BigNum) return v.isInt ? v.m * 10n ** BigInt(v.e) : Number(`${v.m}e${v.e}`);
  if (Array.isArray(v)) return v.map(toData);
  if (v instanceof RSet) return v.values().map(toData);
  const m = new Map<string, TVal>();
  for (const [k, val] of (v as RObject).entries()) m.set(typeof k === "string" ? k : JSON.stringify(k), toData(val));
  return m;
}

function truth(v: TVal): boolean {
  if (v === null || v === undefined || v === MISSING) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "bigint") return v !== 0n;
  if (typeof v === "string") return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/** fmt %v of a value. */
function show(v: TVal): string {
  if (v === MISSING) return "<undefined>";
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v).replace("e+", "e+");
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(" ")}]`;
  if (v instanceof Map) {
    const keys = [...v.keys()].sort();
    return `map[${keys.map((k) => `${k}:${show(v.get(k))}`).join(" ")}]`;
  }
  return String(v);
}

function sprintf(format: string, args: TVal[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqtfxXeEgGco%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === "%") return "%";
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case "d":
        s = typeof a === "number" || typeof a === "bigint" ? String(typeof a === "number" ? Math.trunc(a) : a) : `%!d(${show(a)})`;
        break;
      case "q":
        s = JSON.stringify(show(a));
        break;
      case "f":
      case "e":
      case "E":
      case "g":
      case "G": {
        const n = Number(a);
        s = verb === "f" ? n.toFixed(prec ? Number(prec) : 6) : verb.toLowerCase() === "e" ? n.toExponential(prec ? Number(prec) : 6) : String(n);
        break;
      }
      case "x":
      case "X":
        s = typeof a === "string" ? Buffer.from(a).toString("hex") : Number(a).toString(16);
        if (verb === "X") s = s.toUpperCase();
        break;
      case "c":
        s = String.fromCodePoint(Number(a));
        break;
      case "o":
        s = Number(a).toString(8);
        break;
      default:
        s = show(a);
    }
    if (width) {
      const w = Number(width);
      s = flags.includes("-") ? s.padEnd(w) : s.padStart(w, flags.includes("0") && verb !== "s" && verb !== "v" ? "0" : " ");
    }
    return s;
  });
}

function cmpVals(a: TVal, b: TVal): number {
  const num = (x: TVal) => typeof x === "number" || typeof x === "bigint";
  if (num(a) && num(b)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  throw new TplError("incompatible types for comparison");
}

function eqVals(a: TVal, b: TVal): boolean {
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) return Number(a) === Number(b);
  if (a === MISSING || b === MISSING) return false;
  if (typeof a !== typeof b && !(a === null || b === null)) throw new TplError("incompatible types for comparison");
  return a === b;
}

const FUNCS: Record<string, (args: TVal[]) => TVal> = {
  not: (a) => !truth(a[0]),
  len: (a) => {
    const v = a[0];
    if (typeof v === "string") return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof Map) return v.size;
    throw new TplError(`len of type ${typeof v}`);
  },
  index: (a) => {
    let v = a[0];
    for (const k of a.slice(1)) {
      if (Array.isArray(v)) {
        const i = Number(k);
        if (!Number.isInteger(i) || i < 0 || i >= v.length) throw new TplError(`index out of range: ${show(k)}`);
        v = v[i];
      } else if (v instanceof Map) v = v.has(String(k)) ? v.get(String(k)) : MISSING;
      else throw new TplError(`can't index item of type ${typeof v}`);
    }
    return v;
  },
  slice: (a) => {
    const v = a[0];
    const i = a.length > 1 ? Number(a[1]) : 0;
    const j = a.length > 2 ? Number(a[2]) : undefined;
    if (typeof v === "string" || Array.isArray(v)) return v.slice(i, j);
    throw new TplError("can't slice item");
  },
  print: (a) => a.map((x, i) => (i > 0 && typeof x !== "string" && typeof a[i - 1] !== "string" ? " " : "") + show(x)).join(""),
  println: (a) => `${a.map(show).join(" ")}\n`,
  printf: (a) => sprintf(String(a[0]), a.slice(1)),
  eq: (a) => a.slice(1).some((b) => eqVals(a[0], b)),
  ne: (a) => !eqVals(a[0], a[1]),
  lt: (a) => cmpVals(a[0], a[1]) < 0,
  le: (a) => cmpVals(a[0], a[1]) <= 0,
  gt: (a) => cmpVals(a[0], a[1]) > 0,
  ge: (a) => cmpVals(a[0], a[1]) >= 0,
  html: (a) =>
    a
      .map(show)
      .join("")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&#34;")
      .replace(/'/g, "&#39;"),
  js: (a) =>
    a
      .map(show)
      .join("")
      .replace(/[\\'"<>&=]/g, (c) => (c === "\\" ? "\\\\" : c === "'" ? "\\'" : c === '"' ? "\\\"" : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`)),
  urlquery: (a) => encodeURIComponent(a.map(show).join("")).replace(/%20/g, "+"),
};

class Break {}
class Continue {}

class Exec {
  out = "";
  constructor(private readonly defs: Map<string, Node[]>) {}

  field(v: TVal, path: string[]): TVal {
    for (const p of path) {
      if (v === MISSING) return MISSING;
      if (v instanceof Map) v = v.has(p) ? v.get(p) : MISSING;
      else if (v === null || v === undefined) throw new TplError(`nil pointer evaluating interface {}.${p}`);
      else throw new TplError(`can't evaluate field ${p} in type ${Array.isArray(v) ? "[]interface {}" : typeof v}`);
    }
    return v;
  }

  arg(a: Arg, dot: TVal, vars: Map<string, TVal>[], final?: TVal): TVal {
    switch (a.k) {
      case "lit":
        return a.v;
      case "field": {
        if (a.base === "dot") return this.field(dot, a.path);
        const name = a.name as string;
        for (let i = vars.length - 1; i >= 0; i--) {
          const scope = vars[i] as Map<string, TVal>;
          if (scope.has(name)) return this.field(scope.get(name), a.path);
        }
        throw new TplError(`undefined variable: ${name}`);
      }
      case "pipe":
        return this.field(this.pipe(a.pipe, dot, vars), a.path);
      case "ident": {
        const f = FUNCS[a.name];
        if (!f) throw new TplError(`function "${a.name}" not defined`);
        return f(final === undefined ? [] : [final]);
      }
    }
  }

  cmd(c: Arg[], dot: TVal, vars: Map<string, TVal>[], final?: TVal): TVal {
    const first = c[0] as Arg;
    if (first.k === "ident") {
      const name = first.name;
      if (name === "and" || name === "or") {
        let v: TVal;
        const args = c.slice(1);
        const all = final === undefined ? args.map((a) => () => this.arg(a, dot, vars)) : [...args.map((a) => () => this.arg(a, dot, vars)), () => final];
        for (const f of all) {
          v = f();
          if (name === "and" ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      const f = FUNCS[name];
      if (!f) throw new TplError(`function "${name}" not defined`);
      const args = c.slice(1).map((a) => this.arg(a, dot, vars));
      if (final !== undefined) args.push(final);
      return f(args);
    }
    if (c.length > 1 || final !== undefined) throw new TplError(`can't give argument to non-function ${show(this.arg(first, dot, vars))}`);
    return this.arg(first, dot, vars);
  }

  pipe(p: Pipe, dot: TVal, vars: Map<string, TVal>[]): TVal {
    let v: TVal;
    p.cmds.forEach((c, i) => {
      v = this.cmd(c, dot, vars, i === 0 ? undefined : v);
    });
    if (p.decl.length === 1) {
      const name = p.decl[0] as string;
      if (p.assign) {
        for (let i = vars.length - 1; i >= 0; i--) {
          const scope = vars[i] as Map<string, TVal>;
          if (scope.has(name)) {
            scope.set(name, v);
            return v;
          }
        }
        throw new TplError(`undefined variable: ${name}`);
      }
      (vars[vars.length - 1] as Map<string, TVal>).set(name, v);
    }
    return v;
  }

  run(nodes: Node[], dot: TVal, vars: Map<string, TVal>[]): void {
    for (const n of nodes) {
      switch (n.k) {
        case "text":
          this.out += n.s;
          break;
        case "action": {
          const v = this.pipe(n.pipe, dot, vars);
          if (n.pipe.decl.length === 0) this.out += show(v);
          break;
        }
        case "if":
        case "with": {
          const scope = [...vars, new Map<string, TVal>()];
          const v = this.pipe(n.pipe, dot, scope);
          if (truth(v)) this.run(n.body, n.k === "with" ? v : dot, scope);
          else if (n.else) this.run(n.else, dot, scope);
          break;
        }
        case "range": {
          const scope = [...vars, new Map<string, TVal>()];
          const decl = n.pipe.decl;
          const p: Pipe = { ...n.pipe, decl: [] };
          const v = this.pipe(p, dot, scope);
          let items: [TVal, TVal][] = [];
          if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
          else if (v instanceof Map) items = [...v.keys()].sort().map((k) => [k, v.get(k)]);
          else if (typeof v === "number" && Number.isInteger(v)) items = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
          else if (v === null || v === undefined || v === MISSING) items = [];
          else throw new TplError(`range can't iterate over ${show(v)}`);
          if (items.length === 0) {
            if (n.else) this.run(n.else, dot, scope);
            break;
          }
          for (const [k, x] of items) {
            const inner = new Map<string, TVal>();
            if (decl.length === 1) inner.set(decl[0] as string, x);
            else if (decl.length >= 2) {
              inner.set(decl[0] as string, k);
              inner.set(decl[1] as string, x);
            }
            try {
              this.run(n.body, x, [...scope, inner]);
            } catch (e) {
              if (e instanceof Break) break;
              if (e instanceof Continue) continue;
              throw e;
            }
          }
          break;
        }
        case "template": {
          const body = this.defs.get(n.name);
          if (!body) throw new TplError(`no such template "${n.name}"`);
          const d = n.pipe ? this.pipe(n.pipe, dot, vars) : null;
          this.run(body, d, [new Map([["$", d]])]);
          break;
        }
        case "break":
          throw new Break();
        case "continue":
          throw new Continue();
      }
    }
  }
}

export function renderTemplate(src: string, data: Value): string {
  try {
    const { root, defs } = parseTemplate(src);
    const d = toData(data);
    const ex = new Exec(defs);
    ex.run(root, d, [new Map([["$", d]])]);
    return ex.out;
  } catch (e) {
    if (e instanceof TplError) {
      const m = e.message.startsWith("template:") ? e.message : `template: template: executing "template": ${e.message}`;
      throw new BuiltinError(m);
    }
    throw e;
  }
}

export const builtins: BuiltinDef[] = [
  def("strings.render_template", 2, (args) => {
    const src = argString(args, 0);
    const vars = argObject(args, 1);
    return renderTemplate(src, vars);
  }),
];
