/**
 * verify_capability_token: the caller's capability token (ES256 JWT from `tappass token issue`)
 * must verify, be for this agent, and live no longer than max_ttl_s (default 300 s). Surfaces
 * listed in config.required_for (default llm, mcp) must present one.
 */
import type { TokenClaims } from "../../crypto/tokens.ts";
import { cachedTokenClaims, verifyTokenCached } from "../token-cache.ts";
import type { CallContext, StepDef, StepEnv, StepResult } from "../types.ts";
import { num, strs } from "./_util.ts";

function refused(e: unknown): StepResult {
  const code = (e as { code?: string }).code ?? "token_invalid";
  return { decision: "deny", reason: (e as Error).message, evidence: { token: code } };
}

function judge(ctx: CallContext, env: StepEnv, claims: TokenClaims): StepResult {
  const c = env.step.config ?? {};
  if (claims.sub !== ctx.agent) return { decision: "deny", reason: `capability token is for agent "${claims.sub}", not "${ctx.agent}"`, evidence: { token: "wrong_agent", sub: claims.sub } };
  const maxTtl = num(c.max_ttl_s, 300);
  const life = claims.exp - claims.iat;
  if (life > maxTtl + 5) return { decision: "deny", reason: `capability token lives ${life} s, more than the ${maxTtl} s allowed — issue a shorter one`, evidence: { token: "ttl_too_long", ttl_s: life } };
  ctx.claims = { ...claims } as unknown as Record<string, unknown>;
  return { decision: "allow", evidence: { token: "valid", sub: claims.sub, jti: claims.jti, expires_in_s: claims.exp - Math.floor(env.now() / 1000) } };
}

const step: StepDef = {
  name: "verify_capability_token",
  phase: "before_call",
  aspect: "identity",
  hard: true,
  run(ctx, env) {
    const c = env.step.config ?? {};
    const required = strs(c.required_for, ["llm", "mcp"]);
    const token = ctx.token;
    if (!token) {
      if (required.includes(ctx.surface)) return { decision: "deny", reason: `no capability token presented on the ${ctx.surface} surface — issue one with \`tappass token issue --agent ${ctx.agent}\``, evidence: { token: "absent" } };
      return { decision: "allow", evidence: { token: "absent", required: false } };
    }
    // verified once per token string, until its exp (checked here on every call); a token already
    // verified is judged without a promise (no timer, no hop: the runner runs it inline)
    let known: TokenClaims | undefined;
    try {
      known = cachedTokenClaims(env.keys, token, env.now());
    } catch (e) {
      return refused(e);
    }
    if (known) return judge(ctx, env, known);
    return verifyTokenCached(env.keys, token, env.now()).then(
      (claims) => judge(ctx, env, claims),
      (e) => refused(e),
    );
  },
};
export default step;
