/**
 * Effective state → the Compiled Policy's aspects (without version, times and signature), plus
 * the explain rows: every effective value with its because-trail.
 */
import { deniedError } from "../errors.ts";
import { catalog } from "./catalog.ts";
import type { Eff, TSet } from "./cascade.ts";
import { BUDGET_KEYS } from "./cascade.ts";
import { globMatch } from "./glob.ts";
import { checkRulePackages } from "./floor.ts";
import type { Ctx } from "./resolve.ts";
import type { Because, CompiledPolicyPayload, ToolEntry } from "./types.ts";

export type Aspects = Omit<CompiledPolicyPayload, "policy_version" | "sandbox_id" | "issued_at" | "expires_at">;

export interface ExplainRow {
  aspect: string;
  value: unknown;
  because: Because[];
}

const sorted = (s: TSet | null | undefined) => (s ? [...s.keys()].sort() : []);

export function finalize(eff: Eff, ctx: Ctx): { aspects: Aspects; rows: ExplainRow[] } {
  const cat = catalog();
  const rows: ExplainRow[] = [];
  const row = (aspect: string, value: unknown, because: Because[]) => rows.push({ aspect, value, because });
  const rowsOf = (aspect: string, s: TSet | null) => {
    for (const [k, b] of [...(s ?? new Map())].sort(([a], [z]) => a.localeCompare(z))) row(aspect, k, b);
  };
  const agent = ctx.agent;
  const fnName = agent?.function ?? null;
  const fn = fnName ? cat.functions[fnName] : undefined;
  const fnB = (detail: string): Because => ({ level: "agent", source: `function:${fnName}`, detail });

  // identity
  const categories = [...new Set([...(fn?.categories ?? []), ...(agent?.categories ?? [])])].sort();
  const forbidden = new Map<string, Because[]>();
  for (const c of fn?.forbidden_capabilities ?? []) forbidden.set(c, [fnB(`function ${fnName} forbids ${c}`)]);
  // forbidden capabilities are absolute: no level's catalog may redefine a shipped tool without
  // them (checked here too, for agents created after the catalog edit was applied)
  for (const [name, shipped] of Object.entries(cat.tools)) {
    const now = eff.catalog.get(name);
    const lost = shipped.capabilities.filter((c) => forbidden.has(c) && !now?.e.capabilities.includes(c));
    if (!lost.length || !now) continue;
    const by = now.b[now.b.length - 1];
    throw deniedError("forbidden_capability", `${by?.source ?? "a policy source"} at ${by?.level ?? "some"} level: catalog ${name} drops the capability "${lost[0]}", which function ${fnName} forbids for agent ${agent?.name}`, {
      hint: "forbidden capabilities are an absolute floor no level can lift: remove that catalog entry, or give the agent another function",
      details: { rule: `catalog ${name}`, capability: lost[0], floor: { rule: `function ${fnName} forbidden_capabilities`, level: "agent", source: `function:${fnName}` } },
    });
  }
  const capabilities = new Map<string, Because[]>();
  for (const c of fn?.capabilities ?? []) capabilities.set(c, [fnB(`function ${fnName} grants ${c}`)]);
  for (const [c, b] of eff.tools.grant_capabilities) if (!forbidden.has(c)) capabilities.set(c, [...(capabilities.get(c) ?? []), ...b]);
  if (fnName) row("identity.function", fnName, [fnB(`agent ${agent?.name} created with function ${fnName}`)]);
  for (const c of categories) {
    const src = agent?.categories.includes(c) ? { level: "agent" as const, source: `category:${c}`, detail: `agent ${agent?.name} handles ${c}` } : fnB(`function ${fnName} handles ${c}`);
    row("identity.categories", c, [src]);
  }
  rowsOf("identity.concerns", eff.concerns);
  rowsOf("identity.capabilities", capabilities);
  rowsOf("identity.forbidden_capabilities", forbidden);

  // tools
  const toolCatalog: Record<string, ToolEntry> = {};
  for (const [name, { e }] of [...eff.catalog].sort(([a], [b]) => a.localeCompare(b))) toolCatalog[name] = e;
  const deniedCaps = new Map(eff.tools.denied_capabilities);
  for (const [c, b] of forbidden) deniedCaps.set(c, [...(deniedCaps.get(c) ?? []), ...b]);
  const capOf = (t: string) => eff.catalog.get(t)?.e.capabilities ?? [];
  const deny = new Map(eff.tools.deny);
  for (const [name, { e }] of eff.catalog) {
    const hit = e.capabilities.find((c) => deniedCaps.has(c));
    if (hit && !deny.has(name)) deny.set(name, [...(deniedCaps.get(hit) ?? []).map((b) => ({ ...b, detail: `${b.detail} → tool ${name} (${hit})` }))]);
  }
  // base grants: explicit grants + catalog tools whose capabilities are all granted
  const grants = new Map(eff.tools.grant);
  for (const [name, { e }] of eff.catalog) {
    if (e.capabilities.length && e.capabilities.every((c) => capabilities.has(c)) && !grants.has(name)) {
      grants.set(name, e.capabilities.flatMap((c) => (capabilities.get(c) ?? []).map((b) => ({ ...b, detail: `${b.detail} → tool ${name}` }))));
    }
  }
  const allow = new Map<string, Because[]>();
  for (const [name, b] of grants) {
    if ([...deny.keys()].some((d) => globMatch(d, name))) continue;
    if (capOf(name).some((c) => deniedCaps.has(c))) continue;
    const ceiling = eff.tools.allow;
    if (ceiling) {
      const m = [...ceiling.keys()].find((p) => globMatch(p, name));
      if (!m) continue;
      allow.set(name, [...b, ...(ceiling.get(m) ?? [])]);
    } else allow.set(name, b);
  }
  row("tools.default", eff.tools.default.v, eff.tools.default.b);
  rowsOf("tools.allow", allow);
  rowsOf("tools.deny", deny);
  rowsOf("tools.denied_capabilities", deniedCaps);
  for (const c of eff.tools.constraints) row("tools.constraints", { tool: c.tool, param: c.param, op: c.op, value: c.value }, c.because);
  const schemas_acl: Record<string, { allow_fields?: string[]; deny_fields?: string[] }> = {};
  for (const [tool, acl] of [...eff.tools.schemas_acl].sort(([a], [b]) => a.localeCompare(b))) {
    schemas_acl[tool] = { ...(acl.allow ? { allow_fields: sorted(acl.allow) } : {}), ...(acl.deny.size ? { deny_fields: sorted(acl.deny) } : {}) };
    rowsOf(`tools.schemas_acl.${tool}.allow_fields`, acl.allow);
    rowsOf(`tools.schemas_acl.${tool}.deny_fields`, acl.deny);
  }
  rowsOf("tools.dangerous_commands", eff.tools.dangerous_commands);
  rowsOf("tools.forbidden_zones", eff.tools.forbidden_zones);

  // network, filesystem, interpreter, budget
  row("network.egress", eff.network.egress.v, eff.network.egress.b);
  rowsOf("network.allow_domains", eff.network.allow_domains);
  rowsOf("network.deny_domains", eff.network.deny_domains);
  rowsOf("network.deny_categories", eff.network.deny_categories);
  row("filesystem.workspace", eff.filesystem.workspace.v, eff.filesystem.workspace.b);
  rowsOf("filesystem.read_only", eff.filesystem.read_only);
  rowsOf("filesystem.read_write", eff.filesystem.read_write);
  rowsOf("filesystem.deny_paths", eff.filesystem.deny_paths);
  rowsOf("interpreter.host_functions", eff.interpreter.host_functions);
  row("interpreter.memory_mb", eff.interpreter.memory_mb.v, eff.interpreter.memory_mb.b);
  row("interpreter.cpu_time_ms", eff.interpreter.cpu_time_ms.v, eff.interpreter.cpu_time_ms.b);
  for (const k of BUDGET_KEYS) row(`budget.${k}`, eff.budget[k].v, eff.budget[k].b);
  rowsOf("compliance_tags", eff.compliance_tags);
  row("pipeline.mode", eff.mode.v, eff.mode.b);
  row("pipeline.preset", eff.preset.v, eff.preset.b);
  const steps = [...eff.steps].map(([name, s]) => {
    row(`pipeline.steps.${name}`, { enabled: s.enabled, action: s.action, config: s.config }, s.b);
    return { name, enabled: s.enabled, action: s.action, config: s.config };
  });
  checkRulePackages(eff.rules);
  for (const r of eff.rules) row("rules", { id: r.id, entrypoints: r.entrypoints }, [{ level: r.level, source: r.source, detail: `Rego module ${r.id} (${r.entrypoints.join(", ")})` }]);
  rowsOf("models.allow", eff.models.allow);
  rowsOf("models.deny", eff.models.deny);

  const aspects: Aspects = {
    agent: agent?.name ?? "",
    project: ctx.project ?? "",
    org: ctx.org,
    identity: {
      agent_id: agent?.name ?? "",
      function: fnName,
      categories,
      concerns: sorted(eff.concerns),
      capabilities: sorted(capabilities),
      forbidden_capabilities: sorted(forbidden),
    },
    network: {
      egress: eff.network.egress.v,
      allow_domains: sorted(eff.network.allow_domains),
      deny_domains: sorted(eff.network.deny_domains),
      deny_categories: sorted(eff.network.deny_categories),
    },
    filesystem: {
      workspace: eff.filesystem.workspace.v,
      read_only: sorted(eff.filesystem.read_only),
      read_write: sorted(eff.filesystem.read_write),
      deny_paths: sorted(eff.filesystem.deny_paths),
    },
    tools: {
      default: eff.tools.default.v,
      allow: sorted(allow),
      deny: sorted(deny),
      denied_capabilities: sorted(deniedCaps),
      catalog: toolCatalog,
      constraints: eff.tools.constraints,
      schemas_acl,
      dangerous_commands: sorted(eff.tools.dangerous_commands),
      forbidden_zones: sorted(eff.tools.forbidden_zones),
    },
    interpreter: { host_functions: sorted(eff.interpreter.host_functions), memory_mb: eff.interpreter.memory_mb.v, cpu_time_ms: eff.interpreter.cpu_time_ms.v },
    budget: {
      tokens_per_day: eff.budget.tokens_per_day.v,
      dollars_per_month: eff.budget.dollars_per_month.v,
      requests_per_minute: eff.budget.requests_per_minute.v,
      tool_calls_per_minute: eff.budget.tool_calls_per_minute.v,
    },
    compliance_tags: sorted(eff.compliance_tags),
    pipeline: { mode: eff.mode.v, preset: eff.preset.v, steps },
    rules: eff.rules,
    models: { allow: sorted(eff.models.allow), deny: sorted(eff.models.deny), routes: eff.models.routes.map((r) => r.r) },
  };
  return { aspects, rows };
}
