/**
 * schema_acl: per-tool argument ACL (tools.schemas_acl): fields in deny_fields may not be set;
 * with allow_fields, only those top-level fields may be set.
 */
import type { StepDef } from "../types.ts";
import { getPath, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { toolNames } from "./_tools.ts";

const step: StepDef = {
  name: "schema_acl",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const acls = env.policy.tools.schemas_acl;
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const acl = toolNames(call).map((n) => acls[n]).find(Boolean);
      if (!acl) continue;
      const set = (acl.deny_fields ?? []).filter((f) => getPath(call.arguments, f) !== undefined);
      if (set.length) hits.push({ call, reason: `tool "${call.name}" may not set ${set.join(", ")}`, detail: { fields: set } });
      if (acl.allow_fields) {
        const extra = Object.keys(call.arguments).filter((k) => !acl.allow_fields?.includes(k));
        if (extra.length) hits.push({ call, reason: `tool "${call.name}" may only set ${acl.allow_fields.join(", ")}; got ${extra.join(", ")}`, detail: { fields: extra } });
      }
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
