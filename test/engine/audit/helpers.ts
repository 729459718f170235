import { ensureKeys, loadKeys, type Keys } from "../../../src/engine/crypto/keys.ts";
import { openState } from "../../../src/engine/store/state.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { tempHome } from "../../helpers/home.ts";
import type { AuditRowInput } from "../../../src/engine/audit/index.ts";

export async function auditHome(): Promise<{ home: string; db: Db; keys: Keys; cleanup: () => void }> {
  const t = tempHome();
  const db = openState(t.home, { create: true });
  await ensureKeys(t.home);
  return { home: t.home, db, keys: loadKeys(t.home), cleanup: t.cleanup };
}

/** A realistic row: an LLM call where detect_secrets blocked the prompt. */
export function sampleRow(i: number, over: Partial<AuditRowInput> = {}): AuditRowInput {
  const denied = i % 7 === 3;
  return {
    trace_id: `trace-${i.toString(16).padStart(8, "0")}`,
    session_id: `sess-${Math.floor(i / 10)}`,
    agent_id: i % 2 ? "mailer" : "coder",
    sandbox_id: null,
    policy_version: 7,
    surface: i % 3 === 0 ? "mcp" : "llm",
    decision: denied ? "deny" : "allow",
    step_decisions: [
      { step: "verify_capability_token", decision: "allow", evidence: { sub: "mailer" }, compiled_policy_aspect: "identity", rule_provenance: [], duration_ms: 0.4 },
      {
        step: "detect_secrets",
        decision: denied ? "deny" : "allow",
        evidence: denied ? { findings: [{ type: "aws_access_key", start: 12, end: 32, sha256_8: "3f9a01bc" }] } : { findings: [] },
        compiled_policy_aspect: "pipeline",
        rule_provenance: [{ level: "builtin", source: "preset:standard", detail: "secrets blocked" }],
        duration_ms: 0.2,
      },
    ],
    meta: { model: "gpt-4o-mini", tokens: { input: 120 + i, output: 40 }, cost_usd: 0.00012, ...(denied ? { denied_by: { step: "detect_secrets", reason: "prompt contains an AWS access key" } } : {}) },
    ...over,
  };
}
