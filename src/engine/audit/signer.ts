/**
 * Ed25519 for audit rows. Signing is on the hot path (every governed call), so it uses the
 * runtime's native Ed25519 (node:crypto, BoringSSL/OpenSSL) — ~30x faster than pure-JS noble —
 * and falls back to @noble/ed25519 where the native one is missing. Same algorithm (RFC 8032,
 * deterministic): signatures are byte-identical and verifiable by either.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { b64, parseSignature, signBytes, verifyBytes } from "../crypto/ed25519.ts";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface Signer {
  kid: string;
  sign(msg: Uint8Array): string;
}

export interface Verifier {
  /** true when `sigString` ("ed25519:<kid>:<b64>") is a valid signature of msg by a known key. */
  verify(sigString: string, msg: Uint8Array): { ok: true } | { ok: false; reason: string };
}

export function makeSigner(key: { kid: string; secret: Uint8Array }): Signer {
  let native: KeyObject | undefined;
  try {
    native = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(key.secret)]), format: "der", type: "pkcs8" });
    nodeSign(null, Buffer.alloc(1), native);
  } catch {
    native = undefined;
  }
  const kid = key.kid;
  return {
    kid,
    sign: native
      ? (msg) => `ed25519:${kid}:${b64(nodeSign(null, msg, native as KeyObject))}`
      : (msg) => `ed25519:${kid}:${b64(signBytes(msg, key.secret))}`,
  };
}

export function makeVerifier(keys: Array<{ kid: string; public: Uint8Array }>): Verifier {
  const byKid = new Map<string, (sig: Uint8Array, msg: Uint8Array) => boolean>();
  for (const k of keys) {
    let native: KeyObject | undefined;
    try {
      native = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(k.public)]), format: "der", type: "spki" });
    } catch {
      native = undefined;
    }
    byKid.set(
      k.kid,
      native
        ? (sig, msg) => {
            try {
              return nodeVerify(null, msg, native as KeyObject, sig);
            } catch {
              return false;
            }
          }
        : (sig, msg) => verifyBytes(sig, msg, k.public),
    );
  }
  return {
    verify(sigString, msg) {
      const p = parseSignature(sigString);
      if (!p) return { ok: false, reason: "signature is malformed" };
      const v = byKid.get(p.kid);
      if (!v) return { ok: false, reason: `no public key for kid ${p.kid} (wrong --pubkey?)` };
      return v(p.sig, msg) ? { ok: true } : { ok: false, reason: `signature does not verify with key ${p.kid}` };
    },
  };
}
