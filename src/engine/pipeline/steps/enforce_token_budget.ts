/**
 * enforce_token_budget: tokens per agent per UTC day (budget.tokens_per_day). Before the call
 * the estimate is reserved atomically (BEGIN IMMEDIATE) so concurrent calls — from any process
 * — cannot overspend; after the call the reservation is replaced by the real usage.
 */
import type { StepDef } from "../types.ts";
import { estimateTokens, isModelCall, runBudget } from "./_budget.ts";
import { dayKey } from "./_ledger.ts";

const step: StepDef = {
  name: "enforce_token_budget",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "budget",
  // the reservation is atomic (batched ledger transaction); the reconcile after is write-behind
  ledger: (ctx, phase) => phase === "before_call" && isModelCall(ctx),
  run: (ctx, env) =>
    runBudget(
      {
        name: "tokens",
        unit: "token",
        limit: (e) => (typeof e.step.config?.tokens_per_day === "number" ? e.step.config.tokens_per_day : e.policy.budget.tokens_per_day),
        key: (c, now) => `tokens:agent=${c.agent}:day=${dayKey(now)}`,
        estimate: (c, e) => {
          const t = estimateTokens(c, e);
          return t.input_tokens + t.output_tokens;
        },
        actual: (c) => (c.usage ? c.usage.input_tokens + c.usage.output_tokens : undefined),
      },
      ctx,
      env,
    ),
};
export default step;
