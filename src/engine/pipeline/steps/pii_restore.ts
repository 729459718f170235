/**
 * pii_restore: after the call, puts the originals back for the placeholders redact_pii_in_prompt
 * made, in the response text and in the arguments of model-emitted tool calls, so the user sees
 * real values and tools act on them while the model never saw them. Runs first in after_call
 * so tool rules (constraints, Rego) judge the real values, not the placeholders.
 */
import type { StepDef } from "../types.ts";
import { setPath, walkStrings } from "./_util.ts";

export function restoreText(text: string, vault: Map<string, string>): { text: string; n: number } {
  if (!text.includes("«")) return { text, n: 0 };
  let n = 0;
  const out = text.replace(/«[A-Z0-9_]+_\d+»/g, (ph) => {
    const v = vault.get(ph);
    if (v === undefined) return ph;
    n++;
    return v;
  });
  return { text: out, n };
}

const step: StepDef = {
  name: "pii_restore",
  phase: "after_call",
  aspect: "compliance_tags",
  // Before the tool steps of after_call: constraints and rules must judge the real recipient.
  first: true,
  run(ctx) {
    if (ctx.pii_vault.size === 0) return { decision: "allow", evidence: { restored: 0 } };
    let restored = 0;
    for (const seg of ctx.response) {
      const r = restoreText(seg.text, ctx.pii_vault);
      if (r.n) (seg.text = r.text), (restored += r.n);
    }
    for (const call of ctx.tool_calls) {
      if (call.origin !== "model" || call.removed) continue;
      walkStrings(call.arguments, (p, s) => {
        const r = restoreText(s, ctx.pii_vault);
        if (r.n) (setPath(call.arguments, p, r.text), (restored += r.n));
      });
    }
    return restored ? { decision: "redact", reason: `restored ${restored} tokenised value(s) in the response`, evidence: { restored } } : { decision: "allow", evidence: { restored: 0 } };
  },
};
export default step;
