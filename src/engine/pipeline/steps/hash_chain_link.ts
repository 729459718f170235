/** hash_chain_link: records how the row is chained: SHA-256(prev_hash ‖ canonical(header) ‖ content_digest). */
import type { StepDef } from "../types.ts";

const step: StepDef = {
  name: "hash_chain_link",
  phase: "after_call",
  stage: "audit",
  aspect: "none",
  run: () => ({ decision: "log", evidence: { alg: "sha256", scheme: "H(prev_hash|canonical(header)|content_digest)" } }),
};
export default step;
