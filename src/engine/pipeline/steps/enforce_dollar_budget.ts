/**
 * enforce_dollar_budget: USD per agent per UTC month (budget.dollars_per_month), priced with
 * ../prices.ts (unknown models at the dearest rate; denied outright in lockdown). Reserve the
 * estimate atomically before the call, reconcile with the real cost after.
 */
import { costOf, priceOf } from "../prices.ts";
import type { StepDef } from "../types.ts";
import { type BudgetSpec, budgetNeedsLedger, estimateTokens, isModelCall, runBudget } from "./_budget.ts";
import { monthKey } from "./_ledger.ts";
import { isLockdown } from "./_util.ts";

const spec: BudgetSpec = {
  name: "dollars",
  unit: "dollar",
  limit: (e) => (typeof e.step.config?.dollars_per_month === "number" ? e.step.config.dollars_per_month : e.policy.budget.dollars_per_month),
  key: (c, now) => `dollars:agent=${c.agent}:month=${monthKey(now)}`,
  estimate: (c, e) => costOf(c.model, estimateTokens(c, e)),
  actual: (c) => (c.usage ? costOf(c.model, c.usage) : undefined),
};

const step: StepDef = {
  name: "enforce_dollar_budget",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "budget",
  // the reservation is atomic (batched ledger transaction, or this process's lease); the reconcile after is write-behind
  ledger: (ctx, env) => budgetNeedsLedger(spec, ctx, env),
  run(ctx, env) {
    if (env.phase === "before_call" && isModelCall(ctx) && isLockdown(env) && !priceOf(ctx.model).known)
      return { decision: "deny", reason: `model "${ctx.model ?? "unknown"}" has no known price; lockdown denies unpriced models`, evidence: { model: ctx.model ?? null } };
    return runBudget(spec, ctx, env);
  },
};
export default step;
