/**
 * Hand-written Rego lexer. Produces tokens with 1-based line/col and a flag telling whether a
 * newline was skipped before the token (newlines separate body expressions).
 */
import { RegoError } from "./errors.ts";

export type TokKind = "ident" | "number" | "string" | "rawstring" | "template" | "punct" | "eof";

export interface Token {
  kind: TokKind;
  /** Identifier name, punctuation text, number literal text, or decoded string value. */
  text: string;
  line: number;
  col: number;
  /** Offset of the token start / end in the source. */
  pos: number;
  end: number;
  /** A newline was skipped between the previous token and this one. */
  nl: boolean;
  /** Whitespace was skipped before this token. */
  ws: boolean;
  /** For template strings: raw pieces (literal text and expression sources with their offsets). */
  parts?: TemplatePart[];
}

export type TemplatePart = { lit: string } | { src: string; pos: number; line: number; col: number };

const PUNCT3 = new Set<string>();
const PUNCT2 = new Set([":=", "==", "!=", "<=", ">="]);
const PUNCT1 = new Set(["{", "}", "[", "]", "(", ")", ".", ",", ";", ":", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "!"]);

export interface Comment {
  line: number;
  col: number;
  /** Text after the `#`. */
  text: string;
}

/** Token list; `comments` holds every comment (for METADATA annotations). */
export type Tokens = Token[] & { comments?: Comment[] };

export function lex(src: string, file: string): Tokens {
  const toks: Tokens = [];
  const comments: Comment[] = [];
  toks.comments = comments;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  let nl = false;
  let ws = false;
  const err = (msg: string, at = i): never => {
    throw new RegoError("rego_parse_error", msg, { file, line, col: at - lineStart + 1 });
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    // whitespace
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      nl = true;
      ws = true;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      ws = true;
      continue;
    }
    if (c === 35 /* # */) {
      const cs = i;
      while (i < n && src.charCodeAt(i) !== 10) i++;
      comments.push({ line, col: cs - lineStart + 1, text: src.slice(cs + 1, i).replace(/\r$/, "") });
      continue;
    }
    const start = i;
    const col = i - lineStart + 1;
    const tokLine = line;
    const push = (kind: TokKind, text: string, extra?: Partial<Token>) => {
      toks.push({ kind, text, line: tokLine, col, pos: start, end: i, nl, ws, ...extra });
      nl = false;
      ws = false;
    };
    // identifiers
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
      while (i < n) {
        const d = src.charCodeAt(i);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || (d >= 48 && d <= 57)) i++;
        else break;
      }
      push("ident", src.slice(start, i));
      continue;
    }
    // numbers
    if ((c >= 48 && c <= 57) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src[i] === "." && isDigit(src.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      if (src[i] === "e" || src[i] === "E") {
        let j = i + 1;
        if (src[j] === "+" || src[j] === "-") j++;
        if (isDigit(src.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(src.charCodeAt(i))) i++;
        }
      }
      const t = src.slice(start, i);
      if (/^0\d/.test(t)) err("expected number", start);
      push("number", t);
      continue;
    }
    // strings
    if (c === 34 /* " */) {
      i++;
      const s = readString(src, i, (msg, at) => err(msg, at));
      for (let k = i; k < s.end; k++) if (src.charCodeAt(k) === 10) err("non-terminated string", start);
      i = s.end;
      push("string", s.value);
      continue;
    }
    if (c === 96 /* ` */) {
      const j = src.indexOf("`", i + 1);
      if (j < 0) err("non-terminated raw string", start);
      const value = src.slice(i + 1, j);
      for (let k = i; k < j; k++)
        if (src.charCodeAt(k) === 10) {
          line++;
          lineStart = k + 1;
        }
      i = j + 1;
      push("rawstring", value);
      continue;
    }
    if (c === 36 /* $ */ && (src[i + 1] === '"' || src[i + 1] === "`")) {
      const raw = src[i + 1] === "`";
      i += 2;
      const parts: TemplatePart[] = [];
      let lit = "";
      for (;;) {
        if (i >= n) err("non-terminated template string", start);
        const ch = src[i] as string;
        if ((!raw && ch === '"') || (raw && ch === "`")) {
          i++;
          break;
        }
        if (ch === "\n") {
          if (!raw) err("non-terminated template string", start);
          line++;
          lineStart = i + 1;
        }
        if (raw && ch === "\\" && src[i + 1] === "{") {
          lit += "{";
          i += 2;
          continue;
        }
        if (!raw && ch === "\\") {
          const nx = src[i + 1];
          if (nx === "{" || nx === "}") {
            lit += nx;
            i += 2;
            continue;
          }
          const s = readEscape(src, i + 1, (msg, at) => err(msg, at));
          lit += s.value;
          i = s.end;
          continue;
        }
        if (ch === "{") {
          if (lit) parts.push({ lit });
          lit = "";
          // find the matching close brace, skipping strings
          let depth = 1;
          let j = i + 1;
          while (j < n && depth > 0) {
            const d = src[j];
            if (d === '"') {
              const s = readString(src, j + 1, (msg, at) => err(msg, at));
              j = s.end;
              continue;
            }
            if (d === "`") {
              const e = src.indexOf("`", j + 1);
              if (e < 0) err("non-terminated raw string", j);
              j = e + 1;
              continue;
            }
            if (d === "{") depth++;
            else if (d === "}") depth--;
            if (depth > 0) j++;
          }
          if (depth > 0) err("non-terminated template expression", i);
          parts.push({ src: src.slice(i + 1, j), pos: i + 1, line, col: i + 1 - lineStart + 1 });
          i = j + 1;
          continue;
        }
        lit += ch;
        i++;
      }
      if (lit) parts.push({ lit });
      push("template", "", { parts });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      i += 2;
      push("punct", two);
      continue;
    }
    const one = src[i] as string;
    if (PUNCT1.has(one) && !PUNCT3.has(one)) {
      i++;
      push("punct", one);
      continue;
    }
    err(`illegal token`, start);
  }
  toks.push({ kind: "eof", text: "", line, col: i - lineStart + 1, pos: i, end: i, nl: true, ws: true });
  return toks;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function readEscape(src: string, i: number, err: (m: string, at: number) => never): { value: string; end: number } {
  const e = src[i];
  switch (e) {
    case '"':
      return { value: '"', end: i + 1 };
    case "\\":
      return { value: "\\", end: i + 1 };
    case "/":
      return { value: "/", end: i + 1 };
    case "b":
      return { value: "\b", end: i + 1 };
    case "f":
      return { value: "\f", end: i + 1 };
    case "n":
      return { value: "\n", end: i + 1 };
    case "r":
      return { value: "\r", end: i + 1 };
    case "t":
      return { value: "\t", end: i + 1 };
    case "u": {
      const h = src.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(h)) err("illegal escape sequence", i - 1);
      return { value: String.fromCharCode(Number.parseInt(h, 16)), end: i + 5 };
    }
  }
  return err("illegal escape sequence", i - 1);
}

/** Read a double-quoted string body starting after the opening quote. */
function readString(src: string, i: number, err: (m: string, at: number) => never): { value: string; end: number } {
  let out = "";
  const n = src.length;
  let segStart = i;
  while (i < n) {
    const ch = src.charCodeAt(i);
    if (ch === 34) {
      out += src.slice(segStart, i);
      return { value: out, end: i + 1 };
    }
    if (ch === 92) {
      out += src.slice(segStart, i);
      const r = readEscape(src, i + 1, err);
      out += r.value;
      i = r.end;
      segStart = i;
      continue;
    }
    if (ch === 10) break;
    i++;
  }
  return err("non-terminated string", i);
}
