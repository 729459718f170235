/**
 * Who is calling, and with which provider key we call upstream. The agent presents a TapPass
 * capability token (Authorization: Bearer … or x-api-key: …); the gateway verifies it and
 * substitutes the real provider key, which the agent never sees. Provider keys come from the
 * caller of startGateway, the gateway process's environment (OPENAI_API_KEY /
 * ANTHROPIC_API_KEY, or a route's key_env), or the encrypted key store in TAPPASS_HOME.
 */
import type { Keys } from "../crypto/keys.ts";
import type { TokenClaims } from "../crypto/tokens.ts";
import { verifyTokenCached } from "../pipeline/token-cache.ts";
import { TapPassError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { getProviderKey } from "./keystore.ts";

/** The token the client presented, from Authorization: Bearer, x-api-key or x-goog-api-key (Gemini). */
export function presentedToken(headers: Headers): string | undefined {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1].trim();
  }
  const k = headers.get("x-api-key") ?? headers.get("api-key") ?? headers.get("x-goog-api-key");
  return k ? k.trim() : undefined;
}

export type AuthResult = { ok: true; claims: TokenClaims; token: string } | { ok: false; code: string; message: string; token?: string };

/** Verify the presented token for this gateway's agent. Never throws. */
export async function authenticate(keys: Keys, headers: Headers, agent: string): Promise<AuthResult> {
  const token = presentedToken(headers);
  if (!token) return { ok: false, code: "token_missing", message: "no capability token: send `Authorization: Bearer <token>` or `x-api-key: <token>` (get one with `tappass token issue --agent NAME`)" };
  if (token.split(".").length !== 3) return { ok: false, code: "token_invalid", message: "the credential is not a TapPass capability token; agents authenticate with a token from `tappass token issue`, never a provider key", token };
  try {
    // one cache with the pipeline's verify_capability_token: a token string is verified once until its exp
    const claims = await verifyTokenCached(keys, token);
    if (claims.sub !== agent) return { ok: false, code: "token_wrong_agent", message: `capability token is for agent "${claims.sub}", this gateway serves agent "${agent}"`, token };
    return { ok: true, claims, token };
  } catch (e) {
    if (e instanceof TapPassError) return { ok: false, code: e.code, message: e.message, token };
    return { ok: false, code: "token_invalid", message: `capability token rejected: ${(e as Error).message}`, token };
  }
}

export type ProviderName = "openai" | "anthropic" | "openai_compatible" | "gemini";

export interface ProviderKeySource {
  /** Keys handed in by the embedding caller (tappass exec), by provider name or env var name. */
  explicit?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  db?: Db;
  home?: string;
}

const DEFAULT_ENV: Record<string, string> = { openai: "OPENAI_API_KEY", anthropic: "ANTHROPIC_API_KEY", openai_compatible: "OPENAI_API_KEY", gemini: "GEMINI_API_KEY" };

/**
 * The real key for a provider (or a route's key_env). Throws provider_key_missing (exit 3) when
 * none is configured: the gateway fails closed rather than calling upstream without a key.
 */
export function resolveProviderKey(src: ProviderKeySource, provider: ProviderName, keyEnv?: string): string {
  const envName = keyEnv ?? DEFAULT_ENV[provider] ?? "OPENAI_API_KEY";
  const env = src.env ?? process.env;
  const fromExplicit = (keyEnv ? src.explicit?.[keyEnv] : undefined) ?? src.explicit?.[provider] ?? src.explicit?.[envName];
  if (fromExplicit) return fromExplicit;
  const fromEnv = env[envName];
  if (fromEnv) return fromEnv;
  if (src.db && src.home) {
    const stored = getProviderKey(src.db, src.home, keyEnv ? keyEnv.toLowerCase() : provider === "openai_compatible" ? "openai" : provider);
    if (stored) return stored;
  }
  throw new TapPassError("provider_key_missing", `no ${provider} key configured for the gateway`, 3, {
    hint: `set ${envName} in the gateway's environment or run \`tappass keys set-provider ${keyEnv ? keyEnv.toLowerCase() : provider === "openai_compatible" ? "openai" : provider}\``,
  });
}
