/** enforce_rate_limit: requests per agent per minute (budget.requests_per_minute), sliding window in SQLite. */
import type { CallContext, StepDef, StepEnv } from "../types.ts";
import { hitRate, rateLeaseCovers } from "./_ledger.ts";
import { act, rateRule } from "./_util.ts";

const rule = (ctx: CallContext, env: StepEnv) => rateRule(ctx, env, "requests_per_minute", "rpm");

const step: StepDef = {
  name: "enforce_rate_limit",
  phase: "before_call",
  aspect: "budget",
  // the check-and-count needs the database unless this process's slice of the window covers it
  ledger(ctx, env) {
    const r = rule(ctx, env);
    return !!r && !rateLeaseCovers(env.db, r.key, r.limit, r.windowMs, env.now());
  },
  run(ctx, env) {
    const rl = rule(ctx, env);
    if (!rl) return { decision: "allow", evidence: { limit: "none" } };
    const { limit, windowMs, key } = rl;
    const r = hitRate(env.db, key, limit, windowMs, env.now());
    if (!r.ok) return { decision: act(env.action), reason: `rate limit: ${r.count} requests in the last ${windowMs / 1000} s (limit ${limit})`, evidence: { limit, count: r.count } };
    return { decision: "allow", evidence: { count: r.count, limit } };
  },
};
export default step;
