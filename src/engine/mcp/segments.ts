/**
 * Tool arguments and tool results as the pipeline's text segments, and back: every string leaf
 * becomes one segment whose path locates it; a step's rewrite (redaction) is written back there.
 */
import type { TextSegment } from "../pipeline/types.ts";
import { isObj } from "./jsonrpc.ts";

const MAX_DEPTH = 32;

/** Every string leaf under `value`, with its dotted path (prefix included). */
export function stringLeaves(value: unknown, prefix: string, out: Array<{ path: string; text: string }> = [], depth = 0): typeof out {
  if (depth > MAX_DEPTH) return out;
  if (typeof value === "string") out.push({ path: prefix, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => stringLeaves(v, `${prefix}.${i}`, out, depth + 1));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) stringLeaves(v, `${prefix}.${k.replace(/\./g, "\\.")}`, out, depth + 1);
  return out;
}

function splitPath(path: string): string[] {
  return path.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, "."));
}

/** A deep copy of `root` with the string at `path` (relative, first part dropped) replaced. */
export function setAt<T>(root: T, parts: string[], text: string): T {
  if (parts.length === 0) return text as T;
  const [head, ...rest] = parts as [string, ...string[]];
  if (Array.isArray(root)) {
    const copy = [...root];
    copy[Number(head)] = setAt(copy[Number(head)], rest, text);
    return copy as T;
  }
  if (isObj(root)) return { ...root, [head]: setAt(root[head], rest, text) } as T;
  return root;
}

/**
 * What goes to the server, as request segments: every string leaf of each named part (a call's
 * `arguments` and a stateless client's `inputResponses`, a client's answer `result`), its path
 * starting with the part's name — so applySegments writes redactions back into the same object.
 */
export function requestSegments(parts: Record<string, unknown>): TextSegment[] {
  const leaves: Array<{ path: string; text: string }> = [];
  for (const [name, value] of Object.entries(parts)) if (value !== undefined) stringLeaves(value, name, leaves);
  return leaves.map((l) => ({ path: l.path, kind: "tool_args" as const, text: l.text }));
}

/** The text a client shows the model: content blocks (text, embedded resources), structuredContent, and a server's input requests. */
export function resultSegments(result: Record<string, unknown>): TextSegment[] {
  const segs: TextSegment[] = [];
  const content = Array.isArray(result.content) ? result.content : [];
  content.forEach((block, i) => {
    if (!isObj(block)) return;
    if (block.type === "text" && typeof block.text === "string") segs.push({ path: `content.${i}.text`, kind: "tool_output", text: block.text });
    if (block.type === "resource" && isObj(block.resource) && typeof block.resource.text === "string") {
      segs.push({ path: `content.${i}.resource.text`, kind: "tool_output", text: block.resource.text });
    }
    if (block.type === "resource_link") {
      for (const k of ["name", "description", "title"]) if (typeof block[k] === "string") segs.push({ path: `content.${i}.${k}`, kind: "tool_output", text: block[k] as string });
    }
  });
  if (result.structuredContent !== undefined) {
    for (const l of stringLeaves(result.structuredContent, "structuredContent")) segs.push({ path: l.path, kind: "tool_output", text: l.text });
  }
  // 2026-07-28 input_required: what the server asks the client (a sampling prompt goes to the
  // client's model, an elicitation message to its user) is tool output too
  if (result.resultType === "input_required" && result.inputRequests !== undefined) {
    for (const l of stringLeaves(result.inputRequests, "inputRequests")) segs.push({ path: l.path, kind: "tool_output", text: l.text });
  }
  return segs;
}

/** Write changed segments back into a copy of `root` (paths are relative to it). */
export function applySegments<T>(root: T, original: TextSegment[], now: TextSegment[], strip = 0): { value: T; changed: number } {
  let value = root;
  let changed = 0;
  now.forEach((s, i) => {
    if (original[i] && original[i].text !== s.text) {
      value = setAt(value, splitPath(s.path).slice(strip), s.text);
      changed++;
    }
  });
  return { value, changed };
}
