/**
 * Shared helpers for the extended builtins (encoding, crypto, jwt, time, ...): Go-compatible
 * base64/JSON text, an exact-number JSON parser, and UTF-8 byte helpers.
 */
import {
  BigNum,
  isNumber,
  normNum,
  numToString,
  parseDec,
  RObject,
  RSet,
  type Value,
} from "../value.ts";
import { BuiltinError } from "./registry.ts";

export const utf8 = new TextEncoder();
const utf8dec = new TextDecoder("utf-8");
export const bytesToString = (b: Uint8Array): string => utf8dec.decode(b);

// ---- base64 (Go encoding/base64 semantics and error positions) ------------------------------

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const decodeMaps = new Map<string, Int16Array>();
function decodeMap(alpha: string): Int16Array {
  let m = decodeMaps.get(alpha);
  if (!m) {
    m = new Int16Array(256).fill(-1);
    for (let i = 0; i < 64; i++) m[alpha.charCodeAt(i)] = i;
    decodeMaps.set(alpha, m);
  }
  return m;
}

export type B64Kind = "std" | "url" | "rawstd" | "rawurl";

export function b64encode(bytes: Uint8Array, kind: B64Kind): string {
  const s = Buffer.from(bytes).toString(kind === "std" || kind === "rawstd" ? "base64" : "base64url");
  if (kind === "url") {
    const pad = (4 - (s.length % 4)) % 4;
    return s + "=".repeat(pad);
  }
  if (kind === "rawstd") return s.replace(/=+$/, "");
  return s;
}

/** Go's base64 Encoding.DecodeString; throws Error("illegal base64 data at input byte N"). */
export function b64decode(s: string, kind: B64Kind): Uint8Array {
  const src = utf8.encode(s);
  const map = decodeMap(kind === "std" || kind === "rawstd" ? STD : URL);
  const padded = kind === "std" || kind === "url";
  const out: number[] = [];
  const err = (n: number) => new Error(`illegal base64 data at input byte ${n}`);
  let si = 0;
  const n = src.length;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let j = 0;
    let dlen = 4;
    let ended = false;
    for (; j < 4; j++) {
      if (si === n) {
        if (j === 0) return Uint8Array.from(out);
        if (j === 1 || padded) throw err(si - j);
        dlen = j;
        ended = true;
        break;
      }
      const c = src[si] as number;
      si++;
      if (c === 0x0a || c === 0x0d) {
        j--;
        continue;
      }
      const d = map[c] as number;
      if (d >= 0) {
        dbuf[j] = d;
        continue;
      }
      if (c !== 0x3d || !padded) throw err(si - 1);
      // padding
      if (j === 0 || j === 1) throw err(si - 1);
      if (j === 2) {
        while (si < n && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === n) throw err(n);
        if (src[si] !== 0x3d) throw err(si - 1);
        si++;
      }
      while (si < n && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < n) throw err(si);
      dlen = j;
      ended = true;
      break;
    }
    const val = ((dbuf[0] as number) << 18) | ((dbuf[1] as number) << 12) | ((dbuf[2] as number) << 6) | (dbuf[3] as number);
    const b0 = (val >> 16) & 0xff;
    const b1 = (val >> 8) & 0xff;
    const b2 = val & 0xff;
    if (dlen === 4) out.push(b0, b1, b2);
    else if (dlen === 3) out.push(b0, b1);
    else if (dlen === 2) out.push(b0);
    if (ended) return Uint8Array.from(out);
  }
}

// ---- hex --------------------------------------------------------------------------------------

export function hexEncode(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function goRuneQuote(code: number): string {
  const hex = code.toString(16).toUpperCase().padStart(4, "0");
  const printable = code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code < 0xa0);
  return printable ? `U+${hex} '${String.fromCodePoint(code)}'` : `U+${hex}`;
}

/** Go's hex.DecodeString with its error messages. */
export function hexDecode(s: string): Uint8Array {
  const src = utf8.encode(s);
  const val = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);
  const out = new Uint8Array(src.length >> 1);
  let j = 1;
  let i = 0;
  for (; j < src.length; j += 2) {
    const a = val(src[j - 1] as number);
    const b = val(src[j] as number);
    if (a < 0) throw new Error(`encoding/hex: invalid byte: ${goRuneQuote(src[j - 1] as number)}`);
    if (b < 0) throw new Error(`encoding/hex: invalid byte: ${goRuneQuote(src[j] as number)}`);
    out[i++] = (a << 4) | b;
  }
  if (src.length % 2 === 1) {
    if (val(src[j - 1] as number) < 0) throw new Error(`encoding/hex: invalid byte: ${goRuneQuote(src[j - 1] as number)}`);
    throw new Error("encoding/hex: odd length hex string");
  }
  return out;
}

// ---- JSON text (Go encoding/json style) ------------------------------------------------------

/** Go json.Marshal string escaping (HTML-safe: <, >, & escaped; U+2028/2029 escaped). */
export function goJSONString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      switch (c) {
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += "\\\\";
          break;
        case 0x0a:
          out += "\\n";
          break;
        case 0x0d:
          out += "\\r";
          break;
        case 0x09:
          out += "\\t";
          break;
        case 0x08:
          out += "\\b";
          break;
        case 0x0c:
          out += "\\f";
          break;
        default:
          out += `\\u${c.toString(16).padStart(4, "0")}`;
      }
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // lone surrogate → U+FFFD, valid pair copied
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + (s[i + 1] as string);
        i++;
      } else out += "\ufffd";
      continue;
    }
    out += s[i];
  }
  return `${out}"`;
}

function keyText(k: Value): string {
  return typeof k === "string" ? k : jsonText(k);
}

/** Compact Go-style JSON of a Value (object keys sorted, sets as sorted arrays). */
export function jsonText(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return numToString(v);
    case "string":
      return goJSONString(v);
  }
  if (v instanceof BigNum) return numToString(v);
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  if (v instanceof RSet) return `[${v.values().map(jsonText).join(",")}]`;
  const entries = (v as RObject).entries().map(([k, val]) => [keyText(k), val] as [string, Value]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{${entries.map(([k, val]) => `${goJSONString(k)}:${jsonText(val)}`).join(",")}}`;
}

/** Go json.MarshalIndent(v, prefix, indent) (first line not prefixed). */
export function jsonIndent(v: Value, prefix: string, indent: string, depth = 0): string {
  const nl = (d: number) => `\n${prefix}${indent.repeat(d)}`;
  if (Array.isArray(v) || v instanceof RSet) {
    const items = Array.isArray(v) ? v : v.values();
    if (items.length === 0) return "[]";
    return `[${items.map((x) => nl(depth + 1) + jsonIndent(x, prefix, indent, depth + 1)).join(",")}${nl(depth)}]`;
  }
  if (v instanceof RObject) {
    if (v.size === 0) return "{}";
    const entries = v.entries().map(([k, val]) => [keyText(k), val] as [string, Value]);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${entries.map(([k, val]) => `${nl(depth + 1)}${goJSONString(k)}: ${jsonIndent(val, prefix, indent, depth + 1)}`).join(",")}${nl(depth)}}`;
  }
  return jsonText(v);
}

/** A Value → plain JS data (for YAML/JWT), numbers as JS numbers or bigint for big integers. */
export function toPlain(v: Value): unknown {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof BigNum) return v.isInt ? v.m * 10n ** BigInt(v.e) : Number(`${v.m}e${v.e}`);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof RSet) return v.values().map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, val] of (v as RObject).entries()) o[keyText(k)] = toPlain(val);
  return o;
}

// ---- JSON parsing with exact numbers ----------------------------------------------------------

export class JSONSyntaxError extends Error {}

/** Parse JSON text into a Value; numbers are exact. Duplicate keys: last wins (like Go). */
export function parseJSON(text: string): Value {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (ctx: string): never => {
    if (i >= n) throw new JSONSyntaxError("unexpected end of JSON input");
    const ch = text[i] as string;
    throw new JSONSyntaxError(`invalid character ${goCharQuote(ch)} ${ctx}`);
  };
  const value = (): Value => {
    ws();
    if (i >= n) throw new JSONSyntaxError("unexpected end of JSON input");
    const c = text[i];
    if (c === "{") {
      i++;
      const o = new RObject();
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("looking for beginning of object key string");
        const k = str();
        ws();
        if (text[i] !== ":") fail("after object key");
        i++;
        const v = value();
        o.set(k, v);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return o;
        }
        fail("after object key:value pair");
      }
    }
    if (c === "[") {
      i++;
      const a: Value[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        fail("after array element");
      }
    }
    if (c === '"') return str();
    if (text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== "-") {
      i += m[0].length;
      const d = parseDec(m[0]);
      if (!d) fail("in numeric literal");
      return normNum((d as { m: bigint }).m, (d as { e: number }).e);
    }
    return fail("looking for beginning of value");
  };
  const str = (): string => {
    i++; // opening quote
    let out = "";
    let start = i;
    for (;;) {
      if (i >= n) throw new JSONSyntaxError("unexpected end of JSON input");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail("in string literal");
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"':
            out += '"';
            break;
          case "\\":
            out += "\\";
            break;
          case "/":
            out += "/";
            break;
          case "b":
            out += "\b";
            break;
          case "f":
            out += "\f";
            break;
          case "n":
            out += "\n";
            break;
          case "r":
            out += "\r";
            break;
          case "t":
            out += "\t";
            break;
          case "u": {
            const h = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) {
              i -= 1;
              fail("in \\u hexadecimal character escape");
            }
            out += String.fromCharCode(Number.parseInt(h, 16));
            i += 4;
            break;
          }
          default:
            i -= 1;
            fail("in string escape code");
        }
        start = i;
        continue;
      }
      i++;
    }
  };
  const v = value();
  ws();
  if (i < n) fail("after top-level value");
  return v;
}

function goCharQuote(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return "'\"'";
  return `'${ch}'`;
}

/** Plain JS data (from YAML/JSON.parse) → Value; Date → RFC 3339 string; bigint exact. */
export function fromPlain(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case "boolean":
    case "string":
      return x;
    case "number":
      if (!Number.isFinite(x)) throw new BuiltinError(`json: unsupported value: ${x}`);
      if (Number.isInteger(x) && !Number.isSafeInteger(x)) return normNum(BigInt(x), 0);
      return x;
    case "bigint":
      return normNum(x, 0);
  }
  if (x instanceof Date) return x.toISOString().replace(/\.000Z$/, "Z");
  if (Array.isArray(x)) return x.map(fromPlain);
  if (x instanceof Map) {
    const o = new RObject();
    for (const [k, v] of x) o.set(typeof k === "string" ? k : String(k), fromPlain(v));
    return o;
  }
  if (x instanceof Set) return x.size === 0 ? new RObject() : RObject.from([...x].map((k) => [String(k), null] as [Value, Value]));
  const o = new RObject();
  for (const [k, v] of Object.entries(x as object)) o.set(k, fromPlain(v));
  return o;
}

export { isNumber };

// ---- PEM (Go encoding/pem.Decode) ---------------------------------------------------------------

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  bytes: Uint8Array;
}

/** Decode the first PEM block in `data`; returns the block and the rest, or undefined. */
export function pemDecode(data: string): { block: PemBlock; rest: string } | undefined {
  let rest = data;
  for (;;) {
    const start = rest.startsWith("-----BEGIN ") ? 0 : rest.indexOf("\n-----BEGIN ");
    if (start < 0) return undefined;
    const begin = start === 0 ? 0 : start + 1;
    const afterBegin = rest.slice(begin + 11);
    const lineEnd = afterBegin.indexOf("\n");
    const typeLine = (lineEnd < 0 ? afterBegin : afterBegin.slice(0, lineEnd)).replace(/\r$/, "").replace(/[ \t]+$/, "");
    if (!typeLine.endsWith("-----")) {
      rest = afterBegin;
      continue;
    }
    const type = typeLine.slice(0, -5);
    const body = lineEnd < 0 ? "" : afterBegin.slice(lineEnd + 1);
    const endMarker = `-----END ${type}-----`;
    const endIdx = body.indexOf(endMarker);
    if (endIdx < 0) {
      rest = body;
      continue;
    }
    let content = body.slice(0, endIdx);
    const headers: Record<string, string> = {};
    // optional "Key: value" headers followed by a blank line
    if (/^[A-Za-z0-9-]+:/.test(content)) {
      const blank = content.search(/\r?\n\r?\n/);
      if (blank >= 0) {
        for (const line of content.slice(0, blank).split(/\r?\n/)) {
          const c = line.indexOf(":");
          if (c > 0) headers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
        }
        content = content.slice(blank).replace(/^\r?\n\r?\n/, "");
      }
    }
    const b64 = content.replace(/[\s]/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      rest = body.slice(endIdx + endMarker.length);
      continue;
    }
    let after = body.slice(endIdx + endMarker.length);
    // the END line must end the line
    const nl = /^[ \t]*\r?\n/.exec(after);
    if (nl) after = after.slice(nl[0].length);
    else if (/^[ \t]*$/.test(after)) after = "";
    else {
      rest = after;
      continue;
    }
    return { block: { type, headers, bytes: Uint8Array.from(Buffer.from(b64, "base64")) }, rest: after };
  }
}
