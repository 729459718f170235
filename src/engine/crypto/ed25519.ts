/**
 * Ed25519 (RFC 8032). Signing and verifying use the runtime's native Ed25519 (node:crypto) when it
 * has one — ~30x faster, and free of @noble's cold-start table build (~40 ms) — and
 * @noble/ed25519 (pure JS, audited; synchronous via @noble/hashes' sha512) otherwise. Ed25519 is
 * deterministic, so both produce byte-identical signatures; test/cli/init.test.ts checks noble
 * verifies what the install signs. Signatures travel as "ed25519:<key_id>:<base64>".
 */
import type { KeyObject } from "node:crypto";

type Noble = typeof import("@noble/ed25519");
let nobleMemo: Noble | undefined;
/**
 * @noble/ed25519 with @noble/hashes' SHA-512, loaded on first use: the hashes module builds its
 * tables at import (~2 ms), which a process that signs and verifies natively never needs.
 */
function noble(): Noble {
  if (!nobleMemo) {
    const ed = require("@noble/ed25519") as Noble;
    ed.hashes.sha512 = (require("@noble/hashes/sha2.js") as typeof import("@noble/hashes/sha2.js")).sha512;
    nobleMemo = ed;
  }
  return nobleMemo;
}

// node:crypto is loaded on first use: its import alone costs 4–9 ms of start-up, which commands
// that only read keys (exec on its way to the sandbox) should not pay.
let nodeCrypto: typeof import("node:crypto") | undefined;
const nc = () => (nodeCrypto ??= process.getBuiltinModule("node:crypto") as typeof import("node:crypto"));

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** A signing function bound to one secret key: native when the runtime has Ed25519, else noble. */
export function signerFor(secret: Uint8Array): (msg: Uint8Array) => Uint8Array {
  try {
    const { createPrivateKey, sign } = nc();
    const k = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(secret)]), format: "der", type: "pkcs8" });
    sign(null, Buffer.alloc(1), k);
    return (msg) => new Uint8Array(sign(null, msg, k));
  } catch {
    return (msg) => noble().sign(msg, secret);
  }
}

/** A verifying function bound to one public key (never throws: a bad input is `false`). */
export function verifierFor(pub: Uint8Array): (sig: Uint8Array, msg: Uint8Array) => boolean {
  let k: KeyObject | undefined;
  const { createPublicKey, verify } = nc();
  try {
    if (pub.length === 32) k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(pub)]), format: "der", type: "spki" });
  } catch {
    k = undefined;
  }
  return (sig, msg) => {
    try {
      return k && sig.length === 64 ? verify(null, msg, k, sig) : noble().verify(sig, msg, pub);
    } catch {
      return false;
    }
  };
}

// One-shot forms keep the bound functions per key, so repeated calls skip key import.
const signers = new Map<string, (msg: Uint8Array) => Uint8Array>();
const verifiers = new Map<string, (sig: Uint8Array, msg: Uint8Array) => boolean>();
function cached<T>(m: Map<string, T>, raw: Uint8Array, make: (raw: Uint8Array) => T): T {
  const id = Buffer.from(raw).toString("base64");
  let f = m.get(id);
  if (!f) {
    if (m.size > 64) m.clear();
    f = make(raw);
    m.set(id, f);
  }
  return f;
}

export const newSecretKey = (): Uint8Array => noble().utils.randomSecretKey();
export const publicKeyOf = (secret: Uint8Array): Uint8Array => noble().getPublicKey(secret);
export const signBytes = (msg: Uint8Array, secret: Uint8Array): Uint8Array => cached(signers, secret, signerFor)(msg);
export const verifyBytes = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => cached(verifiers, pub, verifierFor)(sig, msg);

/** Pure-JS verification (no native code): what an offline verifier anywhere can run. */
export function verifyBytesPortable(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return noble().verify(sig, msg, pub);
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
