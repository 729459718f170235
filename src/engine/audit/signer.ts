/**
 * Ed25519 for audit rows: signers and verifiers bound to their keys once, since signing sits on
 * every governed call and verifying on every row. Native-or-noble is decided in
 * ../crypto/ed25519.ts (signerFor / verifierFor).
 */
import { b64, parseSignature, signerFor, verifierFor } from "../crypto/ed25519.ts";

export interface Signer {
  kid: string;
  sign(msg: Uint8Array): string;
}

export interface Verifier {
  /** true when `sigString` ("ed25519:<kid>:<b64>") is a valid signature of msg by a known key. */
  verify(sigString: string, msg: Uint8Array): { ok: true } | { ok: false; reason: string };
}

export function makeSigner(key: { kid: string; secret: Uint8Array }): Signer {
  const sign = signerFor(key.secret);
  return { kid: key.kid, sign: (msg) => `ed25519:${key.kid}:${b64(sign(msg))}` };
}

export function makeVerifier(keys: Array<{ kid: string; public: Uint8Array }>): Verifier {
  const byKid = new Map(keys.map((k) => [k.kid, verifierFor(k.public)] as const));
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
