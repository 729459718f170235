/**
 * The install's keys, in TAPPASS_HOME/keys (directory 0700, files 0600):
 *  - ed25519.json: signs audit rows and Compiled Policy envelopes
 *  - es256.json:   signs capability tokens (JWT, ES256)
 * `jwks()` publishes both public keys; `tappass keys export --jwks` prints it.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { inputError } from "../errors.ts";
import { keysDir, tappassHome } from "../home.ts";
import { b64url, fromB64, newSecretKey, publicKeyOf, b64 } from "./ed25519.ts";

export interface Ed25519Key {
  kid: string;
  secret: Uint8Array;
  public: Uint8Array;
}

export interface Es256Key {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface Keys {
  ed25519: Ed25519Key;
  es256: Es256Key;
}

const ED_FILE = "ed25519.json";
const ES_FILE = "es256.json";

/** A key id: the first 16 hex digits of the SHA-256 of the public key (@noble/hashes, loaded when a key is made). */
export const kidOf = (pub: Uint8Array | string): string => {
  const { sha256 } = require("@noble/hashes/sha2.js") as typeof import("@noble/hashes/sha2.js");
  const { bytesToHex, utf8ToBytes } = require("@noble/hashes/utils.js") as typeof import("@noble/hashes/utils.js");
  return bytesToHex(sha256(typeof pub === "string" ? utf8ToBytes(pub) : pub)).slice(0, 16);
};

function writeSecret(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Create any missing key; returns the names of the keys it created (empty when all existed). */
export async function ensureKeys(home = tappassHome()): Promise<string[]> {
  const dir = keysDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created: string[] = [];
  const edPath = join(dir, ED_FILE);
  if (!existsSync(edPath)) {
    const secret = newSecretKey();
    const pub = publicKeyOf(secret);
    writeSecret(edPath, JSON.stringify({ alg: "Ed25519", kid: kidOf(pub), secret: b64(secret), public: b64(pub), created_at: new Date().toISOString() }, null, 2));
    created.push("ed25519");
  }
  const esPath = join(dir, ES_FILE);
  if (!existsSync(esPath)) {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = kidOf(`${publicJwk.x}.${publicJwk.y}`);
    const privateJwk = await exportJWK(privateKey);
    writeSecret(esPath, JSON.stringify({ alg: "ES256", kid, private_jwk: privateJwk, public_jwk: publicJwk, created_at: new Date().toISOString() }, null, 2));
    created.push("es256");
  }
  return created;
}

const cache = new Map<string, Keys>();

export function loadKeys(home = tappassHome()): Keys {
  const hit = cache.get(home);
  if (hit) return hit;
  const dir = keysDir(home);
  const read = (f: string) => {
    const p = join(dir, f);
    if (!existsSync(p)) throw inputError("keys_missing", `signing key ${p} not found`, { hint: "run `tappass init` to create the install's keys" });
    try {
      return JSON.parse(readFileSync(p, "utf8"));
    } catch (e) {
      throw inputError("keys_unreadable", `signing key ${p} is not valid JSON`, { hint: "restore it from a backup, or move it away and run `tappass init` (this rotates the key)", cause: e });
    }
  };
  const ed = read(ED_FILE);
  const es = read(ES_FILE);
  const keys: Keys = {
    ed25519: { kid: ed.kid, secret: fromB64(ed.secret), public: fromB64(ed.public) },
    es256: { kid: es.kid, privateJwk: es.private_jwk, publicJwk: es.public_jwk },
  };
  cache.set(home, keys);
  return keys;
}

export function ed25519Jwk(key: { kid: string; public: Uint8Array }): JWK {
  return { kty: "OKP", crv: "Ed25519", x: b64url(key.public), kid: key.kid, use: "sig", alg: "EdDSA" };
}

/** The install's public keys as a JWKS document. */
export function jwks(keys: Keys): { keys: JWK[] } {
  const { d: _d, ...esPublic } = keys.es256.publicJwk;
  return {
    keys: [ed25519Jwk(keys.ed25519), { ...esPublic, kid: keys.es256.kid, use: "sig", alg: "ES256" }],
  };
}

/** Find an Ed25519 public key by kid in a JWKS document or a raw key file (for offline verify). */
export function ed25519FromJwks(doc: { keys?: JWK[] }, kid?: string): { kid: string; public: Uint8Array } | undefined {
  const k = (doc.keys ?? []).find((j) => j.kty === "OKP" && j.crv === "Ed25519" && (!kid || j.kid === kid));
  if (!k || !k.x) return undefined;
  return { kid: k.kid ?? "", public: new Uint8Array(Buffer.from(k.x, "base64url")) };
}

export async function es256PrivateKey(keys: Keys): Promise<CryptoKey> {
  return (await importJWK(keys.es256.privateJwk, "ES256")) as CryptoKey;
}

export async function es256PublicKey(keys: Keys): Promise<CryptoKey> {
  return (await importJWK(keys.es256.publicJwk, "ES256")) as CryptoKey;
}
