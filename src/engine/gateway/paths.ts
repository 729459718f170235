/**
 * Locators for text inside a wire message: "messages.2.content.0.text". A component "@json"
 * steps into a string that holds JSON (OpenAI tool-call arguments), so a redaction inside a
 * tool argument is written back into the string and re-serialised. Used to read segments out
 * and to write the pipeline's rewrites back without touching anything else in the message.
 */
import type { TextSegment, ToolCall } from "../pipeline/types.ts";

type Json = unknown;

export function getAt(root: Json, path: string): Json {
  let cur: Json = root;
  for (const part of path.split(".")) {
    if (part === "@json") {
      if (typeof cur !== "string") return undefined;
      try {
        cur = JSON.parse(cur);
      } catch {
        return undefined;
      }
      continue;
    }
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, Json>)[part];
  }
  return cur;
}

/** Set a value at a path; returns false when the path no longer exists. */
export function setAt(root: Json, path: string, value: Json): boolean {
  const parts = path.split(".");
  const j = parts.indexOf("@json");
  if (j >= 0) {
    const outer = parts.slice(0, j).join(".");
    const holder = getAt(root, outer);
    if (typeof holder !== "string") return false;
    let inner: Json;
    try {
      inner = JSON.parse(holder);
    } catch {
      return false;
    }
    const rest = parts.slice(j + 1).join(".");
    if (rest === "") inner = value;
    else if (!setAt(inner, rest, value)) return false;
    return setAt(root, outer, JSON.stringify(inner));
  }
  let cur: Json = root;
  for (let i = 0; i < parts.length - 1; i++) {
    if (cur === null || typeof cur !== "object") return false;
    cur = (cur as Record<string, Json>)[parts[i] as string];
  }
  if (cur === null || typeof cur !== "object") return false;
  (cur as Record<string, Json>)[parts[parts.length - 1] as string] = value;
  return true;
}

/** Every string leaf under `value`, with its path suffix (for tool arguments). */
export function stringLeaves(value: Json, prefix: string, out: Array<{ path: string; text: string }> = []): Array<{ path: string; text: string }> {
  if (typeof value === "string") out.push({ path: prefix, text: value });
  else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      stringLeaves(v, `${prefix}.${i}`, out);
    });
  }
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) if (!k.includes(".")) stringLeaves(v, `${prefix}.${k}`, out);
  return out;
}

/** Parse JSON tool arguments leniently: an object, or {} with the raw text kept aside. */
export function parseArgs(s: unknown): Record<string, unknown> {
  if (s && typeof s === "object" && !Array.isArray(s)) return s as Record<string, unknown>;
  if (typeof s !== "string" || s.trim() === "") return {};
  try {
    const v = JSON.parse(s);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { _value: v };
  } catch {
    return { _unparsed: s };
  }
}

/** Segments collected while reading a wire message, with their originals for write-back. */
export class SegmentSet {
  readonly segments: TextSegment[] = [];
  private readonly original = new Map<TextSegment, string>();

  add(seg: TextSegment): void {
    this.segments.push(seg);
    this.original.set(seg, seg.text);
  }

  /** Write every rewritten segment back into `root`; returns how many changed. */
  writeBack(root: Json, list: TextSegment[] = this.segments): number {
    let n = 0;
    for (const s of list) {
      const before = this.original.get(s);
      if (before === undefined || before === s.text) continue;
      if (setAt(root, s.path, s.text)) n++;
    }
    return n;
  }
}

/**
 * Keys whose string values are structure, not text a person or a tool wrote (ids, enums) or
 * opaque blobs a detector would misread (signatures of thinking blocks, encrypted reasoning,
 * base64 media). Only these values are left out: what lies below such a key is walked.
 */
const STRUCTURAL = new Set([
  "model", "role", "type", "id", "call_id", "tool_call_id", "tool_use_id", "status", "finish_reason", "stop_reason",
  "media_type", "mime_type", "mimeType", "format", "detail", "reasoning_effort", "effort", "service_tier", "verbosity", "tool_choice", "truncation",
  "signature", "encrypted_content", "data", "file_data", "b64_json", "thoughtSignature", "ttl",
]);
/** Keys holding a URL: scanned (a provider fetches it, query string and all), but not a data: URL's base64. */
const URL_KEYS = new Set(["url", "image_url", "file_url", "uri", "fileUri"]);

/** The text of a data: URL whose media type is text, JSON or XML (what a provider extracts for the model). */
function dataUrlText(v: string): string | undefined {
  const m = /^data:((?:text\/[\w.+-]+|application\/(?:json|xml|[\w.+-]+\+(?:json|xml)))(?:;[^,]*)?),(.*)$/is.exec(v);
  if (!m) return undefined;
  const [, meta = "", body = ""] = m;
  try {
    return /;base64/i.test(meta) ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
  } catch {
    return undefined;
  }
}

/**
 * Every string of a request the wire adapter did not read as text, added as "system" segments:
 * the provider receives all of it — tool descriptions and JSON schemas (their property names
 * too), metadata, user ids, participant names, prediction text, thinking blocks in the history,
 * URLs it will fetch, text files sent as data: URLs, fields a newer API adds — so secret, PII and
 * exfiltration detection must see it too (injection detection keeps to the conversation's own
 * texts, as for system prompts). Only structural values are left out (STRUCTURAL). A text that
 * cannot be written back in place (an object key, a decoded file, a key with a "." in it) is
 * scanned under a path that no rewrite reaches: a finding there blocks or is reported, never
 * silently "redacted".
 */
export function addUncovered(set: SegmentSet, body: Json): number {
  const covered = new Set<string>();
  const jsonHolders = new Set<string>();
  for (const s of set.segments) {
    covered.add(s.path);
    const j = s.path.indexOf(".@json");
    if (j >= 0) jsonHolders.add(s.path.slice(0, j));
  }
  let chars = 0;
  const add = (path: string, text: string) => {
    set.add({ path, kind: "system", text, role: "system" });
    chars += text.length;
  };
  const walk = (v: Json, path: string, key: string, writable: boolean) => {
    const at = writable ? path : `@ro:${path}`;
    if (typeof v === "string") {
      if (!v || covered.has(path) || jsonHolders.has(path)) return;
      if (URL_KEYS.has(key) || v.startsWith("data:")) {
        const text = dataUrlText(v);
        if (text !== undefined) add(`@ro:${path}.@data`, text);
        else if (!v.startsWith("data:")) add(at, v);
        return;
      }
      if (!STRUCTURAL.has(key)) add(at, v);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], path ? `${path}.${i}` : String(i), key, writable);
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if (k.length > 3 && !STRUCTURAL.has(k) && !URL_KEYS.has(k)) add(`@ro:${p}.@key`, k);
        walk(x, p, k, writable && !k.includes("."));
      }
    }
  };
  walk(body, "", "", true);
  return chars;
}

/** Tool calls paired with where they sit in the message, for removal. */
export interface LocatedToolCall {
  call: ToolCall;
  /** Path of the array holding the call and its index. */
  container: string;
  index: number;
}

/** The JSON to release for a held tool call: the original text, or the arguments a step rewrote. */
export function argsOut(json: string, call: ToolCall): string {
  const now = JSON.stringify(call.arguments);
  return JSON.stringify(parseArgs(json)) === now ? json : now;
}
