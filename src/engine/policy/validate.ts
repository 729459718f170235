/**
 * Validate a parsed policy source (YAML file, pack body, Rego aspects result) against the
 * Fragment schema (fragment.ts); the first error is reported at its file:line:col with what to
 * do. A small interpreter of the JSON-Schema subset the fragment schema uses (type, enum, anyOf,
 * properties, additionalProperties, required, items, minLength, minimum): it runs on every
 * start-up over the shipped catalogs, where compiling the schema with ajv cost ~0.5 s.
 */
import { inputError } from "../errors.ts";
import { FRAGMENT_SCHEMA, type Fragment } from "./fragment.ts";
import type { LocatedYaml } from "./yaml.ts";

type Schema = Record<string, unknown>;
interface Fail {
  path: Array<string | number>;
  message: string;
}

const typeOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v;

function check(s: Schema, v: unknown, path: Array<string | number>): Fail | undefined {
  if (s.anyOf) {
    const subs = s.anyOf as Schema[];
    if (subs.some((x) => !check(x, v, path))) return undefined;
    return { path, message: `must be ${subs.map((x) => (x.enum ? `one of ${JSON.stringify(x.enum)}` : String(x.type))).join(" or ")}` };
  }
  if (s.enum && !(s.enum as unknown[]).includes(v)) return { path, message: `must be one of ${JSON.stringify(s.enum)}` };
  const t = s.type as string | undefined;
  if (t) {
    const actual = typeOf(v);
    const ok = actual === t || (t === "number" && actual === "integer");
    if (!ok) return { path, message: `must be ${t === "object" ? "a map" : t === "array" ? "a list" : `a ${t}`}, not ${actual}` };
  }
  if (typeof v === "string" && typeof s.minLength === "number" && v.length < s.minLength) return { path, message: "must not be empty" };
  if (typeof v === "number" && typeof s.minimum === "number" && v < s.minimum) return { path, message: `must be >= ${s.minimum}` };
  if (Array.isArray(v) && s.items) {
    for (const [i, x] of v.entries()) {
      const f = check(s.items as Schema, x, [...path, i]);
      if (f) return f;
    }
  }
  if (t === "object" && v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) return { path, message: `missing required field "${r}"` };
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const [k, x] of Object.entries(o)) {
      const sub = props[k] ?? (typeof s.additionalProperties === "object" ? (s.additionalProperties as Schema) : undefined);
      if (!sub) {
        if (s.additionalProperties === false || s.properties) return { path: [...path, k], message: `unknown field "${k}"` };
        continue;
      }
      const f = check(sub, x, [...path, k]);
      if (f) return f;
    }
  }
  return undefined;
}

/** Check `value` is a Fragment; errors name the position (via `y`) or the file. */
export function asFragment(value: unknown, file: string, y?: LocatedYaml, prefix: Array<string | number> = []): Fragment {
  const v = value ?? {};
  const fail = check(FRAGMENT_SCHEMA, v, []);
  if (fail) {
    const path = [...prefix, ...fail.path];
    const at = path.join(".") || "(top level)";
    throw inputError("policy_schema_error", `${at}: ${fail.message}`, {
      where: y ? y.where(path) : file,
      hint: "see policies/README.md for the policy-source format",
    });
  }
  return v as Fragment;
}
