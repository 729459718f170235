/**
 * The cascade: fragments merged in order builtin → org → project → agent identity (function,
 * categories, concerns) → agent, strictest wins (enabled beats disabled; block > redact >
 * notify > log; lower numeric ceiling wins; allow-lists intersect; deny-lists union). Only the
 * org's own files may change the built-in defaults ("relax" layers); every value keeps the
 * trail of the fragments that put it there.
 */
import type { Fragment, StepOverride } from "./fragment.ts";
import type { Because, CascadeLevel, Mode, Preset, RegoRuleModule, StepAction, ToolConstraint, ToolEntry } from "./types.ts";

export type Trail = Because[];
export type TSet = Map<string, Trail>;
export interface TVal<T> {
  v: T;
  b: Trail;
}

export interface Origin {
  level: CascadeLevel | "builtin";
  source: string;
}

export interface Layer {
  frag: Fragment;
  origin: Origin;
  /** May replace (not only tighten) the values set before it: the org's own files over the built-in defaults. */
  relax?: boolean;
  /** Why this layer is here, e.g. "enrolled by category:customer_pii". */
  note?: string;
}

export interface StepState {
  enabled: boolean;
  action: StepAction;
  config: Record<string, unknown>;
  b: Trail;
}

export type BudgetKey = "tokens_per_day" | "dollars_per_month" | "requests_per_minute" | "tool_calls_per_minute";
export const BUDGET_KEYS: BudgetKey[] = ["tokens_per_day", "dollars_per_month", "requests_per_minute", "tool_calls_per_minute"];

export interface Eff {
  mode: TVal<Mode>;
  preset: TVal<Preset>;
  steps: Map<string, StepState>;
  tools: {
    default: TVal<"deny" | "allow">;
    grant: TSet;
    grant_capabilities: TSet;
    allow: TSet | null;
    deny: TSet;
    denied_capabilities: TSet;
    constraints: ToolConstraint[];
    schemas_acl: Map<string, { allow: TSet | null; deny: TSet }>;
    dangerous_commands: TSet;
    forbidden_zones: TSet;
  };
  catalog: Map<string, { e: ToolEntry; b: Trail }>;
  network: { egress: TVal<"deny" | "allowlist" | "open">; allow_domains: TSet | null; deny_domains: TSet; deny_categories: TSet };
  filesystem: { workspace: TVal<string>; read_only: TSet | null; read_write: TSet | null; deny_paths: TSet };
  interpreter: { host_functions: TSet | null; memory_mb: TVal<number>; cpu_time_ms: TVal<number> };
  budget: Record<BudgetKey, TVal<number | null>>;
  compliance_tags: TSet;
  concerns: TSet;
  models: { allow: TSet | null; deny: TSet; routes: Array<{ r: NonNullable<NonNullable<Fragment["models"]>["routes"]>[number]; b: Trail }> };
  rules: RegoRuleModule[];
}

export const MODE_RANK: Record<Mode, number> = { observe: 0, warn: 1, enforce: 2, lockdown: 3 };
export const PRESET_RANK: Record<Preset, number> = { starter: 0, standard: 1, regulated: 2 };
export const ACTION_RANK: Record<StepAction, number> = { log: 0, notify: 1, redact: 2, block: 3 };
export const EGRESS_RANK = { open: 0, allowlist: 1, deny: 2 } as const;
export const DEFAULT_RANK = { allow: 0, deny: 1 } as const;

const bec = (o: Origin, detail: string, note?: string): Because => ({ level: o.level, source: o.source, detail: note ? `${detail} (${note})` : detail });

export function emptyEff(): Eff {
  const b: Trail = [];
  return {
    mode: { v: "observe", b },
    preset: { v: "starter", b },
    steps: new Map(),
    tools: {
      default: { v: "allow", b: [] },
      grant: new Map(),
      grant_capabilities: new Map(),
      allow: null,
      deny: new Map(),
      denied_capabilities: new Map(),
      constraints: [],
      schemas_acl: new Map(),
      dangerous_commands: new Map(),
      forbidden_zones: new Map(),
    },
    catalog: new Map(),
    network: { egress: { v: "open", b: [] }, allow_domains: null, deny_domains: new Map(), deny_categories: new Map() },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: "${cwd}" is a literal placeholder expanded at enforcement
    filesystem: { workspace: { v: "${cwd}", b: [] }, read_only: null, read_write: null, deny_paths: new Map() },
    interpreter: { host_functions: null, memory_mb: { v: 256, b: [] }, cpu_time_ms: { v: 5000, b: [] } },
    budget: {
      tokens_per_day: { v: null, b: [] },
      dollars_per_month: { v: null, b: [] },
      requests_per_minute: { v: null, b: [] },
      tool_calls_per_minute: { v: null, b: [] },
    },
    compliance_tags: new Map(),
    concerns: new Map(),
    models: { allow: null, deny: new Map(), routes: [] },
    rules: [],
  };
}

function ranked<T extends string>(cur: TVal<T>, v: T | undefined, rank: Record<T, number>, b: Because, relax: boolean): void {
  if (v === undefined) return;
  if (v === cur.v) cur.b.push(b);
  else if (relax || rank[v] > rank[cur.v]) {
    cur.v = v;
    cur.b = [b];
  }
}

/** Lower ceiling wins; null = no ceiling. */
function ceiling(cur: TVal<number | null>, v: number | null | undefined, b: Because, relax: boolean): void {
  if (v === undefined) return;
  if (v === cur.v) cur.b.push(b);
  else if (relax || (v !== null && (cur.v === null || v < cur.v))) {
    cur.v = v;
    cur.b = [b];
  }
}

function union(set: TSet, items: string[] | undefined, b: (x: string) => Because): void {
  for (const x of items ?? []) {
    const t = set.get(x);
    if (t) t.push(b(x));
    else set.set(x, [b(x)]);
  }
}

/** Allow-lists intersect (null = no list yet); a relax layer replaces. */
function intersect(cur: TSet | null, items: string[] | undefined, b: (x: string) => Because, relax: boolean): TSet | null {
  if (items === undefined) return cur;
  if (cur === null || relax) {
    const m: TSet = new Map();
    union(m, items, b);
    return m;
  }
  const next: TSet = new Map();
  for (const x of items) {
    const t = cur.get(x);
    if (t) next.set(x, [...t, b(x)]);
  }
  return next;
}

/**
 * Step config keys whose direction is known: "lower" / "higher" — that way is stricter; "more" —
 * a longer list is stricter (what is scanned, matched or forbidden); "true" — only true is the
 * strict setting. Below org, a config key not listed here cannot be changed (floor.ts).
 */
export const CONFIG_STRICTER: Record<string, "lower" | "higher" | "more" | "true"> = {
  threshold: "lower",
  max_ttl_s: "lower",
  max_repeats: "lower",
  window_s: "higher",
  kinds: "more",
  detectors: "more",
  zones: "more",
  patterns: "more",
  include_defaults: "true",
};

/** What a step uses when its config does not set a key (the steps' own defaults). */
export const CONFIG_DEFAULTS: Record<string, unknown> = { threshold: 0.5, max_ttl_s: 300, max_repeats: 5, include_defaults: true, zones: [], patterns: [] };

function mergeConfig(cur: Record<string, unknown>, over: Record<string, unknown>, relax: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cur };
  for (const [k, v] of Object.entries(over)) {
    const c = out[k];
    if (relax || c === undefined) out[k] = v;
    else if (typeof c === "number" && typeof v === "number") out[k] = CONFIG_STRICTER[k] === "higher" ? Math.max(c, v) : Math.min(c, v);
    else if (Array.isArray(c) && Array.isArray(v)) out[k] = [...new Set([...c, ...v])];
    else if (c && v && typeof c === "object" && typeof v === "object") out[k] = mergeConfig(c as Record<string, unknown>, v as Record<string, unknown>, relax);
    else out[k] = v;
  }
  return out;
}

function mergeStep(s: StepState, ov: StepOverride, b: Because, relax: boolean): void {
  const enabled = ov.enabled ?? true;
  let changed = false;
  if (relax ? enabled !== s.enabled : enabled && !s.enabled) {
    s.enabled = enabled;
    changed = true;
  }
  if (ov.action && (relax ? ov.action !== s.action : ACTION_RANK[ov.action] > ACTION_RANK[s.action])) {
    s.action = ov.action;
    changed = true;
  }
  if (ov.config) {
    s.config = mergeConfig(s.config, ov.config, relax);
    changed = true;
  }
  if (changed) s.b = [...s.b.filter((x) => x.level === "builtin" && x.source.startsWith("preset:")), b];
  else s.b.push(b);
}

/** Apply a catalog edit (new tool, or `extends:` with +cap / -cap). */
export function editCatalog(catalog: Eff["catalog"], name: string, edit: NonNullable<Fragment["catalog"]>[string], b: Because): void {
  const base = catalog.get(edit.extends ?? name);
  const caps = new Set(edit.extends || base ? (base?.e.capabilities ?? []) : []);
  const list = edit.capabilities ?? [];
  const signed = list.some((c) => c.startsWith("+") || c.startsWith("-"));
  if (!signed && edit.capabilities) caps.clear();
  for (const c of list) {
    if (c.startsWith("-")) caps.delete(c.slice(1));
    else caps.add(c.replace(/^\+/, ""));
  }
  const e: ToolEntry = {
    ...(base?.e ?? {}),
    capabilities: [...caps].sort(),
    ...(edit.slots ? { slots: { ...(base?.e.slots ?? {}), ...edit.slots } } : {}),
    ...(edit.server ? { server: edit.server } : {}),
    ...(edit.description ? { description: edit.description } : {}),
    ...(edit.input_schema ? { input_schema: edit.input_schema } : {}),
  };
  catalog.set(name, { e, b: [...(base && edit.extends === undefined ? base.b : []), b] });
}

/** Merge one layer into the effective state. Preset steps are seeded by the caller. */
export function applyLayer(eff: Eff, layer: Layer): void {
  const { frag: f, origin: o, note } = layer;
  const relax = !!layer.relax;
  const d = (path: string) => (x: string) => bec(o, `${path} ${x}`, note);
  ranked(eff.mode, f.pipeline?.mode, MODE_RANK, bec(o, `pipeline.mode ${f.pipeline?.mode}`, note), relax);
  for (const [name, ov] of Object.entries(f.pipeline?.steps ?? {})) {
    const s = eff.steps.get(name);
    if (s) mergeStep(s, ov, bec(o, `step ${name}: ${describeStep(ov)}`, note), relax);
  }
  const t = f.tools ?? {};
  ranked(eff.tools.default, t.default, DEFAULT_RANK, bec(o, `tools.default ${t.default}`, note), relax);
  union(eff.tools.grant, t.grant, d("tools.grant"));
  union(eff.tools.grant_capabilities, t.grant_capabilities, d("tools.grant_capabilities"));
  eff.tools.allow = intersect(eff.tools.allow, t.allow, d("tools.allow"), relax);
  union(eff.tools.deny, t.deny, d("tools.deny"));
  union(eff.tools.denied_capabilities, t.denied_capabilities, d("tools.denied_capabilities"));
  for (const c of t.constraints ?? []) {
    const { detail, ...rest } = c;
    const because = bec(o, detail ?? `${c.tool} ${c.param} ${c.op} ${JSON.stringify(c.value)}`, note);
    const same = eff.tools.constraints.find((x) => x.tool === rest.tool && x.param === rest.param && x.op === rest.op && JSON.stringify(x.value) === JSON.stringify(rest.value));
    if (same) same.because.push(because);
    else eff.tools.constraints.push({ ...rest, because: [because] });
  }
  for (const [tool, acl] of Object.entries(t.schemas_acl ?? {})) {
    const cur = eff.tools.schemas_acl.get(tool) ?? { allow: null, deny: new Map() };
    cur.allow = intersect(cur.allow, acl.allow_fields, d(`tools.schemas_acl.${tool}.allow_fields`), relax);
    union(cur.deny, acl.deny_fields, d(`tools.schemas_acl.${tool}.deny_fields`));
    eff.tools.schemas_acl.set(tool, cur);
  }
  union(eff.tools.dangerous_commands, t.dangerous_commands, d("tools.dangerous_commands"));
  union(eff.tools.forbidden_zones, t.forbidden_zones, d("tools.forbidden_zones"));
  for (const [name, edit] of Object.entries(f.catalog ?? {})) editCatalog(eff.catalog, name, edit, bec(o, `catalog ${name}${edit.extends ? ` extends ${edit.extends}` : ""} ${JSON.stringify(edit.capabilities ?? [])}`, note));

  const n = f.network ?? {};
  ranked(eff.network.egress, n.egress, EGRESS_RANK, bec(o, `network.egress ${n.egress}`, note), relax);
  eff.network.allow_domains = intersect(eff.network.allow_domains, n.allow_domains, d("network.allow_domains"), relax);
  union(eff.network.deny_domains, n.deny_domains, d("network.deny_domains"));
  union(eff.network.deny_categories, n.deny_categories, d("network.deny_categories"));

  const fs = f.filesystem ?? {};
  if (fs.workspace !== undefined) {
    if (fs.workspace === eff.filesystem.workspace.v) eff.filesystem.workspace.b.push(bec(o, `filesystem.workspace ${fs.workspace}`, note));
    else if (relax || eff.filesystem.workspace.b.length === 0 || eff.filesystem.workspace.b.every((x) => x.level === "builtin")) eff.filesystem.workspace = { v: fs.workspace, b: [bec(o, `filesystem.workspace ${fs.workspace}`, note)] };
  }
  eff.filesystem.read_only = intersect(eff.filesystem.read_only, fs.read_only, d("filesystem.read_only"), relax);
  eff.filesystem.read_write = intersect(eff.filesystem.read_write, fs.read_write, d("filesystem.read_write"), relax);
  union(eff.filesystem.deny_paths, fs.deny_paths, d("filesystem.deny_paths"));

  const i = f.interpreter ?? {};
  eff.interpreter.host_functions = intersect(eff.interpreter.host_functions, i.host_functions, d("interpreter.host_functions"), relax);
  const cpuMem = (k: "memory_mb" | "cpu_time_ms") => {
    const v = i[k];
    if (v === undefined) return;
    const cur = eff.interpreter[k];
    if (v === cur.v) cur.b.push(bec(o, `interpreter.${k} ${v}`, note));
    else if (relax || v < cur.v || cur.b.length === 0) eff.interpreter[k] = { v, b: [bec(o, `interpreter.${k} ${v}`, note)] };
  };
  cpuMem("memory_mb");
  cpuMem("cpu_time_ms");
  for (const k of BUDGET_KEYS) ceiling(eff.budget[k], f.budget?.[k], bec(o, `budget.${k} ${f.budget?.[k]}`, note), relax);
  union(eff.compliance_tags, f.compliance_tags, d("compliance_tags"));
  union(eff.concerns, f.concerns, d("concern"));
  const m = f.models ?? {};
  eff.models.allow = intersect(eff.models.allow, m.allow, d("models.allow"), relax);
  union(eff.models.deny, m.deny, d("models.deny"));
  for (const r of m.routes ?? []) if (!eff.models.routes.some((x) => x.r.match === r.match)) eff.models.routes.push({ r, b: [bec(o, `models.route ${r.match}`, note)] });
  for (const r of f.rules ?? []) {
    if (eff.rules.some((x) => x.id === r.id && x.source === o.source)) continue;
    eff.rules.push({ id: r.id, level: o.level, source: o.source, module: r.module, entrypoints: r.entrypoints ?? [] });
  }
}

export function describeStep(ov: StepOverride): string {
  const parts = [ov.enabled === false ? "disabled" : "enabled"];
  if (ov.action) parts.push(`action ${ov.action}`);
  if (ov.config) parts.push(`config ${JSON.stringify(ov.config)}`);
  return parts.join(", ");
}
