/**
 * Validate a parsed policy source (YAML file, pack body, Rego aspects result) against the
 * Fragment schema; the first error is reported at its file:line:col with what to do.
 */
import Ajv, { type ValidateFunction } from "ajv";
import { inputError } from "../errors.ts";
import { FRAGMENT_SCHEMA, type Fragment } from "./fragment.ts";
import type { LocatedYaml } from "./yaml.ts";

let fragmentValidator: ValidateFunction | undefined;

function validator(): ValidateFunction {
  fragmentValidator ??= new Ajv({ allErrors: false, strict: false }).compile(FRAGMENT_SCHEMA);
  return fragmentValidator;
}

export function pathOf(instancePath: string): Array<string | number> {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Check `value` is a Fragment; errors name the position (via `y`) or the file. */
export function asFragment(value: unknown, file: string, y?: LocatedYaml, prefix: Array<string | number> = []): Fragment {
  const v = value ?? {};
  const validate = validator();
  if (!validate(v)) {
    const e = validate.errors?.[0];
    const path = [...prefix, ...pathOf(e?.instancePath ?? "")];
    let msg = e?.message ?? "invalid";
    if (e?.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      path.push(extra ?? "");
      msg = `unknown field "${extra}"`;
    } else if (e?.keyword === "enum") {
      msg = `must be one of ${JSON.stringify((e.params as { allowedValues?: unknown[] }).allowedValues)}`;
    }
    const at = path.filter((p) => p !== "").join(".") || "(top level)";
    throw inputError("policy_schema_error", `${at}: ${msg}`, {
      where: y ? y.where(path) : file,
      hint: "see policies/README.md for the policy-source format",
    });
  }
  return v as Fragment;
}
