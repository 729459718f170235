/**
 * apply_compiled_policy: evaluates the policy's Rego `rules` modules with the call as `input`
 * (src/engine/rego). Each module's entrypoints are queried once for the call itself and once
 * per governed tool call (input.tool set); a non-empty set/array, a string, or `true` from a
 * deny entrypoint denies, each member a reason. Prepared queries are cached per policy.
 * input = { agent, session_id, surface, model, provider, sandbox_id, policy_version,
 *           claims, flags, tool?: {name, server, arguments, origin}, tools: [names] }
 */
import { compileModules, type PreparedQuery } from "../../rego/index.ts";
import { fromJSON, type RObject, toJSON, type Value } from "../../rego/value.ts";
import type { CompiledPolicyPayload } from "../../policy/types.ts";
import type { CallContext, StepDef, ToolCall } from "../types.ts";
import { act, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";

interface Prepared {
  rule: string;
  entrypoint: string;
  q: PreparedQuery;
  /** a deny entrypoint (`deny`, `violation(s)`): only those are queried */
  deny: boolean;
}

const isDeny = (e: string) => /(^|\.)deny$|(^|\.)violation(s)?$/.test(e);

const cache = new WeakMap<CompiledPolicyPayload, Prepared[]>();

function prepared(policy: CompiledPolicyPayload): Prepared[] {
  let p = cache.get(policy);
  if (!p) {
    const list: Prepared[] = [];
    if (policy.rules.length) {
      const compiled = compileModules(policy.rules.map((r) => ({ filename: r.source.replace(/^file:/, "") || `${r.id}.rego`, source: r.module })));
      for (const r of policy.rules) for (const e of r.entrypoints) list.push({ rule: r.id, entrypoint: e, q: compiled.prepare(e), deny: isDeny(e) });
    }
    p = list;
    cache.set(policy, p);
  }
  return p;
}

function reasons(result: Array<Record<string, unknown>>, entrypoint: string): string[] {
  const out: string[] = [];
  for (const row of result) {
    const v = row[entrypoint] ?? Object.values(row)[0];
    if (v === true) out.push(`${entrypoint} is true`);
    else if (typeof v === "string" && v) out.push(v);
    else if (Array.isArray(v)) for (const x of v) out.push(typeof x === "string" ? x : JSON.stringify(x));
    else if (v && typeof v === "object" && Object.keys(v).length) out.push(JSON.stringify(v));
  }
  return out;
}

/** Query p with an input already converted to a Rego value; rows as plain JSON (what PreparedQuery.eval returns). */
function evalWith(p: Prepared, input: Value): Array<Record<string, unknown>> {
  return p.q.evalValues(input).map((r) => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(r)) out[k] = toJSON(r[k] as Value);
    return out;
  });
}

/**
 * regoInput(ctx, policy, tool) as a Rego value, from the call's input converted once: the
 * per-tool inputs are a copy of it with `tool` set (the same object fromJSON would build).
 */
function withTool(base: RObject, tool: ToolCall): RObject {
  return base.clone().set("tool", fromJSON({ name: tool.name, server: tool.server ?? null, arguments: tool.arguments, origin: tool.origin }));
}

export function regoInput(ctx: CallContext, policy: CompiledPolicyPayload, tool?: ToolCall): Record<string, unknown> {
  return {
    agent: ctx.agent,
    session_id: ctx.session_id,
    sandbox_id: ctx.sandbox_id,
    surface: ctx.surface,
    model: ctx.model ?? null,
    provider: ctx.provider ?? null,
    policy_version: policy.policy_version,
    claims: ctx.claims ?? {},
    flags: Object.fromEntries(Object.entries(ctx.flags).filter(([k]) => !k.startsWith("_"))),
    tools: ctx.tool_calls.filter((t) => !t.removed).map((t) => t.name),
    ...(tool ? { tool: { name: tool.name, server: tool.server ?? null, arguments: tool.arguments, origin: tool.origin } } : {}),
  };
}

const step: StepDef = {
  name: "apply_compiled_policy",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  aspect: "rules",
  run(ctx, env) {
    const qs = prepared(env.policy);
    if (qs.length === 0) return { decision: "allow", evidence: { rules: 0 } };
    const fired: Array<{ rule: string; entrypoint: string; reason: string; tool?: string }> = [];
    const provenance = env.policy.rules.map((r) => ({ level: r.level === "builtin" ? ("builtin" as const) : r.level, source: r.source, detail: `rule ${r.id}` }));
    const calls = toolsInScope(ctx, env.phase);
    // the call's input, converted to a Rego value once for the call-level and every per-tool query
    const base = env.phase === "before_call" || calls.length > 0 ? (fromJSON(regoInput(ctx, env.policy)) as RObject) : undefined;
    // Call-level: once per phase, before the call only (the call's facts do not change after).
    if (env.phase === "before_call" && base) {
      for (const p of qs) if (p.deny) for (const r of reasons(evalWith(p, base), p.entrypoint)) fired.push({ rule: p.rule, entrypoint: p.entrypoint, reason: r });
      if (fired.length) return { decision: act(env.action), reason: fired.map((f) => f.reason).join("; "), evidence: { rules: qs.length, fired }, provenance };
    }
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const input = withTool(base as RObject, call);
      const why: string[] = [];
      for (const p of qs) {
        if (!p.deny) continue;
        for (const r of reasons(evalWith(p, input), p.entrypoint)) {
          why.push(r);
          fired.push({ rule: p.rule, entrypoint: p.entrypoint, reason: r, tool: call.name });
        }
      }
      if (why.length) hits.push({ call, reason: why.join("; ") });
    }
    const r = toolVerdict(step.name, env, hits, calls.length);
    return { ...r, evidence: { ...(r.evidence ?? {}), rules: qs.length, ...(fired.length ? { fired } : {}) }, provenance };
  },
};
export default step;
