/**
 * The resolver: for one agent (or a level with no agent in view), turn every selection into
 * ordered layers — built-in baseline, org sources, project sources, the agent's identity
 * (function → categories → concerns), agent sources — each expanded with the concerns and
 * packs it enrols, then merge them (cascade.ts).
 */
import type { Db } from "../store/db.ts";
import { catalog } from "./catalog.ts";
import { applyLayer, emptyEff, type Eff, type Layer, type Origin, PRESET_RANK } from "./cascade.ts";
import type { Fragment } from "./fragment.ts";
import { evalAspects } from "./rego.ts";
import { type AgentRecord, currentSources, type LevelRef, type SourceSpec } from "./registry.ts";
import { catalogAdds, checkAspectNames, parseSpec } from "./sources.ts";
import type { CascadeLevel, Preset } from "./types.ts";

export interface Ctx {
  org: string;
  project: string | null;
  agent: AgentRecord | null;
}

export type Stage = "builtin" | "org" | "project" | "identity" | "agent";
const STAGES: Stage[] = ["builtin", "org", "project", "identity", "agent"];

export interface BuildOpts {
  /** Use this spec instead of the stored one for a level (apply --dry-run, floor checks). */
  override?: { ref: LevelRef; spec: SourceSpec };
  /** Include stages up to and including this one (default: all). */
  through?: Stage;
  /** Include only this stage (the candidate level in a floor check). */
  only?: Stage;
}

/** Expand a layer with the concerns and packs its fragment enrols (recursively, once each per chain). */
function expand(layer: Layer, seen = new Set<string>()): Layer[] {
  const cat = catalog();
  const out: Layer[] = [layer];
  const level = layer.origin.level;
  for (const p of layer.frag.packs ?? []) {
    if (seen.has(`pack:${p}`) || !cat.packs[p]) continue;
    seen.add(`pack:${p}`);
    out.push(...expand({ frag: cat.packs[p].fragment, origin: { level, source: `pack:${p}` }, note: `enrolled by ${layer.origin.source}` }, seen));
  }
  for (const c of layer.frag.concerns ?? []) {
    if (seen.has(`concern:${c}`) || !cat.concerns[c]) continue;
    seen.add(`concern:${c}`);
    out.push(...expand({ frag: cat.concerns[c].policy, origin: { level, source: `concern:${c}` }, note: `enrolled by ${layer.origin.source}` }, seen));
  }
  return out;
}

/** The Rego input for compile-time aspects. */
export function regoInput(ctx: Ctx, level: CascadeLevel, packs: string[]): Record<string, unknown> {
  const cat = catalog();
  const fn = ctx.agent?.function ? cat.functions[ctx.agent.function] : undefined;
  const categories = [...new Set([...(fn?.categories ?? []), ...(ctx.agent?.categories ?? [])])];
  const concerns = [...new Set([...(fn?.concerns ?? []), ...categories.flatMap((c) => cat.categories[c]?.concerns ?? [])])];
  return {
    level,
    org: { name: ctx.org },
    project: ctx.project ? { name: ctx.project } : null,
    agent: ctx.agent ? { name: ctx.agent.name, function: ctx.agent.function, categories: ctx.agent.categories } : null,
    function: fn && ctx.agent?.function ? { name: ctx.agent.function, ...fn } : null,
    categories,
    concerns,
    packs,
  };
}

function specFor(db: Db, ref: LevelRef, opts: BuildOpts): SourceSpec {
  const o = opts.override;
  if (o && o.ref.level === ref.level && o.ref.target === ref.target) return o.spec;
  return currentSources(db, ref).spec;
}

/** Layers of one stored level (packs, YAML files with their per-agent sections, Rego). */
function levelLayers(spec: SourceSpec, level: CascadeLevel, ctx: Ctx, extraTools: Set<string>, allPacks: string[]): Layer[] {
  const parsed = parseSpec(spec, extraTools);
  const layers: Layer[] = [];
  const relax = level === "org";
  for (const { path, frag } of parsed.yaml) {
    const { agents, ...own } = frag;
    layers.push(...expand({ frag: own, origin: { level, source: `file:${path}` }, relax }));
    const mine = ctx.agent ? agents?.[ctx.agent.name] : undefined;
    if (mine) layers.push(...expand({ frag: mine, origin: { level, source: `file:${path}` }, note: `for agent ${ctx.agent?.name}` }));
  }
  const input = regoInput(ctx, level, allPacks);
  const tools = parsed.aspects.length ? new Set([...Object.keys(catalog().tools), ...extraTools, ...catalogAdds(spec)]) : new Set<string>();
  for (const p of parsed.aspects) {
    const frag: Fragment = evalAspects([p], input);
    checkAspectNames(frag, p, tools);
    layers.push(...expand({ frag, origin: { level, source: `file:${p.path}` }, relax }));
  }
  for (const { path, frag } of parsed.carried) layers.push({ frag, origin: { level, source: `file:${path}` } });
  // packs after the files: an org file may change built-in defaults, never what a pack tightens
  for (const id of parsed.packs) layers.push(...expand({ frag: catalog().packs[id]?.fragment ?? {}, origin: { level, source: `pack:${id}` } }));
  return layers;
}

function identityLayers(ctx: Ctx): Layer[] {
  const a = ctx.agent;
  if (!a) return [];
  const cat = catalog();
  const layers: Layer[] = [];
  const seen = new Set<string>();
  const fn = a.function ? cat.functions[a.function] : undefined;
  if (fn && a.function) layers.push(...expand({ frag: { concerns: fn.concerns }, origin: { level: "agent", source: `function:${a.function}` } }, seen));
  for (const c of [...new Set([...(fn?.categories ?? []), ...a.categories])]) {
    layers.push(...expand({ frag: { concerns: cat.categories[c]?.concerns ?? [] }, origin: { level: "agent", source: `category:${c}` } }, seen));
  }
  return layers;
}

export function buildLayers(db: Db, ctx: Ctx, opts: BuildOpts = {}): Layer[] {
  const cat = catalog();
  const want = (s: Stage) => (opts.only ? opts.only === s : STAGES.indexOf(s) <= STAGES.indexOf(opts.through ?? "agent"));
  const refs: Array<[Stage, LevelRef | null]> = [
    ["org", { level: "org", target: "" }],
    ["project", ctx.project ? { level: "project", target: ctx.project } : null],
    ["agent", ctx.agent ? { level: "agent", target: ctx.agent.name } : null],
  ];
  const specs = new Map<Stage, SourceSpec>();
  for (const [s, ref] of refs) if (ref) specs.set(s, specFor(db, ref, opts));
  const allPacks = [...new Set([...specs.values()].flatMap((s) => s.packs))];
  const layers: Layer[] = [];
  const extra = new Set<string>();
  if (want("builtin")) layers.push(...expand({ frag: cat.baseline, origin: { level: "builtin", source: "builtin:baseline" } }));
  for (const stage of STAGES.slice(1)) {
    if (stage === "identity") {
      if (want("identity")) layers.push(...identityLayers(ctx));
      continue;
    }
    const spec = specs.get(stage);
    if (!spec) continue;
    if (want(stage)) layers.push(...levelLayers(spec, stage as CascadeLevel, ctx, extra, allPacks));
    for (const t of catalogAdds(spec)) extra.add(t);
  }
  return layers;
}

/** Merge layers: pick the preset (strictest; the org may change the built-in one), seed its steps, apply every layer. */
export function mergeLayers(layers: Layer[]): Eff {
  const cat = catalog();
  const eff = emptyEff();
  let preset: { v: Preset; o: Origin } = { v: "standard", o: { level: "builtin", source: "builtin:baseline" } };
  let first = true;
  for (const l of layers) {
    const p = l.frag.preset ?? l.frag.pipeline?.preset;
    if (!p) continue;
    if (first || l.relax || PRESET_RANK[p] > PRESET_RANK[preset.v]) preset = { v: p, o: l.origin };
    first = false;
  }
  const because = { level: preset.o.level, source: `preset:${preset.v}`, detail: `preset ${preset.v} chosen by ${preset.o.source}` };
  eff.preset = { v: preset.v, b: [because] };
  const def = cat.presets[preset.v];
  eff.mode = { v: def.mode, b: [{ ...because, detail: `mode ${def.mode} from preset ${preset.v}` }] };
  for (const s of def.steps) eff.steps.set(s.name, { enabled: s.enabled, action: s.action, config: { ...s.config }, b: [{ ...because, detail: `step ${s.name} from preset ${preset.v}` }] });
  for (const [name, e] of Object.entries(cat.tools)) eff.catalog.set(name, { e, b: [{ level: "builtin", source: "tools:catalog", detail: `tool ${name}` }] });
  for (const l of layers) applyLayer(eff, l);
  return eff;
}

export function resolveEff(db: Db, ctx: Ctx, opts: BuildOpts = {}): Eff {
  return mergeLayers(buildLayers(db, ctx, opts));
}
