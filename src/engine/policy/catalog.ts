/**
 * The authoring catalogs shipped in the binary (L0 functions, L1 categories, L2 concerns,
 * L3 capabilities, the tool catalog, pipeline presets, the built-in baseline) and the
 * compliance packs (packs/*.yaml). Parsed once, lazily, with positions for errors.
 */
import baselineYaml from "./catalog/baseline.yaml" with { type: "text" };
import capabilitiesYaml from "./catalog/capabilities.yaml" with { type: "text" };
import categoriesYaml from "./catalog/categories.yaml" with { type: "text" };
import concernsYaml from "./catalog/concerns.yaml" with { type: "text" };
import functionsYaml from "./catalog/functions.yaml" with { type: "text" };
import presetsYaml from "./catalog/presets.yaml" with { type: "text" };
import toolsYaml from "./catalog/tools.yaml" with { type: "text" };
import { internalError } from "../errors.ts";
import type { Fragment } from "./fragment.ts";
import { loadPacks, type Pack } from "./packs.ts";
import type { Mode, PipelineStepConfig, Preset, StepAction, ToolEntry } from "./types.ts";
import { asFragment } from "./validate.ts";
import { parseShippedYaml as parseYaml } from "./yaml.ts";

export const STEP_NAMES = [
  "verify_capability_token", "enforce_session_scope", "check_policy_fresh", "detect_secrets", "detect_pii",
  "detect_prompt_injection", "detect_jailbreak", "detect_exfil", "redact_pii_in_prompt", "pii_restore",
  "apply_compiled_policy", "tools_allowed", "tools_denied", "denied_tool_categories", "forbidden_capabilities",
  "tool_arg_validation", "schema_acl", "tool_constraints", "forbidden_zones", "dangerous_commands", "loop_guard",
  "tool_pinning", "scan_output", "detect_pii_in_response", "detect_secrets_in_response", "redact_response",
  "enforce_no_train_flag", "enforce_token_budget", "enforce_dollar_budget", "enforce_rate_limit",
  "enforce_tool_call_rate", "emit_audit_row", "hash_chain_link", "sign_mandate",
] as const;

export interface FunctionDef {
  description: string;
  capabilities: string[];
  forbidden_capabilities: string[];
  categories: string[];
  concerns: string[];
}
export interface CategoryDef {
  description: string;
  concerns: string[];
}
export interface ConcernDef {
  description: string;
  policy: Fragment;
}
export interface CapabilityDef {
  risk: string;
  description: string;
}
export interface PresetDef {
  mode: Mode;
  steps: PipelineStepConfig[];
}

export interface Catalog {
  capabilities: Record<string, CapabilityDef>;
  categories: Record<string, CategoryDef>;
  concerns: Record<string, ConcernDef>;
  functions: Record<string, FunctionDef>;
  presets: Record<Preset, PresetDef>;
  tools: Record<string, ToolEntry>;
  baseline: Fragment;
  packs: Record<string, Pack>;
}

let cached: Catalog | undefined;

const obj = (v: unknown, key: string, file: string): Record<string, Record<string, unknown>> => {
  const o = (v as Record<string, unknown> | null)?.[key];
  if (!o || typeof o !== "object") throw internalError(`embedded catalog ${file} has no "${key}" map`);
  return o as Record<string, Record<string, unknown>>;
};
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function catalog(): Catalog {
  if (cached) return cached;
  const capY = parseYaml(capabilitiesYaml, "catalog/capabilities.yaml");
  const capabilities: Record<string, CapabilityDef> = {};
  for (const [k, v] of Object.entries(obj(capY.value, "capabilities", capY.file))) capabilities[k] = { risk: String(v.risk ?? "medium"), description: String(v.description ?? "") };

  const conY = parseYaml(concernsYaml, "catalog/concerns.yaml");
  const concerns: Record<string, ConcernDef> = {};
  for (const [k, v] of Object.entries(obj(conY.value, "concerns", conY.file))) {
    concerns[k] = { description: String(v.description ?? ""), policy: asFragment(v.policy ?? {}, conY.file, conY, ["concerns", k, "policy"]) };
  }

  const catY = parseYaml(categoriesYaml, "catalog/categories.yaml");
  const categories: Record<string, CategoryDef> = {};
  for (const [k, v] of Object.entries(obj(catY.value, "categories", catY.file))) {
    const cs = strs(v.concerns);
    for (const [i, c] of cs.entries()) if (!concerns[c]) throw internalError(`unknown concern "${c}"`, { where: catY.where(["categories", k, "concerns", i]) });
    categories[k] = { description: String(v.description ?? ""), concerns: cs };
  }

  const fnY = parseYaml(functionsYaml, "catalog/functions.yaml");
  const functions: Record<string, FunctionDef> = {};
  for (const [k, v] of Object.entries(obj(fnY.value, "functions", fnY.file))) {
    const f: FunctionDef = {
      description: String(v.description ?? ""),
      capabilities: strs(v.capabilities),
      forbidden_capabilities: strs(v.forbidden_capabilities),
      categories: strs(v.categories),
      concerns: strs(v.concerns),
    };
    for (const field of ["capabilities", "forbidden_capabilities"] as const)
      for (const [i, c] of f[field].entries()) if (!capabilities[c]) throw internalError(`unknown capability "${c}"`, { where: fnY.where(["functions", k, field, i]) });
    for (const [i, c] of f.categories.entries()) if (!categories[c]) throw internalError(`unknown category "${c}"`, { where: fnY.where(["functions", k, "categories", i]) });
    functions[k] = f;
  }

  const toolY = parseYaml(toolsYaml, "catalog/tools.yaml");
  const tools: Record<string, ToolEntry> = {};
  for (const [k, v] of Object.entries(obj(toolY.value, "tools", toolY.file))) {
    const caps = strs(v.capabilities);
    for (const [i, c] of caps.entries()) if (!capabilities[c]) throw internalError(`unknown capability "${c}"`, { where: toolY.where(["tools", k, "capabilities", i]) });
    tools[k] = { capabilities: caps, ...(v.slots ? { slots: v.slots as ToolEntry["slots"] } : {}), ...(v.server ? { server: String(v.server) } : {}), ...(v.description ? { description: String(v.description) } : {}), ...(v.input_schema ? { input_schema: v.input_schema as Record<string, unknown> } : {}) };
  }

  const preY = parseYaml(presetsYaml, "catalog/presets.yaml");
  const presets = {} as Record<Preset, PresetDef>;
  for (const [k, v] of Object.entries(obj(preY.value, "presets", preY.file))) {
    const steps = (Array.isArray(v.steps) ? v.steps : []).map((s: Record<string, unknown>, i: number): PipelineStepConfig => {
      const name = String(s.name);
      if (!(STEP_NAMES as readonly string[]).includes(name)) throw internalError(`unknown step "${name}"`, { where: preY.where(["presets", k, "steps", i]) });
      return { name, enabled: s.enabled !== false, action: (s.action ?? "block") as StepAction, config: (s.config ?? {}) as Record<string, unknown> };
    });
    presets[k as Preset] = { mode: (v.mode ?? "enforce") as Mode, steps };
  }

  const baseY = parseYaml(baselineYaml, "catalog/baseline.yaml");
  const baseline = asFragment(baseY.value, baseY.file, baseY);

  cached = { capabilities, categories, concerns, functions, presets, tools, baseline, packs: {} };
  cached.packs = loadPacks(cached);
  return cached;
}
