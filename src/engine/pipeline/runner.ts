/**
 * The runner: one GovernedCall per call. `run(phase)` runs that phase's enabled steps in policy
 * order, concurrent detectors of before_call together, each under a time limit; a step that
 * throws or times out DENIES (fail closed). The mode then decides what a decision does:
 *   observe  — nothing blocks or rewrites; what would have happened is logged
 *   warn     — a block becomes notify
 *   enforce  — as decided
 *   lockdown — notify becomes block too (steps also deny unknowns)
 * `finish()` appends exactly one audit row (idempotent).
 */
import { randomBytes } from "node:crypto";
import type { Keys } from "../crypto/keys.ts";
import type { AuditLog } from "../audit/store.ts";
import type { AuditDecision, AuditRow } from "../audit/types.ts";
import type { Db } from "../store/db.ts";
import type { Aspect, CompiledPolicyEnvelope, CompiledPolicyPayload, Mode, PipelineStepConfig } from "../policy/types.ts";
import { ledgerTxn } from "./batch.ts";
import { STEPS } from "./steps/index.ts";
import { toolsInScope } from "./steps/_util.ts";
import { costOf } from "./prices.ts";
import type { StepTimings } from "./timings.ts";
import type { AuditFragment, CallContext, CallInit, GovernedCall, Phase, StepDecision, StepDef, StepEnv, StepResult, Verdict } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 2000;

export interface RunnerDeps {
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  audit: () => AuditLog;
  timings: StepTimings;
}

export const newTraceId = () => randomBytes(16).toString("hex");

/**
 * The rule_provenance of a fragment that allowed by the step's own preset entry: empty. That
 * provenance — `{level: "builtin", source: "preset:<preset>", detail: "<step>: <action>"}` — is
 * the same on every call and fully implied by the row's policy_version and the step's name, so
 * the row does not repeat it ~30 times; denials, redactions, notifications, softened decisions
 * and rule-backed decisions (e.g. Rego rules) still carry theirs.
 */
const NO_PROVENANCE = Object.freeze([]) as unknown as AuditFragment["rule_provenance"];

/** What a tool-scoped step says with no tool call in scope, built once per step (frozen: rows share it). */
const idleFragments = new Map<string, AuditFragment>();
function idleFragment(def: StepDef): AuditFragment {
  let f = idleFragments.get(def.name);
  if (!f) {
    // the fragment settle() makes of {decision: "allow", evidence: {}}, keys in code-unit order
    f = Object.freeze({ compiled_policy_aspect: def.aspect, decision: "allow" as const, evidence: Object.freeze({}) as Record<string, unknown>, rule_provenance: NO_PROVENANCE, step: def.name });
    idleFragments.set(def.name, f);
  }
  return f;
}

interface Planned {
  def: StepDef | undefined;
  cfg: PipelineStepConfig;
  /** the step's time limit (ms), worked out on first use */
  limit?: number;
}

const limitOf = (p: Planned): number => (p.limit ??= Number(p.cfg.config?.timeout_ms ?? p.def?.timeout_ms ?? DEFAULT_TIMEOUT_MS));

/** The enabled steps of a policy, with check_policy_fresh forced first (a tampered policy cannot switch it off). */
export function planSteps(policy: CompiledPolicyPayload): Planned[] {
  const enabled = policy.pipeline.steps.filter((s) => s.enabled);
  const plan: Planned[] = enabled.map((cfg) => ({ def: STEPS[cfg.name], cfg }));
  if (!plan.some((p) => p.cfg.name === "check_policy_fresh")) {
    plan.unshift({ def: STEPS.check_policy_fresh, cfg: { name: "check_policy_fresh", enabled: true, action: "block", config: {} } });
  }
  return plan;
}

const runsIn = (def: StepDef, phase: Phase) => def.stage !== "audit" && (def.phases ?? [def.phase]).includes(phase);

interface Plan {
  all: Planned[];
  /** The steps of each phase in run order ("first" steps ahead of the policy's order). */
  phase: Record<Phase, Planned[]>;
}

/** Plans are computed once per Compiled Policy object (a policy swap is a new object). */
const plans = new WeakMap<CompiledPolicyPayload, Plan>();
function planFor(policy: CompiledPolicyPayload): Plan {
  let p = plans.get(policy);
  if (!p) {
    const all = planSteps(policy);
    const of = (phase: Phase) => {
      const inPhase = all.filter((x) => x.def && runsIn(x.def, phase));
      return [...inPhase.filter((x) => x.def?.first), ...inPhase.filter((x) => !x.def?.first)];
    };
    p = { all, phase: { before_call: of("before_call"), call: of("call"), after_call: of("after_call") } };
    plans.set(policy, p);
  }
  return p;
}

/** What the mode makes of a step's decision. */
export function applyMode(mode: Mode, d: StepDecision, hard: boolean): StepDecision {
  if (hard) return d;
  switch (mode) {
    case "observe":
      return d === "allow" ? "allow" : d === "notify" ? "notify" : "log";
    case "warn":
      return d === "deny" ? "notify" : d;
    case "lockdown":
      return d === "notify" ? "deny" : d;
    default:
      return d;
  }
}

interface Snapshot {
  req: string[];
  res: string[];
  removed: (ToolRemoved | undefined)[];
  args: string[];
}
type ToolRemoved = CallContext["tool_calls"][number]["removed"];

const NONE: never[] = [];

/** Taken before every sequential step (so plain loops: it is on every call's path ~40 times). */
function snapshot(ctx: CallContext): Snapshot {
  const rq = ctx.request;
  const rs = ctx.response;
  const tc = ctx.tool_calls;
  const req: string[] = new Array(rq.length);
  for (let i = 0; i < rq.length; i++) req[i] = (rq[i] as { text: string }).text;
  const res: string[] = new Array(rs.length);
  for (let i = 0; i < rs.length; i++) res[i] = (rs[i] as { text: string }).text;
  if (tc.length === 0) return { req, res, removed: NONE, args: NONE };
  const removed: (ToolRemoved | undefined)[] = new Array(tc.length);
  const args: string[] = new Array(tc.length);
  for (let i = 0; i < tc.length; i++) {
    const t = tc[i] as CallContext["tool_calls"][number];
    removed[i] = t.removed;
    args[i] = JSON.stringify(t.arguments);
  }
  return { req, res, removed, args };
}

/** Did a step rewrite text, strip a tool call or change arguments since the snapshot? (pointer compares first; no re-serialising of the texts) */
function changedSince(ctx: CallContext, s: Snapshot): boolean {
  if (ctx.request.length !== s.req.length || ctx.response.length !== s.res.length || ctx.tool_calls.length !== s.removed.length) return true;
  for (let i = 0; i < s.req.length; i++) if ((ctx.request[i] as { text: string }).text !== s.req[i]) return true;
  for (let i = 0; i < s.res.length; i++) if ((ctx.response[i] as { text: string }).text !== s.res[i]) return true;
  for (let i = 0; i < s.removed.length; i++) {
    const t = ctx.tool_calls[i] as CallContext["tool_calls"][number];
    if (t.removed !== s.removed[i] || JSON.stringify(t.arguments) !== s.args[i]) return true;
  }
  return false;
}

function restore(ctx: CallContext, s: Snapshot): void {
  ctx.request.forEach((seg, i) => {
    if (i < s.req.length) seg.text = s.req[i] as string;
  });
  ctx.response.forEach((seg, i) => {
    if (i < s.res.length) seg.text = s.res[i] as string;
  });
  ctx.tool_calls.forEach((t, i) => {
    if (i >= s.removed.length) return;
    if (s.removed[i] === undefined) delete t.removed;
    else t.removed = s.removed[i];
    if (JSON.stringify(t.arguments) !== s.args[i]) t.arguments = JSON.parse(s.args[i] as string);
  });
}

class StepTimeout extends Error {}

type Outcome = { result: StepResult; error?: string; ms: number };

function failedStep(def: StepDef, limit: number, e: unknown, ms: number): Outcome {
  const why = e instanceof StepTimeout ? `exceeded its ${limit} ms time limit` : `failed: ${(e as Error)?.message ?? String(e)}`;
  return { result: { decision: "deny" }, error: `step ${def.name} ${why}; denied (fail closed)`, ms };
}

function doneStep(def: StepDef, limit: number, result: StepResult, ms: number): Outcome {
  // A synchronous step cannot be interrupted; it still fails closed when it overran.
  if (ms > limit) return { result: { decision: "deny" }, error: `step ${def.name} exceeded its ${limit} ms time limit (took ${ms.toFixed(0)} ms); denied (fail closed)`, ms };
  if (!result || typeof result !== "object" || typeof result.decision !== "string") return failedStep(def, limit, new Error("returned no decision"), ms);
  return { result, ms };
}

const isThenable = <T>(x: T | Promise<T>): x is Promise<T> => !!x && typeof (x as Promise<T>).then === "function";

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new StepTimeout(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    if (t) clearTimeout(t);
  }
}

export function beginCall(deps: RunnerDeps, init: CallInit): GovernedCall {
  const envelope = deps.envelope;
  const policy = envelope.payload;
  const mode = policy.pipeline.mode;
  const planned = planFor(policy);
  const plan = planned.all;
  const ctx: CallContext = {
    trace_id: init.trace_id ?? newTraceId(),
    session_id: init.session_id,
    agent: init.agent,
    sandbox_id: init.sandbox_id !== undefined ? init.sandbox_id : policy.sandbox_id,
    surface: init.surface,
    token: init.token,
    claims: init.claims,
    model: init.model,
    provider: init.provider,
    request: init.request ?? [],
    response: init.response ?? [],
    tool_calls: init.tool_calls ?? [],
    tool_schemas: init.tool_schemas,
    usage: init.usage,
    estimate: init.estimate,
    pii_vault: init.pii_vault ?? new Map(),
    flags: init.flags ?? {},
    meta: init.meta ?? {},
  };
  const fragments: AuditFragment[] = [];
  const deferred: Array<() => void> = [];
  let deniedBy: { step: string; reason: string } | undefined;
  let modified = false;
  let finished: Promise<AuditRow> | undefined;
  const started = performance.now();

  const defer = (fn: () => void): void => {
    deferred.push(fn);
  };
  const envFor = (cfg: PipelineStepConfig, phase: Phase): StepEnv => ({
    policy,
    step: cfg,
    action: cfg.action,
    db: deps.db,
    keys: deps.keys,
    now: Date.now,
    phase,
    envelope,
    defer,
  });

  /**
   * Run one step. A synchronous step runs inline (no timer, no promise); one that returns a
   * promise races its time limit. Either way a throw, a timeout or an overrun denies.
   */
  function exec(p: Planned, phase: Phase): Outcome | Promise<Outcome> {
    const t0 = performance.now();
    const def = p.def as StepDef;
    let r: StepResult | Promise<StepResult>;
    try {
      r = def.run(ctx, envFor(p.cfg, phase));
    } catch (e) {
      return failedStep(def, limitOf(p), e, performance.now() - t0);
    }
    if (r && typeof (r as Promise<StepResult>).then === "function") {
      const limit = limitOf(p);
      return withTimeout(Promise.resolve(r), limit).then(
        (res) => doneStep(def, limit, res, performance.now() - t0),
        (e) => failedStep(def, limit, e, performance.now() - t0),
      );
    }
    return doneStep(def, limitOf(p), r as StepResult, performance.now() - t0);
  }

  /** After settle(): the context still equals the snapshot it was given (nothing took effect). */
  let snapHolds = false;

  /** Turn one step outcome into a fragment; returns true when the call is now denied. */
  function settle(p: Planned, out: Outcome, snap: Snapshot | undefined, phaseFrags: AuditFragment[]): boolean {
    const def = p.def as StepDef;
    deps.timings.record(def.name, out.ms);
    const raw = out.result.decision;
    // Errors fail closed in every mode; integrity steps are never softened.
    let eff = out.error ? "deny" : applyMode(mode, raw, !!def.hard);
    const contained = eff === "deny" && !out.error && !!out.result.contained;
    if (contained) eff = "redact";
    if (snap && eff !== "redact" && eff !== "deny") {
      // observe / warn: the step's rewrites and strippings do not take effect.
      // the snapshot still holds for the next step when the context is (again) as it has it
      if (changedSince(ctx, snap)) {
        restore(ctx, snap);
        snapHolds = !changedSince(ctx, snap); // e.g. not when the step added a segment
      } else snapHolds = true;
    } else snapHolds = false;
    // the step's own evidence object, copied only when the runner adds to it (an error, what the
    // mode softened, the reason of a non-allow)
    const softened = !out.error && eff !== raw && !contained;
    const withReason = !!out.result.reason && raw !== "allow";
    let evidence: Record<string, unknown>;
    if (out.error || softened || withReason || !out.result.evidence) {
      evidence = { ...(out.result.evidence ?? {}) };
      if (out.error) evidence.error = out.error;
      else if (softened) {
        evidence.would = raw;
        evidence.mode = mode;
      }
      if (withReason) evidence.reason = out.result.reason;
    } else evidence = out.result.evidence;
    const rule_provenance = out.result.provenance ?? (eff === "allow" && raw === "allow" ? NO_PROVENANCE : [{ level: "builtin" as const, source: `preset:${policy.pipeline.preset}`, detail: `${def.name}: ${p.cfg.action}` }]);
    // Keys in code-unit order: the audit's canonical serialiser then has nothing to sort.
    // Per-step timings live in StepTimings (p50/p99 for /metrics and the bench); the row keeps a
    // step's duration where it explains something: a decision other than a plain allow.
    const frag: AuditFragment =
      eff !== "allow" || out.error
        ? { compiled_policy_aspect: def.aspect, decision: eff as StepDecision, duration_ms: Math.round(out.ms * 1000) / 1000, evidence, rule_provenance, step: def.name }
        : { compiled_policy_aspect: def.aspect, decision: eff as StepDecision, evidence, rule_provenance, step: def.name };
    phaseFrags.push(frag);
    fragments.push(frag);
    if (eff === "redact") modified = true;
    if (eff === "deny") {
      deniedBy = { step: def.name, reason: out.error ?? out.result.reason ?? `denied by ${def.name}` };
      return true;
    }
    return false;
  }

  async function run(phase: Phase): Promise<Verdict> {
    const phaseFrags: AuditFragment[] = [];
    if (deniedBy) return { decision: "deny", denied_by: deniedBy, modified, fragments: phaseFrags };
    // An enabled step this build does not know is a policy we cannot enforce: fail closed.
    if (phase === "before_call") {
      const unknown = plan.find((p) => !p.def);
      if (unknown) {
        const frag: AuditFragment = {
          step: unknown.cfg.name,
          decision: "deny",
          evidence: { error: `unknown pipeline step "${unknown.cfg.name}"` },
          compiled_policy_aspect: "pipeline",
          rule_provenance: [],
        };
        phaseFrags.push(frag);
        fragments.push(frag);
        deniedBy = { step: unknown.cfg.name, reason: `the policy enables step "${unknown.cfg.name}", which this TapPass build does not know; denied (fail closed) — upgrade TapPass or remove the step` };
        return { decision: "deny", denied_by: deniedBy, modified, fragments: phaseFrags };
      }
    }
    const steps = planned.phase[phase];
    // no tool call to judge in this phase (a plain model call; an answer without tool calls): the
    // tool-scoped steps' verdict is known, an allow with nothing to say (StepDef.toolScoped)
    const noTools = !ctx.tool_calls.length || toolsInScope(ctx, phase).length === 0;
    // the snapshot a sequential step runs against: taken afresh only after something may have
    // changed the context (a redaction, a group of concurrent or ledger steps)
    let seqSnap: Snapshot | undefined;
    let i = 0;
    while (i < steps.length) {
      const p = steps[i] as Planned;
      if (noTools && p.def?.toolScoped) {
        const frag = idleFragment(p.def);
        phaseFrags.push(frag);
        fragments.push(frag);
        i++;
        continue;
      }
      const canGroup = phase === "before_call" && p.def?.concurrent && p.cfg.action !== "redact";
      if (canGroup) {
        seqSnap = undefined;
        const group: Planned[] = [];
        while (i < steps.length && (steps[i] as Planned).def?.concurrent && (steps[i] as Planned).cfg.action !== "redact") group.push(steps[i++] as Planned);
        // synchronous detectors settle without a promise round trip
        const started = group.map((g) => exec(g, phase));
        const outs = started.some(isThenable) ? await Promise.all(started) : (started as Outcome[]);
        let denied = false;
        for (let k = 0; k < group.length; k++) {
          if (settle(group[k] as Planned, outs[k] as Outcome, undefined, phaseFrags)) {
            denied = true;
            break;
          }
        }
        if (denied) break;
      } else if (p.def?.ledger?.(ctx, envFor(p.cfg, phase))) {
        // adjacent ledger steps: one batched write transaction (atomic check-and-update)
        seqSnap = undefined;
        const group: Planned[] = [];
        while (i < steps.length && (steps[i] as Planned).def?.ledger?.(ctx, envFor((steps[i] as Planned).cfg, phase))) group.push(steps[i++] as Planned);
        let denied: boolean;
        let current = group[0] as Planned;
        try {
          denied = await ledgerTxn(deps.db, () => {
            for (const g of group) {
              current = g;
              const snap = snapshot(ctx);
              const out = exec(g, phase);
              const sync: Outcome = isThenable(out) ? { result: { decision: "deny" }, error: `step ${g.cfg.name} is a ledger step but returned a promise; denied (fail closed)`, ms: 0 } : out;
              if (settle(g, sync, snap, phaseFrags)) return true;
            }
            return false;
          });
        } catch (e) {
          denied = settle(current, { result: { decision: "deny" }, error: `step ${current.cfg.name}: the shared-counter transaction failed (${(e as Error)?.message ?? String(e)}); denied (fail closed)`, ms: 0 }, undefined, phaseFrags);
        }
        if (denied) break;
      } else {
        i++;
        const snap = seqSnap ?? snapshot(ctx);
        const o = exec(p, phase);
        const out = isThenable(o) ? await o : o;
        if (settle(p, out, snap, phaseFrags)) break;
        seqSnap = snapHolds ? snap : undefined;
      }
    }
    return deniedBy
      ? { decision: "deny", denied_by: deniedBy, modified, fragments: phaseFrags }
      : { decision: "allow", modified, fragments: phaseFrags };
  }

  async function doFinish(extra?: { meta?: Record<string, unknown>; trailing?: boolean }): Promise<AuditRow> {
    for (const fn of deferred.splice(0)) {
      try {
        fn();
      } catch {
        /* releasing a reservation must not lose the audit row */
      }
    }
    // The audit stage steps describe how the row is chained and signed.
    for (const p of plan) {
      if (p.def?.stage !== "audit") continue;
      const o = exec(p, "after_call");
      const out = isThenable(o) ? await o : o;
      deps.timings.record(p.def.name, out.ms);
      fragments.push({
        compiled_policy_aspect: p.def.aspect,
        decision: out.error ? "log" : out.result.decision,
        evidence: { ...(out.result.evidence ?? {}), ...(out.error ? { error: out.error } : {}) },
        rule_provenance: out.error ? [{ level: "builtin", source: `preset:${policy.pipeline.preset}`, detail: `${p.def.name}: ${p.cfg.action}` }] : NO_PROVENANCE,
        step: p.def.name,
      });
    }
    const decision: AuditDecision = deniedBy ? "deny" : modified ? "redact" : fragments.some((f) => f.decision === "notify") ? "notify" : "allow";
    const governed = ctx.tool_calls.filter((t) => t.origin !== "history");
    const cost = ctx.usage && ctx.model ? costOf(ctx.model, ctx.usage) : undefined;
    // (members set one by one rather than spread from temporaries: this runs on every call)
    const meta: Record<string, unknown> = { mode, preset: policy.pipeline.preset };
    if (ctx.model) meta.model = ctx.model;
    if (ctx.provider) meta.provider = ctx.provider;
    if (ctx.usage) meta.tokens = { input: ctx.usage.input_tokens, output: ctx.usage.output_tokens };
    if (cost !== undefined) meta.cost_usd = cost;
    if (governed.length) {
      meta.tools = governed.map((t) => {
        const tool: Record<string, unknown> = { name: t.name };
        if (t.server) tool.server = t.server;
        tool.origin = t.origin;
        if (t.removed) tool.removed_by = t.removed.step;
        return tool;
      });
    }
    if (deniedBy) meta.denied_by = deniedBy;
    if (ctx.flags.no_train) meta.no_train = true;
    if (ctx.flags.session_killed) meta.session_killed = true;
    meta.duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
    // what the adapter adds, last (it may override): spread, so its keys are defined as data
    const rowMeta: Record<string, unknown> = extra?.meta ? { ...meta, ...ctx.meta, ...extra.meta } : { ...meta, ...ctx.meta };
    const row = await deps.audit().append({
      trace_id: ctx.trace_id,
      session_id: ctx.session_id,
      agent_id: ctx.agent,
      sandbox_id: ctx.sandbox_id,
      policy_version: policy.policy_version,
      surface: ctx.surface,
      decision,
      step_decisions: fragments,
      meta: rowMeta,
    }, extra?.trailing ? { trailing: true } : undefined);
    return row;
  }

  function deny(step: string, reason: string, evidence?: Record<string, unknown>, aspect?: Aspect): Verdict {
    if (finished) throw new Error(`deny(${step}) after finish(): the audit row of call ${ctx.trace_id} is already written`);
    if (!step || !reason) throw new Error("deny() needs a step and a reason");
    const frag: AuditFragment = {
      step,
      decision: "deny",
      evidence: { ...(evidence ?? {}), reason },
      compiled_policy_aspect: aspect ?? "none",
      rule_provenance: [{ level: "builtin", source: `adapter:${ctx.surface}`, detail: `${step}: refused by the ${ctx.surface} adapter` }],
    };
    fragments.push(frag);
    deniedBy ??= { step, reason };
    return { decision: "deny", denied_by: deniedBy, modified, fragments: [frag] };
  }

  return {
    ctx,
    run,
    deny,
    finish(extra) {
      finished ??= doFinish(extra);
      return finished;
    },
  };
}
