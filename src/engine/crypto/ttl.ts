/** How long a capability token may live under a policy (a type import only: exec loads it at start-up). */
import type { CompiledPolicyPayload } from "../policy/types.ts";

/** The longest token the policy's verify_capability_token step accepts (default 300 s). */
export function maxTokenTtl(policy: Pick<CompiledPolicyPayload, "pipeline">): number {
  const step = policy.pipeline.steps.find((s) => s.name === "verify_capability_token");
  const max = Number(step?.config?.max_ttl_s ?? 300);
  return Number.isFinite(max) && max > 0 ? Math.floor(max) : 300;
}
