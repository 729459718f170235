/**
 * The inspector the stream guard calls on every window of streamed text: the policy's own
 * response-side text steps (detect_secrets_in_response, detect_pii_in_response, scan_output,
 * redact_response, and any after_call step this file does not know to be about something other
 * than text), run over a scratch context that holds only the window. Same steps, same config,
 * same mode rules as the final after_call, so streaming is not a weaker path. Steps that keep
 * state or look at other things (budgets, rates, tools, rules, PII restore) are left to the
 * one after_call that runs when the stream ends.
 */
import type { Keys } from "../crypto/keys.ts";
import "../pipeline/index.ts";
import { applyMode, planSteps } from "../pipeline/runner.ts";
import type { CallContext, StepDef, StepEnv } from "../pipeline/types.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { Db } from "../store/db.ts";
import type { InspectResult, Inspector } from "./stream-guard.ts";

/** after_call steps that are not text checks of the response (they run once, at the end). */
const NOT_TEXT = new Set([
  "check_policy_fresh",
  "verify_capability_token",
  "enforce_session_scope",
  "enforce_rate_limit",
  "enforce_token_budget",
  "enforce_dollar_budget",
  "enforce_tool_call_rate",
  "enforce_no_train_flag",
  "tools_denied",
  "tools_allowed",
  "denied_tool_categories",
  "forbidden_capabilities",
  "tool_arg_validation",
  "schema_acl",
  "tool_constraints",
  "forbidden_zones",
  "dangerous_commands",
  "loop_guard",
  "tool_pinning",
  "apply_compiled_policy",
  "pii_restore",
  "emit_audit_row",
  "hash_chain_link",
  "sign_mandate",
]);

export interface StreamInspectorFactory {
  /** Step names the guard runs on streamed text (for the audit row). */
  steps: string[];
  /** Is PII restoration (placeholders → originals) on for responses? */
  restorePii: boolean;
  forCall(ctx: CallContext, opts?: { signed?: boolean }): Inspector;
}

export function streamInspector(envelope: CompiledPolicyEnvelope, db: Db, keys: Keys): StreamInspectorFactory {
  const policy = envelope.payload;
  const mode = policy.pipeline.mode;
  const plan = planSteps(policy).filter((p) => {
    const def = p.def;
    if (!def || def.stage === "audit") return false;
    if (!(def.phases ?? [def.phase]).includes("after_call")) return false;
    return !NOT_TEXT.has(def.name);
  }) as Array<{ def: StepDef; cfg: (typeof policy.pipeline.steps)[number] }>;
  const restorePii = policy.pipeline.steps.some((s) => s.name === "pii_restore" && s.enabled) && mode !== "observe";

  return {
    steps: plan.map((p) => p.def.name),
    restorePii,
    forCall(ctx: CallContext, opts: { signed?: boolean } = {}): Inspector {
      return async (window: string): Promise<InspectResult> => {
        const seg = { path: "stream", kind: "response" as const, role: "assistant", text: window };
        const scratch: CallContext = { ...ctx, response: [seg], tool_calls: [], flags: {}, meta: {}, pii_vault: new Map(ctx.pii_vault) };
        const redacted_by: string[] = [];
        for (const p of plan) {
          const env: StepEnv = { policy, step: p.cfg, action: p.cfg.action, db, keys, now: Date.now, phase: "after_call", envelope, defer: () => {} };
          const before = seg.text;
          let decision: string;
          let reason: string | undefined;
          try {
            const r = await p.def.run(scratch, env);
            decision = r.contained ? "redact" : applyMode(mode, r.decision, !!p.def.hard);
            reason = r.reason;
          } catch (e) {
            // a step that throws denies (fail closed), in every mode
            return { block: { step: p.def.name, reason: `step failed: ${(e as Error).message}; stream stopped (fail closed)` }, text: window };
          }
          if (decision === "deny") return { block: { step: p.def.name, reason: reason ?? `denied by ${p.def.name}` }, text: window };
          if (seg.text !== before) {
            if (decision !== "redact") seg.text = before; // observe/warn: rewrites do not take effect
            else if (opts.signed) return { block: { step: p.def.name, reason: `${reason ?? "a redaction was needed"} in signed (thinking) text, which cannot be rewritten` }, text: window };
            else redacted_by.push(p.def.name);
          }
        }
        return { text: seg.text, ...(redacted_by.length ? { redacted_by } : {}) };
      };
    },
  };
}

/** Replace PII placeholders with the originals the prompt-side redaction stored. */
export function restorer(vault: Map<string, string>): (s: string) => string {
  return (s: string) => {
    if (vault.size === 0) return s;
    let out = s;
    for (const [ph, orig] of vault) if (out.includes(ph)) out = out.split(ph).join(orig);
    return out;
  };
}
