/**
 * Ed25519 for audit rows: signers and verifiers bound to their keys once, since signing sits on
 * every governed call and verifying on every row. Native-or-noble is decided in
 * ../crypto/ed25519.ts (signerFor / verifierFor).
 */
import { type KeyObject, createPublicKey, verify as nodeVerify } from "node:crypto";
import { b64, parseSignature, signerFor, verifierFor } from "../crypto/ed25519.ts";

type VerifyOutcome = { ok: true } | { ok: false; reason: string };

export interface Signer {
  kid: string;
  sign(msg: Uint8Array): string;
}

export interface Verifier {
  /** true when `sigString` ("ed25519:<kid>:<b64>") is a valid signature of msg by a known key. */
  verify(sigString: string, msg: Uint8Array): VerifyOutcome;
  /**
   * As verify, off the calling thread where the runtime can (node:crypto's callback form runs on
   * its worker pool), so many verifications in flight use every core.
   */
  verifyAsync(sigString: string, msg: Uint8Array): Promise<VerifyOutcome>;
  /**
   * Without any Ed25519 work: null when `sigString` has the signature form and names a trusted
   * key, else why not (what `verify` would say for a malformed signature or an unknown kid).
   */
  unknownKey(sigString: string): string | null;
}

export function makeSigner(key: { kid: string; secret: Uint8Array }): Signer {
  const sign = signerFor(key.secret);
  return { kid: key.kid, sign: (msg) => `ed25519:${key.kid}:${b64(sign(msg))}` };
}

export function makeVerifier(keys: Array<{ kid: string; public: Uint8Array }>): Verifier {
  const byKid = new Map(keys.map((k) => [k.kid, verifierFor(k.public)] as const));
  const asyncByKid = new Map<string, (sig: Uint8Array, msg: Uint8Array) => Promise<boolean>>();
  for (const k of keys) {
    const sync = byKid.get(k.kid) as (sig: Uint8Array, msg: Uint8Array) => boolean;
    asyncByKid.set(k.kid, asyncVerifierFor(k.public, sync));
  }
  return {
    verify(sigString, msg) {
      const p = parseSignature(sigString);
      if (!p) return { ok: false, reason: "signature is malformed" };
      const v = byKid.get(p.kid);
      if (!v) return { ok: false, reason: `no public key for kid ${p.kid} (wrong --pubkey?)` };
      return v(p.sig, msg) ? { ok: true } : { ok: false, reason: `signature does not verify with key ${p.kid}` };
    },
    async verifyAsync(sigString, msg) {
      const p = parseSignature(sigString);
      if (!p) return { ok: false, reason: "signature is malformed" };
      const v = asyncByKid.get(p.kid);
      if (!v) return { ok: false, reason: `no public key for kid ${p.kid} (wrong --pubkey?)` };
      return (await v(p.sig, msg)) ? { ok: true } : { ok: false, reason: `signature does not verify with key ${p.kid}` };
    },
    unknownKey(sigString) {
      const end = typeof sigString === "string" && sigString.startsWith("ed25519:") ? sigString.indexOf(":", 8) : -1;
      if (end <= 8) return "signature is malformed";
      const kid = sigString.slice(8, end);
      return byKid.has(kid) ? null : `no public key for kid ${kid} (wrong --pubkey?)`;
    },
  };
}

/** node:crypto's asynchronous Ed25519 verify for one key; the synchronous one where it has none. */
function asyncVerifierFor(pub: Uint8Array, sync: (sig: Uint8Array, msg: Uint8Array) => boolean): (sig: Uint8Array, msg: Uint8Array) => Promise<boolean> {
  let key: KeyObject | undefined;
  try {
    if (pub.length === 32) key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(pub).toString("base64url") }, format: "jwk" });
  } catch {
    key = undefined;
  }
  const k = key;
  if (!k) return async (sig, msg) => sync(sig, msg);
  return (sig, msg) =>
    new Promise((resolve) => {
      if (sig.length !== 64) return resolve(false);
      try {
        nodeVerify(null, msg, k, sig, (err, ok) => resolve(!err && ok));
      } catch {
        resolve(sync(sig, msg));
      }
    });
}
