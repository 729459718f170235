/**
 * The pipeline's contract: one engine that the LLM gateway, the MCP broker, harness hooks and
 * the eval harness all call with different inputs. A wire adapter turns its traffic into a
 * CallContext, runs the phases, writes any rewrites (redactions, stripped tool calls) back
 * into its own wire format, and finishes the call, which appends ONE audit row.
 *
 *   const call = pipeline.begin({ surface: "llm", agent, session_id, request: segments, ... });
 *   const v1 = await call.run("before_call");  if (v1.decision === "deny") -> refuse in wire format
 *   ... call upstream, fill call.ctx.response / tool_calls / usage ...
 *   const v2 = await call.run("after_call");
 *   const row = await call.finish();           // the committed AuditRow
 */
import type { AuditRow } from "../audit/types.ts";
import type { Keys } from "../crypto/keys.ts";
import type { Db } from "../store/db.ts";
import type { Aspect, Because, CompiledPolicyPayload, PipelineStepConfig, StepAction } from "../policy/types.ts";

export type Surface = "llm" | "mcp" | "hook" | "exec" | "eval" | "admin";
export type Phase = "before_call" | "call" | "after_call";
export type StepDecision = "allow" | "deny" | "redact" | "notify" | "log";

/** A piece of text the detectors look at, with where it sits in the wire message. */
export interface TextSegment {
  /** Adapter-defined locator, e.g. "messages.2.content.0.text"; used to write rewrites back. */
  path: string;
  /** prompt: user/assistant turns · system · tool_output: tool results (indirect injection) · tool_args · response: model output */
  kind: "prompt" | "system" | "tool_output" | "tool_args" | "response";
  role?: string;
  /** Steps may rewrite this (redaction); adapters compare with the original to apply changes. */
  text: string;
}

export interface ToolCall {
  id?: string;
  name: string;
  /** MCP server name, when the call goes to one. */
  server?: string;
  arguments: Record<string, unknown>;
  /** model: emitted in a model response · mcp: tools/call from a client · hook: harness hook · history: earlier turn */
  origin: "model" | "mcp" | "hook" | "history";
  /** Set by a step that strips this call; adapters remove it from the wire message. */
  removed?: { step: string; reason: string };
}

export interface CallContext {
  trace_id: string;
  session_id: string;
  agent: string;
  sandbox_id: string | null;
  surface: Surface;
  /** Raw capability token presented by the caller, if any. */
  token?: string;
  /** Verified token claims (set by verify_capability_token). */
  claims?: Record<string, unknown>;
  model?: string;
  provider?: string;
  /** Request-side text, inspected in before_call. */
  request: TextSegment[];
  /** Response-side text, inspected in after_call. */
  response: TextSegment[];
  /** Tool calls to govern (requested by MCP client / hook in before_call; emitted by the model in after_call). */
  tool_calls: ToolCall[];
  /** Tool descriptions/schemas as advertised by the server (tool_arg_validation, pinning). */
  tool_schemas?: Record<string, { description?: string; inputSchema?: Record<string, unknown> }>;
  /** Real usage, once known (after_call). */
  usage?: { input_tokens: number; output_tokens: number };
  /** Estimate reserved before the call (budget steps reconcile it against usage). */
  estimate?: { input_tokens: number; output_tokens: number };
  /** Reversible PII tokenisation: placeholder -> original (redact_pii_in_prompt fills, pii_restore reads). */
  pii_vault: Map<string, string>;
  /** Flags steps share (e.g. no_train, session_killed). */
  flags: Record<string, unknown>;
  /** Extra facts for the audit row (tokens, cost, tool, upstream status, ...). */
  meta: Record<string, unknown>;
}

/** What each step leaves in the audit row. Evidence never holds raw secrets or PII. */
export interface AuditFragment {
  step: string;
  decision: StepDecision;
  evidence: Record<string, unknown>;
  compiled_policy_aspect: Aspect | "none";
  rule_provenance: Because[];
  duration_ms?: number;
}

export interface StepResult {
  decision: StepDecision;
  /**
   * With decision "deny": the deny was contained by stripping model-emitted tool calls
   * (marked `removed`); the call as a whole goes on. Recorded as "redact".
   */
  contained?: boolean;
  /** Why the rule that fired exists (defaults to the step's preset entry). */
  provenance?: Because[];
  /** One readable sentence when the step denies or redacts (shown to the agent/user). */
  reason?: string;
  evidence?: Record<string, unknown>;
}

export interface StepEnv {
  policy: CompiledPolicyPayload;
  /** This step's config in the Compiled Policy's pipeline aspect. */
  step: PipelineStepConfig;
  action: StepAction;
  db: Db;
  keys: Keys;
  now: () => number;
  /** The phase being run (steps with several `phases` act differently in each). */
  phase: Phase;
  /** The signed envelope the policy came from (check_policy_fresh verifies it). */
  envelope: import("../policy/types.ts").CompiledPolicyEnvelope;
  /** Run fn when the call finishes (e.g. release a budget reservation that was never reconciled). */
  defer(fn: () => void): void;
}

export interface StepDef {
  name: string;
  phase: Phase;
  aspect: Aspect | "none";
  /** Pure inspections that may run concurrently with other concurrent steps of before_call. */
  concurrent?: boolean;
  /** Per-step time limit (ms); a step that throws or times out DENIES. */
  timeout_ms?: number;
  /** Run in these phases instead of just `phase` (e.g. budgets reserve before, reconcile after). */
  phases?: Phase[];
  /** "audit": describes the audit stage; runs at finish(), its fragment goes into the row. */
  stage?: "audit";
  /** Integrity steps (policy signature, token): their deny is never softened by observe/warn. */
  hard?: boolean;
  /** Runs before the other steps of its phase whatever the policy's order (e.g. pii_restore, so tool rules see real values). */
  first?: boolean;
  /**
   * The step checks-and-updates shared counters (synchronously) for this call and needs the
   * database to do it (false when it can answer from memory, e.g. this process's lease): the
   * runner runs it, with the adjacent ledger steps, inside one batched write transaction (../batch.ts).
   */
  ledger?: (ctx: CallContext, env: StepEnv) => boolean;
  /**
   * The step only judges the phase's tool calls (toolsInScope) and, with none, allows with an
   * empty evidence and nothing else: the runner then records that fragment without running it
   * (a plain model call skips a dozen tool steps twice). test/engine/pipeline/tool-scoped.test.ts
   * holds every such step to it.
   */
  toolScoped?: boolean;
  run(ctx: CallContext, env: StepEnv): StepResult | Promise<StepResult>;
}

export interface Verdict {
  decision: "allow" | "deny";
  /** The step that denied, with its reason. */
  denied_by?: { step: string; reason: string };
  /** True when some step rewrote text or stripped tool calls. */
  modified: boolean;
  fragments: AuditFragment[];
}

export interface GovernedCall {
  readonly ctx: CallContext;
  run(phase: Phase): Promise<Verdict>;
  /**
   * The adapter refuses the call for a reason outside the steps (a model outside models.allow,
   * a tool an operator denied, a tool the server does not offer). Appends a fragment with
   * decision "deny" and makes the call's decision "deny" with this `denied_by` (the first deny
   * of a call names it; later ones still leave their fragment). Later `run()`s deny at once.
   * Throws once `finish()` has been called: the row is already written.
   */
  deny(step: string, reason: string, evidence?: Record<string, unknown>, aspect?: Aspect): Verdict;
  /**
   * Appends the single audit row for this call (idempotent) and resolves to it once committed.
   * `trailing`: the answer went out already (audit/trail.ts), so the row may wait a moment to
   * share its commit with the next ones (AuditLog.append).
   */
  finish(extra?: { meta?: Record<string, unknown>; trailing?: boolean }): Promise<AuditRow>;
}

export type CallInit = Partial<CallContext> & Pick<CallContext, "surface" | "agent" | "session_id">;

/** What createPipeline() (./index.ts) returns: one per Compiled Policy, shared by many calls. */
export interface Pipeline {
  readonly policy: import("../policy/types.ts").CompiledPolicyPayload;
  begin(init: CallInit): GovernedCall;
  /** Swap in a newer signed policy (live updates); calls already begun keep theirs. */
  setEnvelope(env: import("../policy/types.ts").CompiledPolicyEnvelope): void;
  stepTimings(): Record<string, { count: number; p50_ms: number; p99_ms: number }>;
}
