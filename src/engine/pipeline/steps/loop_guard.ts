/**
 * loop_guard: the same tool with the same arguments more than max_repeats times (default 5)
 * within window_s (default 300) in one session is a runaway loop: the call is denied and the
 * session is killed (every later call in it is refused). State lives in SQLite, so the count
 * holds across processes; it is written behind (countRepeats / noteRepeat in _ledger.ts), so a
 * tool call pays a read here, not a write transaction of its own.
 */
import { canonicalText } from "../../audit/chain.ts";
import type { StepDef } from "../types.ts";
import { countRepeats, isSessionKilled, killSession, noteRepeat } from "./_ledger.ts";
import { num, shortHash, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";

const step: StepDef = {
  name: "loop_guard",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "tools",
  run(ctx, env) {
    const calls = toolsInScope(ctx, env.phase);
    // a response without tool calls repeats nothing (and the session was checked before the call)
    if (calls.length === 0 && env.phase === "after_call") return { decision: "allow", evidence: {} };
    // enforce_session_scope read the session's row earlier in this phase (same call): not again
    const killed = ctx.flags._session_alive_phase === env.phase ? undefined : isSessionKilled(env.db, ctx.session_id);
    if (killed) {
      ctx.flags.session_killed = true;
      return { decision: "deny", reason: `session ${ctx.session_id} was killed (${killed.reason ?? "loop"}); start a new session`, evidence: { session_killed: true } };
    }
    const c = env.step.config ?? {};
    const max = num(c.max_repeats, 5);
    const windowMs = num(c.window_s, 300) * 1000;
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const fp = shortHash(`${call.server ?? ""}\u0000${call.name}\u0000${canonicalText(call.arguments)}`);
      const key = `loop:sess=${ctx.session_id}:fp=${fp}`;
      const count = countRepeats(env.db, key, windowMs, env.now());
      if (count + 1 > max) hits.push({ call, reason: `tool "${call.name}" called with the same arguments ${count + 1} times in ${windowMs / 1000} s (limit ${max}): loop`, detail: { fingerprint: fp, repeats: count + 1 } });
      else noteRepeat(env.db, key, windowMs, env.now());
    }
    if (hits.length === 0) return { decision: "allow", evidence: calls.length ? { tools_checked: calls.length } : {} };
    const mode = env.policy.pipeline.mode;
    if (env.action === "block" && (mode === "enforce" || mode === "lockdown")) {
      killSession(env.db, ctx.session_id, ctx.agent, `loop_guard: ${hits[0]?.call.name} repeated`, env.now());
      ctx.flags.session_killed = true;
      // A killed session denies the whole call, whatever the origin.
      return { decision: "deny", reason: `${hits.map((h) => h.reason).join("; ")}; session killed`, evidence: { session_killed: true, violations: hits.map((h) => ({ tool: h.call.name, origin: h.call.origin, ...h.detail })) } };
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
