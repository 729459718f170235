/** tools_denied: a tool on tools.deny (names or globs) is refused; deny beats allow. */
import type { StepDef } from "../types.ts";
import { anyGlob, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { toolNames } from "./_tools.ts";

const step: StepDef = {
  name: "tools_denied",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const deny = [...env.policy.tools.deny, ...((env.step.config?.deny as string[] | undefined) ?? [])];
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      for (const n of toolNames(call)) {
        const pat = anyGlob(deny, n);
        if (pat) {
          hits.push({ call, reason: `tool "${call.name}" is denied by policy (${pat})`, detail: { pattern: pat } });
          break;
        }
      }
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
