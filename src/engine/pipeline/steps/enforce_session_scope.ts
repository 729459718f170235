/**
 * enforce_session_scope: the call stays inside what its policy and token were issued for —
 * the policy's agent, the token's session and sandbox — and the session has not been killed
 * (loop_guard). A session id is bound to the first agent that used it.
 */
import type { StepDef } from "../types.ts";
import { sessionKnown, sessionRow } from "./_ledger.ts";

const step: StepDef = {
  name: "enforce_session_scope",
  phase: "before_call",
  aspect: "identity",
  hard: true,
  // records a session the first time this process sees it: in the batched ledger transaction
  ledger: (ctx, env) => !!ctx.session_id && !sessionKnown(env.db, ctx.session_id),
  run(ctx, env) {
    const p = env.policy;
    if (p.agent !== ctx.agent && p.identity.agent_id !== ctx.agent)
      return { decision: "deny", reason: `this Compiled Policy is for agent "${p.agent}", not "${ctx.agent}"`, evidence: { policy_agent: p.agent } };
    if (!ctx.session_id) return { decision: "deny", reason: "the call has no session id", evidence: {} };
    const claims = ctx.claims ?? {};
    if (typeof claims.sid === "string" && claims.sid !== ctx.session_id)
      return { decision: "deny", reason: "the capability token was issued for another session", evidence: { scope: "session_mismatch" } };
    if (typeof claims.sbx === "string" && claims.sbx !== ctx.sandbox_id)
      return { decision: "deny", reason: `the capability token is bound to sandbox ${claims.sbx}`, evidence: { scope: "sandbox_mismatch" } };
    if (p.sandbox_id && ctx.sandbox_id && p.sandbox_id !== ctx.sandbox_id)
      return { decision: "deny", reason: `this Compiled Policy is for sandbox ${p.sandbox_id}`, evidence: { scope: "sandbox_mismatch" } };
    // one read of the session's row (owner, killed); a new session is recorded for this agent
    const row = sessionRow(env.db, ctx.session_id, ctx.agent);
    if (row.killed) {
      ctx.flags.session_killed = true;
      return { decision: "deny", reason: `session ${ctx.session_id} was killed${row.killed.reason ? ` (${row.killed.reason})` : ""}; start a new session`, evidence: { scope: "session_killed" } };
    }
    if (row.agent !== ctx.agent) return { decision: "deny", reason: "this session id belongs to another agent", evidence: { scope: "session_owner_mismatch" } };
    // loop_guard, later in this phase, need not read the same row again
    ctx.flags._session_alive_phase = env.phase;
    return { decision: "allow", evidence: { session: "in_scope" } };
  },
};
export default step;
