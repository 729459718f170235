/**
 * check_policy_fresh: the Compiled Policy this pipeline enforces must carry a valid Ed25519
 * signature by this install's key and must not have expired. Otherwise every call is denied
 * (fail closed) — the runner forces this step even when a policy leaves it out.
 */
import { canonicalJson } from "../../canonical.ts";
import { parseSignature, utf8, verifyBytes } from "../../crypto/ed25519.ts";
import type { CompiledPolicyEnvelope } from "../../policy/types.ts";
import type { StepDef } from "../types.ts";
import { num } from "./_util.ts";

const checked = new WeakMap<CompiledPolicyEnvelope, string | null>();

/** null when the signature is good, else why not. Cached per envelope object. */
export function envelopeSignatureProblem(env: CompiledPolicyEnvelope, pub: { kid: string; public: Uint8Array }): string | null {
  const hit = checked.get(env);
  if (hit !== undefined) return hit;
  let problem: string | null = null;
  if (!env || typeof env.signature !== "string" || !env.signature) problem = "the Compiled Policy is unsigned";
  else {
    const sig = parseSignature(env.signature);
    if (!sig) problem = "the Compiled Policy's signature is malformed";
    else if (sig.kid !== pub.kid) problem = `the Compiled Policy is signed by key ${sig.kid}, not this install's key ${pub.kid}`;
    else if (!verifyBytes(sig.sig, utf8(canonicalJson(env.payload)), pub.public)) problem = "the Compiled Policy's signature does not verify (policy modified after signing)";
  }
  checked.set(env, problem);
  return problem;
}

const step: StepDef = {
  name: "check_policy_fresh",
  phase: "before_call",
  aspect: "pipeline",
  hard: true,
  run(_ctx, env) {
    const problem = envelopeSignatureProblem(env.envelope, env.keys.ed25519);
    if (problem) return { decision: "deny", reason: `${problem}; denied — recompile with \`tappass policy compile\``, evidence: { problem } };
    const p = env.envelope.payload;
    const now = env.now();
    const exp = Date.parse(p.expires_at);
    if (!Number.isFinite(exp)) return { decision: "deny", reason: "the Compiled Policy has no valid expires_at; denied", evidence: { expires_at: p.expires_at } };
    if (exp <= now) return { decision: "deny", reason: `the Compiled Policy expired at ${p.expires_at}; denied — sync or recompile the policy`, evidence: { expires_at: p.expires_at } };
    const skewMs = num(env.step.config?.max_clock_skew_s, 300) * 1000;
    const iat = Date.parse(p.issued_at);
    if (Number.isFinite(iat) && iat > now + skewMs) return { decision: "deny", reason: `the Compiled Policy claims to be issued in the future (${p.issued_at}); denied — check the clock`, evidence: { issued_at: p.issued_at } };
    return { decision: "allow", evidence: { expires_in_s: Math.round((exp - now) / 1000), policy_version: p.policy_version } };
  },
};
export default step;
