/**
 * Policy sources as a level stores them (packs + files) → parsed, checked fragments. YAML files
 * follow the policy-source format (fragment.ts); `.rego` files are split into compile-time
 * aspects and carried per-call rules (rego.ts). Every unknown name is reported at file:line:col.
 */
import { existsSync, readFileSync } from "node:fs";
import { normalize, resolve } from "node:path";
import { inputError } from "../errors.ts";
import { catalog, STEP_NAMES } from "./catalog.ts";
import type { Fragment } from "./fragment.ts";
import { isGlob } from "./glob.ts";
import { aspectRuleOf, carriedRule, checkRego, isAspects, parseRego, type ParsedRego } from "./rego.ts";
import type { SourceFile, SourceSpec } from "./registry.ts";
import { asFragment } from "./validate.ts";
import { parseYaml } from "./yaml.ts";

export interface ParsedSpec {
  packs: string[];
  yaml: Array<{ path: string; frag: Fragment }>;
  aspects: ParsedRego[];
  carried: Array<{ path: string; frag: Fragment }>;
}

/**
 * Read files named on the command line into SourceFiles (exit 3 when missing or of an unknown
 * kind). A file named twice (`x.yaml ./x.yaml`) is read once.
 */
export function readSourceFiles(paths: string[]): SourceFile[] {
  const seen = new Set<string>();
  const unique = paths.filter((p) => !seen.has(resolve(p)) && !!seen.add(resolve(p)));
  return unique.map((typed) => {
    const path = normalize(typed);
    const abs = resolve(typed);
    const kind = /\.rego$/i.test(path) ? "rego" : /\.ya?ml$/i.test(path) ? "yaml" : undefined;
    if (!kind) throw inputError("bad_source", `${path}: not a .rego, .yaml or .yml file`, { where: path, hint: "policy sources are Rego modules or policy YAML (see policies/README.md)" });
    if (!existsSync(path)) throw inputError("missing_file", `${path}: no such file`, { where: path, hint: "check the path" });
    return { path, abs, kind, text: readFileSync(path, "utf8") };
  });
}

export function checkPacks(ids: string[], where = "--pack"): void {
  const packs = catalog().packs;
  for (const id of ids) if (!packs[id]) throw inputError("unknown_pack", `unknown pack "${id}"`, { where, hint: `known packs: ${Object.keys(packs).join(", ")} (tappass pack list)` });
}

/** Parse and check every source of a level. `extraTools`: tools added by catalog edits at this or higher levels. */
export function parseSpec(spec: SourceSpec, extraTools: Set<string> = new Set()): ParsedSpec {
  checkPacks(spec.packs);
  const out: ParsedSpec = { packs: spec.packs, yaml: [], aspects: [], carried: [] };
  const rego: ParsedRego[] = [];
  const yamls = spec.files.filter((f) => f.kind === "yaml").map((f) => ({ f, y: parseYaml(f.text, f.path) }));
  const tools = new Set([...Object.keys(catalog().tools), ...extraTools]);
  for (const { y } of yamls) for (const k of Object.keys(((y.value ?? {}) as Fragment).catalog ?? {})) tools.add(k);
  for (const { f, y } of yamls) {
    const frag = asFragment(y.value, f.path, y);
    checkNames(frag, (p) => y.where(p), tools, []);
    for (const [agent, af] of Object.entries(frag.agents ?? {})) checkNames(af, (p) => y.where(p), tools, ["agents", agent]);
    for (const [i, r] of (frag.rules ?? []).entries()) {
      let parsed: ParsedRego;
      try {
        parsed = parseRego({ path: `${f.path}#rules[${i}]`, text: r.module });
        checkRego([parsed]);
      } catch (e) {
        const te = e as { message?: string };
        throw inputError("rego_parse_error", `rules[${i}] (${r.id}): ${te.message ?? String(e)}`, { where: y.where(["rules", i, "module"]), hint: "fix the Rego module" });
      }
      if (!r.entrypoints?.length) throw inputError("rego_no_entrypoint", `rules[${i}] (${r.id}) has no entrypoints`, { where: y.where(["rules", i]), hint: "list the queries the pipeline evaluates, e.g. entrypoints: [data.acme.deny]" });
      // an entrypoint the module does not define would never fire: a typo, not a rule
      const defined = parsed.ruleNames.map((n) => `data.${parsed.pkg}.${n}`);
      for (const [j, e] of r.entrypoints.entries()) {
        if (!defined.some((d) => e === d || e.startsWith(`${d}.`) || e.startsWith(`${d}[`))) {
          throw inputError("rego_unknown_entrypoint", `rules[${i}] (${r.id}): entrypoint ${e} is not a rule of its module (package ${parsed.pkg})`, {
            where: y.where(["rules", i, "entrypoints", j]),
            hint: `its rules: ${defined.join(", ") || "none"}`,
          });
        }
      }
    }
    out.yaml.push({ path: f.path, frag });
  }
  for (const f of spec.files.filter((x) => x.kind === "rego")) rego.push(parseRego(f));
  checkRego(rego);
  for (const p of rego) {
    if (isAspects(p)) out.aspects.push(p);
    else out.carried.push({ path: p.path, frag: { rules: [carriedRule(p)] } });
  }
  return out;
}

/** Semantic checks of a fragment: steps, capabilities, concerns, packs and tools exist. */
export function checkNames(frag: Fragment, where: (path: Array<string | number>) => string, tools: Set<string>, prefix: Array<string | number>): void {
  const cat = catalog();
  const bad = (path: Array<string | number>, code: string, msg: string, hint: string) => inputError(code, msg, { where: where([...prefix, ...path]), hint });
  for (const s of Object.keys(frag.pipeline?.steps ?? {})) {
    if (!(STEP_NAMES as readonly string[]).includes(s)) throw bad(["pipeline", "steps", s], "unknown_step", `unknown pipeline step "${s}"`, `known steps: ${STEP_NAMES.join(", ")}`);
  }
  const capLists: Array<[string[] | undefined, Array<string | number>]> = [
    [frag.tools?.denied_capabilities, ["tools", "denied_capabilities"]],
    [frag.tools?.grant_capabilities, ["tools", "grant_capabilities"]],
  ];
  for (const [name, edit] of Object.entries(frag.catalog ?? {})) {
    capLists.push([edit.capabilities?.map((c) => c.replace(/^[+-]/, "")), ["catalog", name, "capabilities"]]);
    if (edit.extends && !tools.has(edit.extends)) throw bad(["catalog", name, "extends"], "unknown_tool", `catalog ${name} extends unknown tool "${edit.extends}"`, "extend a tool from the shipped catalog (policies/README.md) or one added in a tools.yaml `catalog:` section");
  }
  for (const [list, path] of capLists) {
    for (const [i, c] of (list ?? []).entries()) if (!cat.capabilities[c]) throw bad([...path, i], "unknown_capability", `unknown capability "${c}"`, `known capabilities: ${Object.keys(cat.capabilities).join(", ")}`);
  }
  for (const [i, c] of (frag.concerns ?? []).entries()) if (!cat.concerns[c]) throw bad(["concerns", i], "unknown_concern", `unknown concern "${c}"`, `known concerns: ${Object.keys(cat.concerns).join(", ")}`);
  for (const [i, p] of (frag.packs ?? []).entries()) if (!cat.packs[p]) throw bad(["packs", i], "unknown_pack", `unknown pack "${p}"`, `known packs: ${Object.keys(cat.packs).join(", ")}`);
  for (const field of ["allow", "grant", "deny"] as const) {
    for (const [i, t] of (frag.tools?.[field] ?? []).entries()) {
      if (!isGlob(t) && !tools.has(t)) throw bad(["tools", field, i], "unknown_tool", `unknown tool "${t}"`, "use a tool from the catalog, a glob (e.g. mcp__server__*), or add it in a tools.yaml `catalog:` section");
    }
  }
}

/** Catalog tool names added by a spec's YAML files (for checking lower levels). */
export function catalogAdds(spec: SourceSpec): string[] {
  const out: string[] = [];
  for (const f of spec.files) {
    if (f.kind !== "yaml") continue;
    try {
      const v = parseYaml(f.text, f.path).value as Fragment | null;
      out.push(...Object.keys(v?.catalog ?? {}));
    } catch {
      // reported when the spec itself is parsed
    }
  }
  return out;
}

/**
 * checkNames for what a Rego aspects module produced: a tool, step, concern or capability that
 * does not exist is as much a typo there as in YAML (it would silently do nothing). The error
 * points at the line defining the aspect (e.g. `tools_deny contains …`).
 */
export function checkAspectNames(frag: Fragment, p: ParsedRego, tools: Set<string>): void {
  const lines = p.text.split("\n");
  const where = (path: Array<string | number>) => {
    const rule = aspectRuleOf(path);
    const i = rule ? lines.findIndex((l) => new RegExp(`^\\s*${rule}\\b`).test(l)) : -1;
    return `${p.path}:${i + 1 || 1}:1`;
  };
  checkNames(frag, where, tools, []);
}
