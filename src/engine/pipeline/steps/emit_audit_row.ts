/** emit_audit_row: the audit stage — records that this call's one row is appended at finish(). */
import type { StepDef } from "../types.ts";

const step: StepDef = {
  name: "emit_audit_row",
  phase: "after_call",
  stage: "audit",
  aspect: "none",
  run: () => ({ decision: "log", evidence: { rows: 1, store: "sqlite-wal", commit: "group" } }),
};
export default step;
