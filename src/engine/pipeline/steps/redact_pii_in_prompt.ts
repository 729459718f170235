/**
 * redact_pii_in_prompt: reversible tokenisation of personal data in what leaves for the model:
 * each value becomes a placeholder such as «EMAIL_1» (the same value, the same placeholder),
 * kept in ctx.pii_vault (memory only, never persisted) so pii_restore can put it back in the
 * response. config.kinds (default prompt, tool_output, tool_args), config.types to narrow.
 */
import type { StepDef } from "../types.ts";
import { evidenceOf, redactHits, runDetector, targets, type Target } from "./_detect.ts";
import { num, strs } from "./_util.ts";
import type { Finding } from "../detectors/index.ts";

const step: StepDef = {
  name: "redact_pii_in_prompt",
  phase: "before_call",
  aspect: "compliance_tags",
  run(ctx, env) {
    const c = env.step.config ?? {};
    const kinds = strs(c.kinds, ["prompt", "tool_output", "tool_args"]);
    const types = strs(c.types);
    const threshold = num(c.threshold, 0.5);
    // Only what goes to the MODEL: the arguments of an MCP / hook tool call go to the tool itself.
    const ts = targets(ctx, "before_call", kinds, { toolCalls: false });
    const hits: Array<{ t: Target; f: Finding }> = [];
    for (const t of ts) for (const f of runDetector("detect_pii", t.text, t.kind, threshold)) if (!types.length || types.includes(f.type)) hits.push({ t, f });
    if (hits.length === 0) return { decision: "allow", evidence: { scanned: ts.length } };
    if (env.action !== "redact" && env.action !== "block") return { decision: env.action, reason: "personal data in the prompt", evidence: { count: hits.length, findings: evidenceOf(hits) } };
    const evidence = { count: hits.length, findings: evidenceOf(hits) };
    redactHits(ctx, hits, "reversible");
    return { decision: "redact", reason: `personal data tokenised (${[...new Set(hits.map((h) => h.f.type))].join(", ")})`, evidence: { ...evidence, placeholders: ctx.pii_vault.size } };
  },
};
export default step;
