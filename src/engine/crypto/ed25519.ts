/**
 * Ed25519 through @noble/ed25519 (pure JS, audited), synchronous via @noble/hashes' sha512,
 * so signing works the same under Bun and Node and verifying needs nothing but the public key.
 * Signatures travel as "ed25519:<key_id>:<base64>".
 */
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

export const newSecretKey = (): Uint8Array => ed.utils.randomSecretKey();
export const publicKeyOf = (secret: Uint8Array): Uint8Array => ed.getPublicKey(secret);
export const signBytes = (msg: Uint8Array, secret: Uint8Array): Uint8Array => ed.sign(msg, secret);
export function verifyBytes(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed.verify(sig, msg, pub);
  } catch {
    return false;
  }
}

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");
export const b64url = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
export const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));

/** "ed25519:<kid>:<base64 sig>" over msg. */
export function signatureString(kid: string, msg: Uint8Array, secret: Uint8Array): string {
  return `ed25519:${kid}:${b64(signBytes(msg, secret))}`;
}

export function parseSignature(s: string): { kid: string; sig: Uint8Array } | null {
  const m = /^ed25519:([^:]+):([A-Za-z0-9+/=]+)$/.exec(s);
  if (!m) return null;
  const sig = fromB64(m[2] as string);
  return sig.length === 64 ? { kid: m[1] as string, sig } : null;
}
