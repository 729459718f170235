/**
 * Encoding builtins: base64, base64url, hex, urlquery, json.marshal/unmarshal/is_valid,
 * json.marshal_with_options, yaml.marshal/unmarshal/is_valid.
 */
import YAML from "yaml";
import { RObject, RSet, type Value } from "../value.ts";
import { argObject, argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";
import {
  b64decode,
  b64encode,
  bytesToString,
  fromPlain,
  hexDecode,
  hexEncode,
  jsonIndent,
  jsonText,
  parseJSON,
  toPlain,
  utf8,
} from "./ext_util.ts";

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BuiltinError) throw e;
    throw new BuiltinError((e as Error).message);
  }
}

// ---- url query (Go net/url) ---------------------------------------------------------------------

/** Go url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8.encode(s)) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e)
      out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go url.QueryUnescape. */
export function queryUnescape(s: string): string {
  const src = utf8.encode(s);
  const isHex = (c: number | undefined) => c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25) {
      if (i + 2 >= src.length || !isHex(src[i + 1]) || !isHex(src[i + 2])) {
        const rest = bytesToString(src.slice(i, i + 3));
        throw new BuiltinError(`invalid URL escape ${JSON.stringify(rest)}`);
      }
      i += 2;
    }
  }
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c === 0x25) {
      out.push(Number.parseInt(String.fromCharCode(src[i + 1] as number, src[i + 2] as number), 16));
      i += 2;
    } else if (c === 0x2b) out.push(0x20);
    else out.push(c);
  }
  return bytesToString(Uint8Array.from(out));
}

// ---- YAML (sigs.k8s.io/yaml on yaml.v2 semantics: YAML 1.1 scalars, sorted keys) ---------------

function yamlParse(s: string): unknown {
  const docs = YAML.parseAllDocuments(s, { version: "1.1", intAsBigInt: true, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const first = list[0];
  if (!first) return null;
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`yaml: ${d.errors[0]?.message.split("\n")[0]}`);
  }
  return first.toJS({ maxAliasCount: 1000 });
}

function yamlToValue(x: unknown): Value {
  // YAML maps may have non-string keys; like sigs.k8s.io/yaml they become their string form
  return fromPlain(x);
}

export const builtins: BuiltinDef[] = [
  // base64
  def("base64.encode", 1, (args) => b64encode(utf8.encode(argString(args, 0)), "std")),
  def("base64.decode", 1, (args) => wrap(() => bytesToString(b64decode(argString(args, 0), "std")))),
  def("base64.is_valid", 1, ([s]) => {
    if (typeof s !== "string") return false;
    try {
      b64decode(s, "std");
      return true;
    } catch {
      return false;
    }
  }),
  def("base64url.encode", 1, (args) => b64encode(utf8.encode(argString(args, 0)), "url")),
  def("base64url.encode_no_pad", 1, (args) => b64encode(utf8.encode(argString(args, 0)), "rawurl")),
  def("base64url.decode", 1, (args) => {
    let s = argString(args, 0);
    if (!s.endsWith("=")) {
      switch (utf8.encode(s).length % 4) {
        case 0:
          break;
        case 2:
          s += "==";
          break;
        case 3:
          s += "=";
          break;
        default:
          throw new BuiltinError(`illegal base64url string: ${s}`);
      }
    }
    return wrap(() => bytesToString(b64decode(s, "url")));
  }),
  // hex
  def("hex.encode", 1, (args) => hexEncode(utf8.encode(argString(args, 0)))),
  def("hex.decode", 1, (args) => wrap(() => bytesToString(hexDecode(argString(args, 0))))),
  // urlquery
  def("urlquery.encode", 1, (args) => queryEscape(argString(args, 0))),
  def("urlquery.decode", 1, (args) => queryUnescape(argString(args, 0))),
  def("urlquery.encode_object", 1, (args) => {
    const o = argObject(args, 0);
    const pairs: [string, string[]][] = [];
    for (const [k, v] of o.entries()) {
      const key = typeof k === "string" ? k : jsonText(k);
      if (typeof v === "string") pairs.push([key, [v]]);
      else if (Array.isArray(v) || v instanceof RSet) {
        const items = Array.isArray(v) ? v : v.values();
        const strs: string[] = [];
        for (const x of items) {
          if (typeof x !== "string") throw new BuiltinError("only array of strings is allowed");
          strs.push(x);
        }
        pairs.push([key, strs]);
      } else throw new BuiltinError("only strings, array of strings, or set of strings are allowed");
    }
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const parts: string[] = [];
    for (const [k, vs] of pairs) for (const v of vs) parts.push(`${queryEscape(k)}=${queryEscape(v)}`);
    return parts.join("&");
  }),
  def("urlquery.decode_object", 1, (args) => {
    let q = argString(args, 0);
    const m = new Map<string, string[]>();
    let firstErr: BuiltinError | undefined;
    while (q !== "") {
      const amp = q.indexOf("&");
      let key = amp < 0 ? q : q.slice(0, amp);
      q = amp < 0 ? "" : q.slice(amp + 1);
      if (key.includes(";")) {
        firstErr ??= new BuiltinError("invalid semicolon separator in query");
        continue;
      }
      if (key === "") continue;
      const eq = key.indexOf("=");
      let value = "";
      if (eq >= 0) {
        value = key.slice(eq + 1);
        key = key.slice(0, eq);
      }
      try {
        key = queryUnescape(key);
        value = queryUnescape(value);
      } catch (e) {
        firstErr ??= e as BuiltinError;
        continue;
      }
      const list = m.get(key);
      if (list) list.push(value);
      else m.set(key, [value]);
    }
    if (firstErr) throw firstErr;
    return RObject.from([...m].map(([k, v]) => [k, v] as [Value, Value]));
  }),
  // json
  def("json.marshal", 1, ([x]) => jsonText(x as Value)),
  def("json.marshal_with_options", 2, (args) => {
    const x = args[0] as Value;
    const opts = argObject(args, 1);
    let indent = "\t";
    let prefix = "";
    let implicit = false;
    let explicit: boolean | undefined;
    for (const [k, v] of opts.entries()) {
      if (k === "prefix") {
        if (typeof v !== "string") throw new BuiltinError(`operand 2 prefix must be a string`, "eval_type_error");
        prefix = v;
        implicit = true;
      } else if (k === "indent") {
        if (typeof v !== "string") throw new BuiltinError(`operand 2 indent must be a string`, "eval_type_error");
        indent = v;
        implicit = true;
      } else if (k === "pretty") {
        if (typeof v !== "boolean") throw new BuiltinError(`operand 2 pretty must be a boolean`, "eval_type_error");
        explicit = v;
      } else {
        throw new BuiltinError(`operand 2 object contained unknown key ${jsonText(k)}`, "eval_type_error");
      }
    }
    const pretty = explicit ?? implicit;
    if (!pretty) return jsonText(x);
    return prefix + jsonIndent(x, prefix, indent);
  }),
  def("json.unmarshal", 1, (args) => wrap(() => parseJSON(argString(args, 0)))),
  def("json.is_valid", 1, ([s]) => {
    if (typeof s !== "string") return false;
    try {
      parseJSON(s);
      return true;
    } catch {
      return false;
    }
  }),
  // yaml
  def("yaml.marshal", 1, ([x]) =>
    wrap(() => {
      const out = YAML.stringify(toPlain(x as Value), {
        version: "1.1",
        indentSeq: false,
        sortMapEntries: true,
        lineWidth: 0,
        aliasDuplicateObjects: false,
      });
      return out;
    }),
  ),
  def("yaml.unmarshal", 1, (args) => wrap(() => yamlToValue(yamlParse(argString(args, 0))))),
  def("yaml.is_valid", 1, ([s]) => {
    if (typeof s !== "string") return false;
    try {
      yamlParse(s);
      return true;
    } catch {
      return false;
    }
  }),
];

export { typeErr };
