/** sign_mandate: records that the row hash is signed with the install's Ed25519 key (kid). */
import type { StepDef } from "../types.ts";

const step: StepDef = {
  name: "sign_mandate",
  phase: "after_call",
  stage: "audit",
  aspect: "none",
  run: (_ctx, env) => ({ decision: "log", evidence: { alg: "Ed25519", kid: env.keys.ed25519.kid, signs: "row_hash" } }),
};
export default step;
