/**
 * denied_tool_categories: a tool whose catalog capabilities include one of
 * tools.denied_capabilities (or config.categories) is refused. Tools missing from the catalog
 * cannot be classified: lockdown denies them.
 */
import type { StepDef } from "../types.ts";
import { isLockdown, strs, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { catalogEntry } from "./_tools.ts";

const step: StepDef = {
  name: "denied_tool_categories",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const denied = new Set([...env.policy.tools.denied_capabilities, ...strs(env.step.config?.categories)]);
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const entry = catalogEntry(env.policy, call);
      if (!entry) {
        if (isLockdown(env)) hits.push({ call, reason: `tool "${call.name}" is not in the catalog, so its category is unknown (lockdown)` });
        continue;
      }
      const bad = entry.capabilities.filter((c) => denied.has(c));
      if (bad.length) hits.push({ call, reason: `tool "${call.name}" belongs to denied category ${bad.join(", ")}`, detail: { categories: bad } });
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
