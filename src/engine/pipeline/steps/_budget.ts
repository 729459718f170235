/** The reserve-then-reconcile shape shared by the token and dollar budgets. */
import type { CallContext, StepEnv, StepResult } from "../types.ts";
import { budgetLeaseCovers, type Reservation, reconcile, release, reserve } from "./_ledger.ts";
import { act, num } from "./_util.ts";

export interface BudgetSpec {
  name: string;
  unit: string;
  limit(env: StepEnv): number | null;
  key(ctx: CallContext, now: number): string;
  estimate(ctx: CallContext, env: StepEnv): number;
  actual(ctx: CallContext): number | undefined;
}

/** Rough token estimate of the request: ~4 characters per token, plus the expected output. */
export function estimateTokens(ctx: CallContext, env: StepEnv): { input_tokens: number; output_tokens: number } {
  if (ctx.estimate) return ctx.estimate;
  const chars = ctx.request.reduce((n, s) => n + s.text.length, 0);
  return { input_tokens: Math.ceil(chars / 4), output_tokens: num(env.step.config?.default_output_tokens, 1024) };
}

export const isModelCall = (ctx: CallContext) => ctx.surface === "llm" || (ctx.surface === "eval" && !!ctx.model);

/** Does this call's reservation need the database (not servable from this process's lease)? */
export function budgetNeedsLedger(spec: BudgetSpec, ctx: CallContext, env: StepEnv): boolean {
  if (env.phase !== "before_call" || !isModelCall(ctx)) return false;
  const limit = spec.limit(env);
  if (limit === null) return false;
  const now = env.now();
  return !budgetLeaseCovers(env.db, spec.key(ctx, now), limit, spec.estimate(ctx, env), now);
}

export function runBudget(spec: BudgetSpec, ctx: CallContext, env: StepEnv): StepResult {
  const slot = `_reservation_${spec.name}`;
  const limit = spec.limit(env);
  if (!isModelCall(ctx) || limit === null) return { decision: "allow", evidence: { limit: limit ?? "none" } };
  const now = env.now();
  if (env.phase === "before_call") {
    const amount = spec.estimate(ctx, env);
    const key = spec.key(ctx, now);
    const r = reserve(env.db, key, limit, amount, { now, ttlMs: num(env.step.config?.reservation_ttl_s, 600) * 1000, trace_id: ctx.trace_id });
    if (!r.ok) {
      const d = act(env.action);
      return {
        decision: d,
        reason: `${spec.unit} budget exhausted: ${round(r.used)} used + ${round(r.reserved)} in flight + ${round(amount)} for this call > ${limit}`,
        evidence: { key, limit, used: round(r.used), reserved: round(r.reserved), estimate: round(amount) },
      };
    }
    const res = r.reservation;
    ctx.flags[slot] = res;
    // A call that never reaches after_call (denied later, upstream error) gives its reservation back.
    env.defer(() => {
      if (ctx.flags[slot]) {
        release(env.db, res);
        delete ctx.flags[slot];
      }
    });
    // (evidence keys in code-unit order: nothing for the audit's canonical serialiser to sort)
    const evidence = r.leased
      ? { estimate: round(amount), key, leased: true, limit, reserved: round(r.reserved + amount), used: round(r.used) }
      : { estimate: round(amount), key, limit, reserved: round(r.reserved + amount), used: round(r.used) };
    return { decision: "allow", evidence };
  }
  const res = ctx.flags[slot] as Reservation | undefined;
  if (!res) return { decision: "allow", evidence: { reconciled: false } };
  // No usage reported: keep the estimate (never under-count).
  const actual = spec.actual(ctx) ?? res.amount;
  // write-behind: applied by this process's next ledger transaction (or within a few ms)
  reconcile(env.db, res, actual, now);
  delete ctx.flags[slot];
  return { decision: "allow", evidence: { actual: round(actual), key: res.key, limit, reserved: round(res.amount) } };
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;
