/**
 * tools_allowed: a tool must be on tools.allow (names or globs). A tool on neither list follows
 * tools.default ("deny": refused until approved with `tappass tools approve`); lockdown denies
 * every unlisted tool whatever the default.
 */
import type { StepDef } from "../types.ts";
import { anyGlob, isLockdown, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { toolNames } from "./_tools.ts";

const step: StepDef = {
  name: "tools_allowed",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "tools",
  run(ctx, env) {
    const t = env.policy.tools;
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const names = toolNames(call);
      if (names.some((n) => anyGlob(t.allow, n))) continue;
      if (t.default === "allow" && !isLockdown(env)) continue;
      hits.push({ call, reason: `tool "${call.name}" is not on the allow list for agent ${ctx.agent} — approve it with \`tappass tools approve ${call.name}\`` });
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
