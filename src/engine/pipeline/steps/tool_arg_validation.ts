/**
 * tool_arg_validation: a tool call's arguments must validate (ajv, JSON Schema) against the
 * tool's inputSchema — as the server advertises it, else as the catalog pins it. A tool with
 * no schema passes, except in lockdown. Evidence names the failing paths, never the values.
 */
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { canonicalText } from "../../audit/chain.ts";
import type { StepDef } from "../types.ts";
import { isLockdown, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { inputSchemaOf } from "./_tools.ts";

let ajv: Ajv | undefined;
const cache = new Map<string, ValidateFunction | Error>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction | Error {
  const key = canonicalText(schema);
  let v = cache.get(key);
  if (!v) {
    if (!ajv) {
      ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
      (addFormats as unknown as (a: Ajv) => void)(ajv);
    }
    try {
      v = ajv.compile(schema);
    } catch (e) {
      v = e instanceof Error ? e : new Error(String(e));
    }
    if (cache.size > 500) cache.clear();
    cache.set(key, v);
  }
  return v;
}

const step: StepDef = {
  name: "tool_arg_validation",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const schema = inputSchemaOf(ctx, env.policy, call);
      if (!schema) {
        if (isLockdown(env)) hits.push({ call, reason: `tool "${call.name}" has no input schema to validate against (lockdown)` });
        continue;
      }
      const v = validatorFor(schema);
      if (v instanceof Error) {
        hits.push({ call, reason: `tool "${call.name}" has an unusable input schema: ${v.message}` });
        continue;
      }
      if (!v(call.arguments)) {
        const errors = (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ""}`);
        hits.push({ call, reason: `arguments of "${call.name}" do not match its schema: ${errors.join("; ")}`, detail: { errors } });
      }
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
