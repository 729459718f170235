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
import { currentSources, type LevelRef, listAgents, orgName, parseLevel, saveSources, type SourceFile, type SourceSpec } from "./registry.ts";
import { buildLayers, type Ctx, mergeLayers, type Stage } from "./resolve.ts";
import { validatePayload } from "./schema.ts";
import { checkPacks, readSourceFiles } from "./sources.ts";
import { internalError, TapPassError } from "../errors.ts";

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
  /** Things the user may not have meant (a source of the same name replaced from another directory). */
  warnings?: string[];
}

/**
 * The level's sources after this apply. A file replaces the source of the same name (`./x.yaml`
 * is `x.yaml`) or of the same absolute path. A name that now comes from another directory
 * (`teamB/` where `teamA/` applied it) is replaced all the same — a checkout in a new place is
 * the usual reason — but said in a warning, since it may be a different file.
 */
function nextSpec(cur: SourceSpec, add: SourceSpec, replace: boolean): { spec: SourceSpec; warnings: string[] } {
  const base = replace ? { packs: [], files: [] } : cur;
  const packs = [...new Set([...base.packs, ...add.packs])];
  const warnings: string[] = [];
  const same = (f: SourceFile, a: SourceFile) => f.path === a.path || (!!f.abs && f.abs === a.abs);
  for (const a of add.files) {
    const old = base.files.find((f) => same(f, a));
    if (old?.abs && a.abs && old.abs !== a.abs && old.text !== a.text) {
      warnings.push(`${a.path} replaces the source of that name applied from ${old.abs} (now from ${a.abs}); if both should apply, name them by paths that tell them apart`);
    }
  }
  const files = [...base.files.filter((f) => !add.files.some((a) => same(f, a))), ...add.files];
  return { spec: { packs, files }, warnings };
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
const BELOW: Record<LevelRef["level"], Array<"project" | "agent">> = { org: ["project", "agent"], project: ["agent"], agent: [] };

export function applyPolicy(db: Db, opts: ApplyOptions): ApplyResult {
  const ref = parseLevel(db, opts.level);
  checkPacks(opts.packs ?? []);
  const add: SourceSpec = { packs: opts.packs ?? [], files: readSourceFiles(opts.files ?? []) };
  const cur = currentSources(db, ref);
  const { spec, warnings } = nextSpec(cur.spec, add, !!opts.replace);
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
    // the levels below must still keep within the new floors (else every later apply there fails
    // on a file nobody touched): refused here, naming the source below that would relax them
    for (const lower of BELOW[ref.level]) {
      const lowerFloor = mergeLayers(buildLayers(db, ctx, { override, through: ABOVE[lower] }));
      for (const layer of buildLayers(db, ctx, { override, only: lower })) {
        if (!layer.origin.source.startsWith("file:")) continue;
        try {
          checkForbidden(layer, ctx, lowerFloor);
          checkFloor(layer, lowerFloor);
        } catch (e) {
          if (!(e instanceof TapPassError)) throw e;
          const target = lower === "project" ? `project=${ctx.project}` : `agent=${ctx.agent?.name}`;
          throw new TapPassError(e.code, `this would put ${target}'s ${layer.origin.source} below the floor: ${e.message}`, e.exitCode, {
            hint: `change or remove that source first (tappass policy apply --level ${target} --replace …), then apply this`,
            details: { ...e.details, conflicting_level: target, conflicting_source: layer.origin.source },
          });
        }
      }
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
    ...(warnings.length ? { warnings } : {}),
  };
}
