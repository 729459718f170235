/**
 * Capability tokens: short-lived ES256 JWTs that stand in for provider keys. The agent holds
 * one; the gateway and broker verify it and act with the real credentials.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { TapPassError } from "../errors.ts";
import { es256PrivateKey, es256PublicKey, type Keys } from "./keys.ts";

export const TOKEN_ISSUER = "tappass";
export const TOKEN_AUDIENCE = "tappass-gateway";

export interface TokenClaims {
  sub: string; // agent name
  sid: string; // session id
  sbx?: string | null; // sandbox id
  pv?: number; // policy version it was issued under
  jti: string;
  iat: number;
  exp: number;
}

/** Parse "5m", "30s", "2h", "1d" or plain seconds. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(ttl.trim());
  if (!m) throw new TapPassError("usage_error", `bad TTL "${ttl}"`, 2, { hint: "use a number with s, m, h or d, e.g. 5m" });
  const n = Number(m[1]);
  return n * ({ s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s"] ?? 1);
}

export async function issueToken(
  keys: Keys,
  opts: { agent: string; session_id?: string; sandbox_id?: string | null; policy_version?: number; ttlSeconds?: number },
): Promise<string> {
  const ttl = opts.ttlSeconds ?? 300;
  return new SignJWT({ sid: opts.session_id ?? crypto.randomUUID(), sbx: opts.sandbox_id ?? null, pv: opts.policy_version })
    .setProtectedHeader({ alg: "ES256", kid: keys.es256.kid, typ: "JWT" })
    .setSubject(opts.agent)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(await es256PrivateKey(keys));
}

let pubCache: { kid: string; key: CryptoKey } | undefined;

/** Verify a capability token; throws TapPassError code token_invalid / token_expired (exit 1). */
export async function verifyToken(keys: Keys, token: string): Promise<TokenClaims> {
  if (!pubCache || pubCache.kid !== keys.es256.kid) pubCache = { kid: keys.es256.kid, key: await es256PublicKey(keys) };
  try {
    const { payload } = await jwtVerify(token, pubCache.key, { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: ["ES256"] });
    return payload as unknown as TokenClaims;
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw new TapPassError("token_expired", "capability token has expired", 1, { hint: "issue a new one with `tappass token issue --agent NAME`" });
    throw new TapPassError("token_invalid", `capability token rejected: ${(e as Error).message}`, 1, { hint: "use a token from `tappass token issue` for this install" });
  }
}
