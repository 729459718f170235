/**
 * The encrypted provider-key store. Provider keys (OpenAI, Anthropic, …) are sealed with
 * AES-256-GCM under a key-encryption key (KEK) that lives owner-only in
 * TAPPASS_HOME/keys/provider-kek.json; the ciphertexts live in state.db
 * (gateway_provider_keys). The provider name is the GCM associated data, so a ciphertext
 * cannot be moved to another provider's row. Keys are never printed; only a fingerprint.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inputError } from "../errors.ts";
import { keysDir } from "../home.ts";
import type { Db } from "../store/db.ts";

const KEK_FILE = "provider-kek.json";

interface Kek {
  kid: string;
  key: Buffer;
}

const kekCache = new Map<string, Kek>();

function kekPath(home: string): string {
  return join(keysDir(home), KEK_FILE);
}

function loadKek(home: string, create: boolean): Kek | undefined {
  const hit = kekCache.get(home);
  if (hit) return hit;
  const p = kekPath(home);
  if (!existsSync(p)) {
    if (!create) return undefined;
    const dir = keysDir(home);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const key = randomBytes(32);
    const kid = createHash("sha256").update(key).digest("hex").slice(0, 16);
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ alg: "A256GCM", kid, key: key.toString("base64"), created_at: new Date().toISOString() }, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, p);
  }
  let parsed: { kid?: string; key?: string };
  try {
    parsed = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw inputError("kek_unreadable", `cannot read ${p}: ${(e as Error).message}`, { hint: "restore it from backup, or remove it and set the provider keys again" });
  }
  const key = Buffer.from(parsed.key ?? "", "base64");
  if (key.length !== 32 || !parsed.kid) throw inputError("kek_invalid", `${p} does not hold a 256-bit key`, { hint: "restore it from backup, or remove it and set the provider keys again" });
  const kek = { kid: parsed.kid, key };
  kekCache.set(home, kek);
  return kek;
}

const aad = (provider: string) => Buffer.from(`tappass-provider-key:${provider}`);
export const fingerprint = (secret: string) => `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 12)}`;

export function validProviderName(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(name);
}

/** Seal and store a provider key; returns its fingerprint and the KEK id. */
export function setProviderKey(db: Db, home: string, provider: string, secret: string): { provider: string; fingerprint: string; kek_id: string } {
  if (!validProviderName(provider)) throw inputError("bad_provider", `"${provider}" is not a provider name`, { hint: "use openai, anthropic, or a lower-case name such as a route's key_env" });
  const value = secret.trim();
  if (!value) throw inputError("empty_key", `no key on stdin for ${provider}`, { hint: `pipe it in: printf %s "$KEY" | tappass keys set-provider ${provider}` });
  const kek = loadKek(home, true) as Kek;
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", kek.key, nonce);
  c.setAAD(aad(provider));
  const ct = Buffer.concat([c.update(value, "utf8"), c.final()]);
  const tag = c.getAuthTag();
  db.prepare(
    `INSERT INTO gateway_provider_keys (provider, kek_id, nonce, ciphertext, tag, fingerprint, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(provider) DO UPDATE SET kek_id = excluded.kek_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
  ).run(provider, kek.kid, new Uint8Array(nonce), new Uint8Array(ct), new Uint8Array(tag), fingerprint(value), new Date().toISOString());
  return { provider, fingerprint: fingerprint(value), kek_id: kek.kid };
}

/** The stored key for a provider, or undefined. A row that fails to decrypt is an error (fail closed). */
export function getProviderKey(db: Db, home: string, provider: string): string | undefined {
  let row: { kek_id: string; nonce: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array } | undefined;
  try {
    row = db.prepare<{ kek_id: string; nonce: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array }>("SELECT kek_id, nonce, ciphertext, tag FROM gateway_provider_keys WHERE provider = ?").get(provider);
  } catch {
    return undefined; // table not migrated in this database
  }
  if (!row) return undefined;
  const kek = loadKek(home, false);
  if (!kek || kek.kid !== row.kek_id) throw inputError("kek_mismatch", `the stored ${provider} key was sealed with key ${row.kek_id}, which is not in ${kekPath(home)}`, { hint: `set it again: tappass keys set-provider ${provider}` });
  try {
    const d = createDecipheriv("aes-256-gcm", kek.key, Buffer.from(row.nonce));
    d.setAAD(aad(provider));
    d.setAuthTag(Buffer.from(row.tag));
    return Buffer.concat([d.update(Buffer.from(row.ciphertext)), d.final()]).toString("utf8");
  } catch {
    throw inputError("provider_key_corrupt", `the stored ${provider} key does not decrypt (tampered or wrong key-encryption key)`, { hint: `set it again: tappass keys set-provider ${provider}` });
  }
}

export function listProviderKeys(db: Db): Array<{ provider: string; fingerprint: string; updated_at: string }> {
  return db.prepare<{ provider: string; fingerprint: string; updated_at: string }>("SELECT provider, fingerprint, updated_at FROM gateway_provider_keys ORDER BY provider").all();
}
