/** enforce_tool_call_rate: tool calls per agent per minute (budget.tool_calls_per_minute), sliding window in SQLite. */
import type { StepDef } from "../types.ts";
import { hitRate } from "./_ledger.ts";
import { num, toolVerdict, toolsInScope } from "./_util.ts";

const step: StepDef = {
  name: "enforce_tool_call_rate",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "budget",
  ledger: (ctx, env) => toolsInScope(ctx, env.phase).length > 0,
  run(ctx, env) {
    const c = env.step.config ?? {};
    const limit = typeof c.tool_calls_per_minute === "number" ? c.tool_calls_per_minute : env.policy.budget.tool_calls_per_minute;
    const calls = toolsInScope(ctx, env.phase);
    if (calls.length === 0) return { decision: "allow", evidence: {} };
    if (limit === null || limit === undefined) return { decision: "allow", evidence: { limit: "none", tools_checked: calls.length } };
    const windowMs = num(c.window_s, 60) * 1000;
    const r = hitRate(env.db, `tpm:agent=${ctx.agent}`, limit, windowMs, env.now(), calls.length);
    if (r.ok) return { decision: "allow", evidence: { limit, count: r.count, tools_checked: calls.length } };
    const reason = `tool-call rate limit: ${r.count} calls in the last ${windowMs / 1000} s (limit ${limit})`;
    return toolVerdict(step.name, env, calls.map((call) => ({ call, reason })), calls.length);
  },
};
export default step;
