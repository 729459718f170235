/**
 * enforce_token_budget: tokens per agent per UTC day (budget.tokens_per_day). Before the call
 * the estimate is reserved atomically (BEGIN IMMEDIATE) so concurrent calls — from any process
 * — cannot overspend; after the call the reservation is replaced by the real usage.
 */
import type { StepDef } from "../types.ts";
import { type BudgetSpec, budgetNeedsLedger, estimateTokens, runBudget } from "./_budget.ts";
import { dayKey } from "./_ledger.ts";

const spec: BudgetSpec = {
  name: "tokens",
  unit: "token",
  limit: (e) => (typeof e.step.config?.tokens_per_day === "number" ? e.step.config.tokens_per_day : e.policy.budget.tokens_per_day),
  key: (c, now) => `tokens:agent=${c.agent}:day=${dayKey(now)}`,
  estimate: (c, e) => {
    const t = estimateTokens(c, e);
    return t.input_tokens + t.output_tokens;
  },
  actual: (c) => (c.usage ? c.usage.input_tokens + c.usage.output_tokens : undefined),
};

const step: StepDef = {
  name: "enforce_token_budget",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "budget",
  // the reservation is atomic (batched ledger transaction, or this process's lease); the reconcile after is write-behind
  ledger: (ctx, env) => budgetNeedsLedger(spec, ctx, env),
  run: (ctx, env) => runBudget(spec, ctx, env),
};
export default step;
