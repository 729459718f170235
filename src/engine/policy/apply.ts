/**
 * `tappass policy apply`: add packs and files to a cascade level's sources, check them (parse,
 * names, floors, forbidden capabilities, a full compile of every agent in scope), then store the
 * new version in one transaction. Anything refused leaves the store exactly as it was.
 */
import { canonicalJson } from "../canonical.ts";
import type { Db } from "../store/db.ts";
import type { Layer } from "./cascade.ts";
import { finalize } from "./finalize.ts";
import { checkFloor, checkForbidden } from "./floor.ts";
import { currentSources, type LevelRef, listAgents, orgName, parseLevel, saveSources, type SourceSpec } from "./registry.ts";
import { buildLayers, type Ctx, mergeLayers, type Stage } from "./resolve.ts";
import { validatePayload } from "./schema.ts";
import { checkPacks, readSourceFiles } from "./sources.ts";
import { internalError } from "../errors.ts";

export interface ApplyOptions {
  level: string;
  packs?: string[];
  files?: string[];
  dryRun?: boolean;
  /** Replace the level's sources instead of adding to them. */
  replace?: boolean;
}

export interface ApplyResult {
  level: string;
  version: number;
  changed: boolean;
  dry_run: boolean;
  sources: { packs: string[]; files: string[] };
  agents_checked: string[];
}

function nextSpec(cur: SourceSpec, add: SourceSpec, replace: boolean): SourceSpec {
  const base = replace ? { packs: [], files: [] } : cur;
  const packs = [...new Set([...base.packs, ...add.packs])];
  const files = [...base.files.filter((f) => !add.files.some((a) => a.path === f.path)), ...add.files];
  return { packs, files };
}

/** Contexts a level's sources reach: every agent in scope, or a context with no agent when there is none. */
function scopeContexts(db: Db, ref: LevelRef): Ctx[] {
  const org = orgName(db);
  const agents = ref.level === "org" ? listAgents(db) : ref.level === "project" ? listAgents(db, ref.target) : listAgents(db).filter((a) => a.name === ref.target);
  const ctxs: Ctx[] = agents.map((a) => ({ org, project: a.project, agent: a }));
  if (ref.level !== "agent") ctxs.push({ org, project: ref.level === "project" ? ref.target : null, agent: null });
  return ctxs;
}

const ABOVE: Record<LevelRef["level"], Stage> = { org: "builtin", project: "org", agent: "identity" };

export function applyPolicy(db: Db, opts: ApplyOptions): ApplyResult {
  const ref = parseLevel(db, opts.level);
  checkPacks(opts.packs ?? []);
  const add: SourceSpec = { packs: opts.packs ?? [], files: readSourceFiles(opts.files ?? []) };
  const cur = currentSources(db, ref);
  const spec = nextSpec(cur.spec, add, !!opts.replace);
  const override = { ref, spec };
  const checked: string[] = [];
  for (const ctx of scopeContexts(db, ref)) {
    const floor = mergeLayers(buildLayers(db, ctx, { override, through: ABOVE[ref.level] }));
    const candidate: Layer[] = buildLayers(db, ctx, { override, only: ref.level });
    for (const layer of candidate) {
      if (!layer.origin.source.startsWith("file:")) continue;
      checkForbidden(layer, ctx, floor);
      if (ref.level !== "org") checkFloor(layer, floor);
    }
    if (ctx.agent) {
      const { aspects } = finalize(mergeLayers(buildLayers(db, ctx, { override })), ctx);
      const v = validatePayload({ policy_version: 1, sandbox_id: null, issued_at: new Date().toISOString(), expires_at: new Date().toISOString(), ...aspects });
      if (!v.ok) throw internalError(`the policy for agent ${ctx.agent.name} would not compile: ${v.errors.slice(0, 3).join("; ")}`);
      checked.push(ctx.agent.name);
    }
  }
  const changed = canonicalJson(spec) !== canonicalJson(cur.spec);
  let version = cur.version;
  if (changed) {
    if (opts.dryRun) version = cur.version + 1;
    else version = db.transaction(() => saveSources(db, ref, spec));
  }
  return {
    level: opts.level,
    version,
    changed,
    dry_run: !!opts.dryRun,
    sources: { packs: spec.packs, files: spec.files.map((f) => f.path) },
    agents_checked: checked,
  };
}
