/**
 * Floors: a source at a level may only tighten what the levels above it set. A candidate layer
 * that would relax a floor — re-enable a denied tool, disable a step, weaken an action, lower the
 * mode, open egress, raise a budget — is refused (exit 1) naming the rule and the floor. Nothing
 * at any level may grant a capability the agent's function forbids.
 */
import { deniedError, type TapPassError } from "../errors.ts";
import { ACTION_RANK, BUDGET_KEYS, CONFIG_DEFAULTS, CONFIG_STRICTER, DEFAULT_RANK, EGRESS_RANK, type Eff, editCatalog, type Layer, MODE_RANK, PRESET_RANK, type Trail } from "./cascade.ts";
import { globMatch, isGlob, pathWithin } from "./glob.ts";
import type { Ctx } from "./resolve.ts";
import { catalog } from "./catalog.ts";
import { parseRego } from "./rego.ts";
import type { RegoRuleModule } from "./types.ts";

const who = (b: Trail | undefined) => {
  const x = b?.[b.length - 1];
  return x ? `${x.level} (${x.source})` : "a level above";
};

function refuse(rule: string, floorRule: string, trail: Trail | undefined, layer: Layer, code = "floor_violation"): TapPassError {
  const floor = who(trail);
  return deniedError(code, `${layer.origin.source} at ${layer.origin.level} level: ${rule} would relax the floor ${floorRule} set by ${floor}`, {
    hint: "a level may only tighten the levels above it; change the floor there, or drop this rule",
    details: { rule, floor: { rule: floorRule, level: trail?.[trail.length - 1]?.level ?? null, source: trail?.[trail.length - 1]?.source ?? null } },
  });
}

/** Capabilities of a tool after the catalog edits above and in the candidate layer itself. */
function capsOf(floor: Eff, tool: string, layer?: Layer): string[] {
  const edits = layer?.frag.catalog ?? {};
  if (Object.hasOwn(edits, tool)) {
    const tmp: Eff["catalog"] = new Map(floor.catalog);
    for (const [name, edit] of Object.entries(edits)) editCatalog(tmp, name, edit, { level: layer?.origin.level ?? "agent", source: layer?.origin.source ?? "", detail: "" });
    return tmp.get(tool)?.e.capabilities ?? [];
  }
  return floor.catalog.get(tool)?.e.capabilities ?? catalog().tools[tool]?.capabilities ?? [];
}

/** Forbidden capabilities: absolute, at every level (including org). */
export function checkForbidden(layer: Layer, ctx: Ctx, floor: Eff): void {
  const fnName = ctx.agent?.function;
  const fn = fnName ? catalog().functions[fnName] : undefined;
  if (!fn || !fnName) return;
  const forbidden = new Set(fn.forbidden_capabilities);
  const t = layer.frag.tools ?? {};
  const fail = (what: string, cap: string, verb = "grants") =>
    deniedError("forbidden_capability", `${layer.origin.source} at ${layer.origin.level} level: ${what} ${verb} capability "${cap}", which function ${fnName} forbids for agent ${ctx.agent?.name}`, {
      hint: `forbidden capabilities are an absolute floor no level can lift; remove ${verb === "grants" ? "the grant" : "that catalog entry"} or give the agent another function`,
      details: { rule: what, capability: cap, floor: { rule: `function ${fnName} forbidden_capabilities`, level: "agent", source: `function:${fnName}` } },
    });
  for (const c of t.grant_capabilities ?? []) if (forbidden.has(c)) throw fail(`tools.grant_capabilities ${c}`, c);
  for (const field of ["grant", "allow"] as const) {
    for (const tool of t[field] ?? []) {
      if (isGlob(tool)) continue;
      const hit = capsOf(floor, tool, layer).find((c) => forbidden.has(c));
      if (hit) throw fail(`tools.${field} ${tool}`, hit);
    }
  }
  for (const [name, lost] of droppedCapabilities(layer, floor)) {
    const hit = lost.find((c) => forbidden.has(c));
    if (hit) throw fail(`catalog ${name}`, hit, "drops the");
  }
}

/**
 * Tools this layer's catalog edits redefine (a name the catalog above, or the shipped one,
 * already has) with capabilities they had before removed — by `-cap`, by a plain list that
 * replaces them, or by `extends:` another tool. A tool's capabilities decide what denies it and
 * what grants it, so dropping one is a relaxation.
 */
function droppedCapabilities(layer: Layer, floor: Eff): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const name of Object.keys(layer.frag.catalog ?? {})) {
    if (!floor.catalog.has(name) && !catalog().tools[name]) continue; // a new tool: its author declares it
    const after = new Set(capsOf(floor, name, layer));
    const lost = capsOf(floor, name).filter((c) => !after.has(c));
    if (lost.length) out.push([name, lost]);
  }
  return out;
}

/** A project- or agent-level layer against the effective floor of the levels above. */
export function checkFloor(layer: Layer, floor: Eff): void {
  const f = layer.frag;
  const p = f.pipeline ?? {};
  if (p.mode && MODE_RANK[p.mode] < MODE_RANK[floor.mode.v]) throw refuse(`pipeline.mode ${p.mode}`, `pipeline.mode ${floor.mode.v}`, floor.mode.b, layer);
  const preset = f.preset ?? p.preset;
  if (preset && PRESET_RANK[preset] < PRESET_RANK[floor.preset.v]) throw refuse(`preset ${preset}`, `preset ${floor.preset.v}`, floor.preset.b, layer);
  for (const [name, ov] of Object.entries(p.steps ?? {})) {
    const s = floor.steps.get(name);
    if (!s) continue;
    if (ov.enabled === false && s.enabled) throw refuse(`pipeline.steps.${name}.enabled false`, `pipeline.steps.${name} enabled`, s.b, layer);
    if (ov.action && s.enabled && ACTION_RANK[ov.action] < ACTION_RANK[s.action]) throw refuse(`pipeline.steps.${name}.action ${ov.action}`, `pipeline.steps.${name}.action ${s.action}`, s.b, layer);
    for (const [key, v] of Object.entries(ov.config ?? {})) {
      const cur = s.config[key] ?? CONFIG_DEFAULTS[key];
      if (!configTighter(key, cur, v)) {
        throw refuse(`pipeline.steps.${name}.config.${key} ${JSON.stringify(v)}`, `pipeline.steps.${name}.config.${key} ${cur === undefined ? "(the step's default)" : JSON.stringify(cur)}`, s.b, layer);
      }
    }
  }
  const t = f.tools ?? {};
  if (t.default && DEFAULT_RANK[t.default] < DEFAULT_RANK[floor.tools.default.v]) throw refuse(`tools.default ${t.default}`, `tools.default ${floor.tools.default.v}`, floor.tools.default.b, layer);
  for (const field of ["allow", "grant"] as const) {
    for (const tool of t[field] ?? []) {
      // under default deny, a glob must name what it opens: a tool-name prefix, or an MCP server
      // ("*a", "m*", "mcp__*" would amount to tools.default allow)
      if (isGlob(tool) && floor.tools.default.v === "deny") {
        const prefix = tool.slice(0, tool.search(/[*?[{]/));
        if (prefix.length < 3 || /^mcp_{0,2}$/.test(prefix)) {
          throw refuse(`tools.${field} ${tool}`, "tools.default deny", floor.tools.default.b, layer);
        }
      }
      for (const [pat, b] of floor.tools.deny) {
        if (globMatch(pat, tool) || (isGlob(tool) && globMatch(tool, pat))) throw refuse(`tools.${field} ${tool}`, `tools.deny ${pat}`, b, layer);
      }
      const hit = isGlob(tool) ? undefined : capsOf(floor, tool, layer).find((c) => floor.tools.denied_capabilities.has(c));
      if (hit) throw refuse(`tools.${field} ${tool} (capability ${hit})`, `tools.denied_capabilities ${hit}`, floor.tools.denied_capabilities.get(hit), layer);
    }
  }
  for (const [name, lost] of droppedCapabilities(layer, floor)) {
    const denied = lost.find((c) => floor.tools.denied_capabilities.has(c));
    if (denied) throw refuse(`catalog ${name} (drops ${denied})`, `tools.denied_capabilities ${denied}`, floor.tools.denied_capabilities.get(denied), layer);
    const trail = floor.catalog.get(name)?.b ?? [{ level: "builtin", source: "tools:catalog", detail: `tool ${name}` }];
    throw refuse(`catalog ${name} (drops ${lost.join(", ")})`, `catalog ${name} capabilities ${capsOf(floor, name).join(", ")}`, trail, layer);
  }
  const n = f.network ?? {};
  if (n.egress && EGRESS_RANK[n.egress] < EGRESS_RANK[floor.network.egress.v]) throw refuse(`network.egress ${n.egress}`, `network.egress ${floor.network.egress.v}`, floor.network.egress.b, layer);
  for (const d of n.allow_domains ?? []) {
    for (const [pat, b] of floor.network.deny_domains) if (globMatch(pat, d)) throw refuse(`network.allow_domains ${d}`, `network.deny_domains ${pat}`, b, layer);
  }
  for (const field of ["read_write", "read_only"] as const) {
    for (const path of f.filesystem?.[field] ?? []) {
      for (const [deny, b] of floor.filesystem.deny_paths) if (pathWithin(path, deny)) throw refuse(`filesystem.${field} ${path}`, `filesystem.deny_paths ${deny}`, b, layer);
    }
  }
  for (const k of BUDGET_KEYS) {
    const v = f.budget?.[k];
    const cur = floor.budget[k];
    if (v === undefined || cur.v === null) continue;
    if (v === null || v > cur.v) throw refuse(`budget.${k} ${v}`, `budget.${k} ${cur.v}`, cur.b, layer);
  }
  for (const k of ["memory_mb", "cpu_time_ms"] as const) {
    const v = f.interpreter?.[k];
    const cur = floor.interpreter[k];
    if (v !== undefined && v > cur.v) throw refuse(`interpreter.${k} ${v}`, `interpreter.${k} ${cur.v}`, cur.b, layer);
  }
}

const LEVEL_RANK: Record<RegoRuleModule["level"], number> = { builtin: 0, org: 1, project: 2, agent: 3 };

/**
 * The per-call Rego modules of every level are compiled together, so a module in a package a
 * higher level's module uses (or one nested in it, or enclosing it) would add to that module's
 * rules — e.g. grow the set a deny rule checks against. Levels must keep to packages of their own.
 */
export function checkRulePackages(rules: RegoRuleModule[]): void {
  const pkgs = rules.map((r) => ({ r, pkg: parseRego({ path: r.source.replace(/^file:/, "") || `${r.id}.rego`, text: r.module }).pkg }));
  const nested = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  for (const lo of pkgs) {
    for (const hi of pkgs) {
      if (LEVEL_RANK[hi.r.level] >= LEVEL_RANK[lo.r.level] || hi.r.module === lo.r.module || !nested(lo.pkg, hi.pkg)) continue;
      throw deniedError(
        "rule_package_taken",
        `${lo.r.source} at ${lo.r.level} level: package ${lo.pkg} would add rules to package ${hi.pkg} of ${hi.r.source} at ${hi.r.level} level`,
        {
          hint: `a level may only tighten the levels above it: give this module a package of its own (e.g. ${lo.pkg}_${lo.r.level}), or change the module at ${hi.r.level} level`,
          details: { rule: `package ${lo.pkg}`, floor: { rule: `package ${hi.pkg}`, level: hi.r.level, source: hi.r.source } },
        },
      );
    }
  }
}

/**
 * Whether a lower level's step config value keeps the step at least as strict as `cur` (the
 * value above, or the step's default). Unknown keys, and list keys whose default a step keeps in
 * its code (its detectors, the texts it scans), cannot be judged: refused — a level above can set them.
 */
function configTighter(key: string, cur: unknown, v: unknown): boolean {
  const dir = CONFIG_STRICTER[key];
  if (!dir) return false;
  if (dir === "true") return v === true;
  if (dir === "more") {
    if (!Array.isArray(v) || !Array.isArray(cur)) return false;
    return cur.every((x) => v.includes(x));
  }
  if (typeof v !== "number" || typeof cur !== "number") return false;
  return dir === "lower" ? v <= cur : v >= cur;
}
