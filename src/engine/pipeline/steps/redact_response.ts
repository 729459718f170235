/**
 * redact_response: masks any secret or personal data still in the response (and in the
 * arguments of model-emitted tool calls) as [REDACTED:<type>]. Placeholders restored by
 * pii_restore are values the user already sent, so they are left alone.
 */
import type { Finding } from "../detectors/index.ts";
import type { StepDef } from "../types.ts";
import { evidenceOf, redactHits, runDetector, targets, type Target } from "./_detect.ts";
import { num, strs } from "./_util.ts";

const step: StepDef = {
  name: "redact_response",
  phase: "after_call",
  aspect: "compliance_tags",
  run(ctx, env) {
    const c = env.step.config ?? {};
    const names = strs(c.detectors, ["detect_secrets", "detect_pii"]);
    const threshold = num(c.threshold, 0.5);
    const known = new Set(ctx.pii_vault.values());
    const ts = targets(ctx, "after_call");
    const hits: Array<{ t: Target; f: Finding }> = [];
    for (const t of ts)
      for (const n of names)
        for (const f of runDetector(n, t.text, t.kind, threshold)) if (!known.has(t.text.slice(f.start, f.end))) hits.push({ t, f });
    if (hits.length === 0) return { decision: "allow", evidence: { scanned: ts.length } };
    const evidence = { count: hits.length, findings: evidenceOf(hits) };
    if (env.action === "notify" || env.action === "log") return { decision: env.action, reason: "sensitive data in the response", evidence };
    redactHits(ctx, hits, "mask");
    return { decision: "redact", reason: `response redacted (${[...new Set(hits.map((h) => h.f.type))].join(", ")})`, evidence };
  },
};
export default step;
