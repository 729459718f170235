/**
 * METADATA annotations: `# METADATA` comment blocks holding YAML, attached to the package or
 * rule that follows them. Scopes: rule (default for rules), document, package (default for
 * packages), subpackages. Values are kept in OPA's JSON shape (authors → {name, email},
 * related_resources → {ref, description}) for rego.metadata.chain()/rule().
 */
import YAML from "yaml";
import { RegoError } from "./errors.ts";
import type { Comment } from "./lexer.ts";
import { fromJSON, RObject, type Value } from "./value.ts";

export interface Annotation {
  scope: "rule" | "document" | "package" | "subpackages";
  /** The annotation object (always with `scope`). */
  value: RObject;
  line: number;
}

export interface AnnotTarget {
  line: number;
  kind: "package" | "rule" | "import";
  add(a: Annotation): void;
}

/** Attach each METADATA block to the first statement starting after it. */
export function attachAnnotations(comments: Comment[], targets: AnnotTarget[], file: string): void {
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i] as Comment;
    if (c.text.trim() !== "METADATA") continue;
    const lines: string[] = [];
    let last = c.line;
    let j = i + 1;
    for (; j < comments.length; j++) {
      const d = comments[j] as Comment;
      if (d.line !== last + 1 || d.col !== c.col || d.text.trim() === "METADATA") break;
      lines.push(d.text.startsWith(" ") ? d.text.slice(1) : d.text);
      last = d.line;
    }
    i = j - 1;
    const target = targets.find((t) => t.line > last);
    const loc = { file, line: c.line, col: c.col };
    let parsed: unknown;
    try {
      parsed = YAML.parse(lines.join("\n"), { schema: "core" });
    } catch (e) {
      throw new RegoError("rego_parse_error", `invalid metadata: ${(e as Error).message.split("\n")[0]}`, { file, line: c.line, col: c.col });
    }
    if (parsed === null || parsed === undefined) parsed = {};
    if (typeof parsed !== "object" || Array.isArray(parsed))
      throw new RegoError("rego_parse_error", "invalid metadata: expected a map", { file, line: c.line, col: c.col });
    const m = parsed as Record<string, unknown>;
    const scope = m.scope === undefined || m.scope === null ? (target?.kind ?? "") : String(m.scope);
    // OPA's validateAnnotationScopeAttachment
    const want = scope === "rule" || scope === "document" ? "rule" : scope === "package" || scope === "subpackages" ? "package" : undefined;
    if (want === undefined) throw new RegoError("rego_parse_error", `invalid annotation scope '${scope}'`, loc);
    if (target?.kind !== want)
      throw new RegoError("rego_parse_error", `annotation scope '${scope}' must be applied to ${want}${target ? ` (have ${target.kind})` : ""}`, loc);
    target.add({ scope: scope as Annotation["scope"], value: normalize(m, scope), line: c.line });
  }
}

function normalize(m: Record<string, unknown>, scope: string): RObject {
  const out = new RObject();
  for (const [k, v] of Object.entries(m)) {
    if (k === "scope" || v === null || v === undefined) continue;
    if (k === "authors") out.set(k, fromJSON((Array.isArray(v) ? v : [v]).map(author)));
    else if (k === "related_resources") out.set(k, fromJSON((Array.isArray(v) ? v : [v]).map(related)));
    else out.set(k, fromJSON(v));
  }
  out.set("scope", scope);
  return out;
}

function author(a: unknown): Record<string, string> {
  if (a && typeof a === "object") {
    const o = a as Record<string, unknown>;
    const r: Record<string, string> = {};
    if (o.name !== undefined) r.name = String(o.name);
    if (o.email !== undefined) r.email = String(o.email);
    return r;
  }
  const s = String(a).trim();
  const m = /^(.*?)\s*<([^>]*)>$/.exec(s);
  if (!m) return { name: s };
  const r: Record<string, string> = {};
  if (m[1]) r.name = m[1];
  if (m[2]) r.email = m[2];
  return r;
}

function related(a: unknown): Record<string, string> {
  if (a && typeof a === "object") {
    const o = a as Record<string, unknown>;
    const r: Record<string, string> = {};
    if (o.ref !== undefined) r.ref = String(o.ref);
    if (o.description !== undefined) r.description = String(o.description);
    return r;
  }
  return { ref: String(a) };
}

/** OPA's AnnotationsRef entry: {path: [...], annotations?: {...}}. */
export function annotationRef(path: string[], a: Annotation | undefined): Value {
  const o = new RObject();
  o.set("path", path);
  if (a) o.set("annotations", a.value);
  return o;
}
