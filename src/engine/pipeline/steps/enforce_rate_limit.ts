/** enforce_rate_limit: requests per agent per minute (budget.requests_per_minute), sliding window in SQLite. */
import type { StepDef } from "../types.ts";
import { hitRate } from "./_ledger.ts";
import { act, num } from "./_util.ts";

const step: StepDef = {
  name: "enforce_rate_limit",
  phase: "before_call",
  aspect: "budget",
  ledger: () => true,
  run(ctx, env) {
    const c = env.step.config ?? {};
    const limit = typeof c.requests_per_minute === "number" ? c.requests_per_minute : env.policy.budget.requests_per_minute;
    if (limit === null || limit === undefined) return { decision: "allow", evidence: { limit: "none" } };
    const windowMs = num(c.window_s, 60) * 1000;
    const key = `rpm:agent=${ctx.agent}`;
    const r = hitRate(env.db, key, limit, windowMs, env.now());
    if (!r.ok) return { decision: act(env.action), reason: `rate limit: ${r.count} requests in the last ${windowMs / 1000} s (limit ${limit})`, evidence: { limit, count: r.count } };
    return { decision: "allow", evidence: { limit, count: r.count } };
  },
};
export default step;
