/**
 * Verified capability tokens, cached by token string until their `exp`. An ES256 verification
 * (jose, WebCrypto) costs ~0.3 ms and queues behind other crypto under load; a token is
 * immutable, so once its signature verified under a key it stays verified for its lifetime.
 * Expiry is still checked on every call (against the caller's clock), the key id must be the
 * one that verified it, and callers still check agent / session / ttl against the claims.
 * Failures are never cached (a bad token pays the full check each time).
 */
import type { Keys } from "../crypto/keys.ts";
import { TapPassError } from "../errors.ts";
import { type TokenClaims, verifyToken } from "../crypto/tokens.ts";

const MAX = 10_000;
const verified = new Map<string, { kid: string; claims: TokenClaims }>();

/**
 * The claims of a token this cache already verified under keys' current key, without a promise:
 * undefined when it has not (verifyTokenCached does the full check); throws when it expired.
 */
export function cachedTokenClaims(keys: Keys, token: string, nowMs: number = Date.now()): TokenClaims | undefined {
  const hit = verified.get(token);
  if (!hit || hit.kid !== keys.es256.kid) return undefined;
  if (hit.claims.exp > nowMs / 1000) return hit.claims;
  verified.delete(token);
  throw new TapPassError("token_expired", "capability token has expired", 1, { hint: "issue a new one with `tappass token issue --agent NAME`" });
}

export async function verifyTokenCached(keys: Keys, token: string, nowMs: number = Date.now()): Promise<TokenClaims> {
  const known = cachedTokenClaims(keys, token, nowMs);
  if (known) return known;
  const hit = verified.get(token);
  if (hit) verified.delete(token);
  const claims = await verifyToken(keys, token);
  // jose checked exp against the wall clock; the caller's clock decides too
  if (!(typeof claims.exp === "number" && claims.exp > nowMs / 1000)) throw new TapPassError("token_expired", "capability token has expired", 1, { hint: "issue a new one with `tappass token issue --agent NAME`" });
  if (verified.size >= MAX) {
    // drop expired entries first, then the oldest
    const s = nowMs / 1000;
    for (const [k, v] of verified) if (v.claims.exp <= s) verified.delete(k);
    if (verified.size >= MAX) verified.delete(verified.keys().next().value as string);
  }
  verified.set(token, { kid: keys.es256.kid, claims: Object.freeze({ ...claims }) as TokenClaims });
  return verified.get(token)?.claims as TokenClaims;
}

/** For tests and key rotation: forget every cached verification. */
export function clearTokenCache(): void {
  verified.clear();
}
