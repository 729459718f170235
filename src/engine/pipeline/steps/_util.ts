/** Helpers shared by steps (not a step: steps/index.ts lists the steps). */
import { sha256hex } from "../../audit/chain.ts";
import type { StepAction } from "../../policy/types.ts";
import type { CallContext, Phase, StepDecision, StepEnv, StepResult, ToolCall } from "../types.ts";

/** What a step's action makes of a finding. */
export function act(action: StepAction): StepDecision {
  return action === "block" ? "deny" : action;
}

/** First 12 hex chars of SHA-256: evidence that identifies a value without revealing it. */
export const shortHash = (s: string) => sha256hex(s).slice(0, 12);

/** Compiled globs, one map per (path, ci) combination: a lookup builds no key string. */
const globCache: Array<Map<string, RegExp>> = [new Map(), new Map(), new Map(), new Map()];
/**
 * Glob → RegExp. `**` matches anything; `*` matches anything except "/" in path mode and
 * anything at all otherwise; `?` one character. Case-sensitive unless `ci`.
 */
export function globRe(pattern: string, opts: { path?: boolean; ci?: boolean } = {}): RegExp {
  const cache = globCache[(opts.path ? 2 : 0) + (opts.ci ? 1 : 0)] as Map<string, RegExp>;
  let re = cache.get(pattern);
  if (!re) {
    let src = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i] as string;
      if (c === "*") {
        if (pattern[i + 1] === "*") {
          src += ".*";
          i++;
        } else src += opts.path ? "[^/]*" : ".*";
      } else if (c === "?") src += opts.path ? "[^/]" : ".";
      else src += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    re = new RegExp(`^${src}$`, opts.ci ? "is" : "s");
    cache.set(pattern, re);
  }
  return re;
}

export const globMatch = (pattern: string, s: string, opts?: { path?: boolean; ci?: boolean }) => globRe(pattern, opts).test(s);
export const anyGlob = (patterns: readonly string[], s: string, opts?: { path?: boolean; ci?: boolean }) => patterns.find((p) => globMatch(p, s, opts));

/** The tool calls this phase governs: MCP / hook requests before the call, model-emitted ones after. */
export function toolsInScope(ctx: CallContext, phase: Phase): ToolCall[] {
  return ctx.tool_calls.filter((t) => !t.removed && (phase === "after_call" ? t.origin === "model" : t.origin === "mcp" || t.origin === "hook"));
}

export interface ToolHit {
  call: ToolCall;
  reason: string;
  detail?: Record<string, unknown>;
}

/**
 * The verdict of a tool step: a model-emitted call that breaks a rule is stripped (marked
 * `removed`, the gateway drops it) and the response goes on; an MCP / hook call denies the call.
 */
export function toolVerdict(name: string, env: StepEnv, hits: ToolHit[], checked: number): StepResult {
  // nothing in scope: an empty evidence (meta.tools lists the call's tools)
  if (hits.length === 0) return { decision: "allow", evidence: checked ? { tools_checked: checked } : {} };
  const evidence = {
    tools_checked: checked,
    violations: hits.map((h) => ({ tool: h.call.name, ...(h.call.server ? { server: h.call.server } : {}), origin: h.call.origin, reason: h.reason, ...(h.detail ?? {}) })),
  };
  const reason = hits.map((h) => h.reason).join("; ");
  const d = act(env.action);
  if (d !== "deny" && d !== "redact") return { decision: d, reason, evidence };
  const direct = hits.filter((h) => h.call.origin !== "model");
  for (const h of hits) if (h.call.origin === "model") h.call.removed = { step: name, reason: h.reason };
  if (direct.length) return { decision: "deny", reason, evidence };
  return { decision: "deny", contained: true, reason, evidence: { ...evidence, removed: hits.map((h) => h.call.id ?? h.call.name) } };
}

/** Visit every string leaf of a value with its dotted path. */
export function walkStrings(v: unknown, fn: (path: string, s: string) => void, path = ""): void {
  if (typeof v === "string") fn(path, v);
  else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walkStrings(v[i], fn, path ? `${path}.${i}` : String(i));
  }
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walkStrings(x, fn, path ? `${path}.${k}` : k);
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Record<string, unknown> = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== "object") return;
    cur = next as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

export const num = (v: unknown, dflt: number): number => (typeof v === "number" && Number.isFinite(v) ? v : dflt);
export const strs = (v: unknown, dflt: string[] = []): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : dflt);
export const isLockdown = (env: StepEnv) => env.policy.pipeline.mode === "lockdown";

/**
 * A per-agent rate rule from a step's config or the policy's budget (requests_per_minute,
 * tool_calls_per_minute): the limit, the window (config window_s, default 60 s) and the counter key.
 */
export function rateRule(ctx: CallContext, env: StepEnv, field: "requests_per_minute" | "tool_calls_per_minute", prefix: string): { limit: number; windowMs: number; key: string } | undefined {
  const c = env.step.config ?? {};
  const limit = typeof c[field] === "number" ? (c[field] as number) : env.policy.budget[field];
  if (limit === null || limit === undefined) return undefined;
  return { limit, windowMs: num(c.window_s, 60) * 1000, key: `${prefix}:agent=${ctx.agent}` };
}
