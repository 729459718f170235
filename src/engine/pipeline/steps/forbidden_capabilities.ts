/**
 * forbidden_capabilities: the absolute floor. A tool exercising a capability in
 * identity.forbidden_capabilities is refused in every mode (observe and warn cannot soften it).
 */
import type { StepDef } from "../types.ts";
import { toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { catalogEntry } from "./_tools.ts";

const step: StepDef = {
  name: "forbidden_capabilities",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "identity",
  hard: true,
  run(ctx, env) {
    const forbidden = new Set(env.policy.identity.forbidden_capabilities);
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const caps = catalogEntry(env.policy, call)?.capabilities ?? [];
      const bad = caps.filter((c) => forbidden.has(c));
      if (bad.length) hits.push({ call, reason: `tool "${call.name}" exercises forbidden capability ${bad.join(", ")}`, detail: { capabilities: bad } });
    }
    const r = toolVerdict(step.name, env, hits, calls.length);
    // The floor blocks whatever the step's configured action says.
    if (hits.length && r.decision !== "deny") return toolVerdict(step.name, { ...env, action: "block" }, hits, calls.length);
    return r;
  },
};
export default step;
