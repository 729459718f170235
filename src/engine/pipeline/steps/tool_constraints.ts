/**
 * tool_constraints: per-argument rules from tools.constraints. A param is an argument path or a
 * catalog slot ("slot:destination" | "slot:amount" | "slot:content"), so one rule — "no
 * destination ending in .us", "amount at most 1000" — covers every tool that has that slot.
 * Destinations that are URLs or e-mail addresses are also matched by their host / domain.
 */
import type { Because, ToolConstraint } from "../../policy/types.ts";
import type { StepDef } from "../types.ts";
import { getPath, globMatch, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { catalogEntry, toolNames } from "./_tools.ts";

function paramPath(c: ToolConstraint, slots: Record<string, string | undefined>): string | undefined {
  if (!c.param.startsWith("slot:")) return c.param;
  return slots[`${c.param.slice(5)}_param`];
}

/** The value and its host / domain forms, so "*.us" catches https://x.gov.us/a and bob@corp.us. */
function forms(v: string): string[] {
  const out = [v.trim()];
  try {
    const u = new URL(v.trim());
    if (u.hostname) out.push(u.hostname);
  } catch {
    /* not a URL */
  }
  const at = v.lastIndexOf("@");
  if (at > 0) out.push(v.slice(at + 1).trim().replace(/>$/, ""));
  return out;
}

function violates(c: ToolConstraint, value: unknown): string | undefined {
  const list = Array.isArray(value) ? value : [value];
  const pats = Array.isArray(c.value) ? c.value.map(String) : [String(c.value)];
  for (const v of list) {
    switch (c.op) {
      case "max":
      case "min": {
        const n = typeof v === "number" ? v : Number(v);
        if (!Number.isFinite(n)) return `${c.param} is not a number`;
        if (c.op === "max" && n > Number(c.value)) return `${c.param} = ${n} exceeds the ceiling ${c.value}`;
        if (c.op === "min" && n < Number(c.value)) return `${c.param} = ${n} is below the floor ${c.value}`;
        break;
      }
      case "deny_match": {
        const f = forms(String(v));
        const p = pats.find((pat) => f.some((x) => globMatch(pat, x, { ci: true })));
        if (p) return `${c.param} matches the denied pattern ${p}`;
        break;
      }
      case "allow_match": {
        const f = forms(String(v));
        if (!pats.some((pat) => f.some((x) => globMatch(pat, x, { ci: true })))) return `${c.param} is not one of the allowed ${pats.join(", ")}`;
        break;
      }
      case "enum":
        if (!pats.includes(String(v))) return `${c.param} must be one of ${pats.join(", ")}`;
        break;
    }
  }
  return undefined;
}

const step: StepDef = {
  name: "tool_constraints",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const constraints = env.policy.tools.constraints;
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    const because: Because[] = [];
    for (const call of calls) {
      const names = toolNames(call);
      const slots = { ...(catalogEntry(env.policy, call)?.slots ?? {}) } as Record<string, string | undefined>;
      for (const c of constraints) {
        if (!names.some((n) => globMatch(c.tool, n))) continue;
        const path = paramPath(c, slots);
        if (!path) continue;
        const value = getPath(call.arguments, path);
        if (value === undefined || value === null) continue;
        const why = violates(c, value);
        if (why) {
          hits.push({ call, reason: `tool "${call.name}": ${why}`, detail: { param: c.param, arg: path, op: c.op } });
          because.push(...c.because);
        }
      }
    }
    const r = toolVerdict(step.name, env, hits, calls.length);
    return because.length ? { ...r, provenance: because } : r;
  },
};
export default step;
