/**
 * Compliance packs (packs/*.yaml, embedded): each bundles concerns, detectors (pipeline steps
 * with actions), tool constraints, Rego rules for per-call decisions and the probe categories
 * it enrols for `tappass eval run`. A pack becomes a Fragment applied at the level it is applied to.
 */
import euAiAct from "../../../packs/eu-ai-act.yaml" with { type: "text" };
import gdpr from "../../../packs/gdpr.yaml" with { type: "text" };
import hipaa from "../../../packs/hipaa.yaml" with { type: "text" };
import nis2Dora from "../../../packs/nis2-dora.yaml" with { type: "text" };
import owaspLlm from "../../../packs/owasp-llm.yaml" with { type: "text" };
import pciDss from "../../../packs/pci-dss.yaml" with { type: "text" };
import { internalError } from "../errors.ts";
import type { Catalog } from "./catalog.ts";
import type { Fragment, StepOverride } from "./fragment.ts";
import { asFragment } from "./validate.ts";
import { parseShippedYaml as parseYaml } from "./yaml.ts";

export const PACK_SOURCES: Record<string, string> = {
  "eu-ai-act": euAiAct,
  "owasp-llm": owaspLlm,
  gdpr,
  "pci-dss": pciDss,
  hipaa,
  "nis2-dora": nis2Dora,
};

export interface Pack {
  id: string;
  name: string;
  version: string;
  description: string;
  concerns: string[];
  compliance_tags: string[];
  detectors: Array<{ step: string } & StepOverride>;
  tool_constraints: NonNullable<NonNullable<Fragment["tools"]>["constraints"]>;
  rules: NonNullable<Fragment["rules"]>;
  probes: string[];
  /** Everything the pack contributes, as one policy fragment. */
  fragment: Fragment;
}

export function loadPacks(cat: Omit<Catalog, "packs">): Record<string, Pack> {
  const out: Record<string, Pack> = {};
  for (const [id, text] of Object.entries(PACK_SOURCES)) {
    const file = `packs/${id}.yaml`;
    const y = parseYaml(text, file);
    const v = (y.value ?? {}) as Record<string, unknown>;
    if (v.id !== id) throw internalError(`pack id "${String(v.id)}" does not match its file name`, { where: y.where(["id"]) });
    const arr = <T>(k: string): T[] => (Array.isArray(v[k]) ? (v[k] as T[]) : []);
    const detectors = arr<{ step: string } & StepOverride>("detectors");
    const steps: Record<string, StepOverride> = {};
    for (const [i, d] of detectors.entries()) {
      const { step, ...rest } = d;
      if (!step) throw internalError("detector without a step", { where: y.where(["detectors", i]) });
      steps[step] = rest;
    }
    const concerns = arr<string>("concerns");
    for (const [i, c] of concerns.entries()) if (!cat.concerns[c]) throw internalError(`unknown concern "${c}"`, { where: y.where(["concerns", i]) });
    const extra = asFragment(v.policy ?? {}, file, y, ["policy"]);
    const raw: Fragment = {
      ...extra,
      concerns: [...(extra.concerns ?? []), ...concerns],
      compliance_tags: [...(extra.compliance_tags ?? []), ...arr<string>("compliance_tags")],
      pipeline: { ...(extra.pipeline ?? {}), steps: { ...(extra.pipeline?.steps ?? {}), ...steps } },
      tools: { ...(extra.tools ?? {}), constraints: [...(extra.tools?.constraints ?? []), ...arr<NonNullable<NonNullable<Fragment["tools"]>["constraints"]>[number]>("tool_constraints")] },
      rules: [...(extra.rules ?? []), ...arr<NonNullable<Fragment["rules"]>[number]>("rules")],
    };
    const fragment = asFragment(raw, file, y);
    out[id] = {
      id,
      name: String(v.name ?? id),
      version: String(v.version ?? "1"),
      description: String(v.description ?? ""),
      concerns,
      compliance_tags: arr<string>("compliance_tags"),
      detectors,
      tool_constraints: fragment.tools?.constraints ?? [],
      rules: fragment.rules ?? [],
      probes: arr<string>("probes"),
      fragment,
    };
  }
  return out;
}
