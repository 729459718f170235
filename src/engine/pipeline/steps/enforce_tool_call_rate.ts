/** enforce_tool_call_rate: tool calls per agent per minute (budget.tool_calls_per_minute), sliding window in SQLite. */
import type { CallContext, StepDef, StepEnv } from "../types.ts";
import { hitRate, rateLeaseCovers } from "./_ledger.ts";
import { rateRule, toolVerdict, toolsInScope } from "./_util.ts";

const rule = (ctx: CallContext, env: StepEnv) => rateRule(ctx, env, "tool_calls_per_minute", "tpm");

const step: StepDef = {
  name: "enforce_tool_call_rate",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "budget",
  // the check-and-count needs the database unless this process's slice of the window covers it
  ledger(ctx, env) {
    const n = toolsInScope(ctx, env.phase).length;
    const r = rule(ctx, env);
    return n > 0 && !!r && !rateLeaseCovers(env.db, r.key, r.limit, r.windowMs, env.now(), n);
  },
  run(ctx, env) {
    const calls = toolsInScope(ctx, env.phase);
    if (calls.length === 0) return { decision: "allow", evidence: {} };
    const rl = rule(ctx, env);
    if (!rl) return { decision: "allow", evidence: { limit: "none", tools_checked: calls.length } };
    const { limit, windowMs, key } = rl;
    const r = hitRate(env.db, key, limit, windowMs, env.now(), calls.length);
    if (r.ok) return { decision: "allow", evidence: { limit, count: r.count, tools_checked: calls.length } };
    const reason = `tool-call rate limit: ${r.count} calls in the last ${windowMs / 1000} s (limit ${limit})`;
    return toolVerdict(step.name, env, calls.map((call) => ({ call, reason })), calls.length);
  },
};
export default step;
