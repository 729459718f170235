/**
 * Hashing of audit rows: content digest, header, row hash, and the signed messages.
 *
 * Row format versions (the header's `v`, which is hashed, so a row's version is fixed by its
 * signed row_hash):
 *   v1  row_hash = SHA-256(prev_hash ‖ "\n" ‖ canonical(header) ‖ "\n" ‖ content_digest)
 *   v2  row_hash = SHA-256(prev_hash ‖ "\n" ‖ canonical(header) ‖ "\n" ‖ content_digest ‖ "\n" ‖ prev_signature)
 * where prev_signature is the previous row's signature text ("" before the first row). v2 also
 * chains the signatures: any row's signature then authenticates every earlier row INCLUDING their
 * signatures, which is what lets `audit verify` check the whole chain with one Ed25519 verify at
 * its end (see verify.ts). New rows are v2; v1 rows (written before) still verify.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical.ts";
import type { AuditFragment } from "../pipeline/types.ts";
import type { AuditHeader } from "./types.ts";

export const GENESIS_HASH = "0".repeat(64);
/** The version new rows are written with. */
export const ROW_VERSION = 2 as const;

type BunHash = { SHA256: { hash(s: string | Uint8Array, enc: "hex"): string } };
const bunHash = (globalThis as { Bun?: BunHash }).Bun?.SHA256;

/** SHA-256, hex. Bun's one-shot hasher is ~5x faster than node:crypto's createHash per call. */
export const sha256hex: (s: string | Uint8Array) => string = bunHash
  ? (s) => bunHash.hash(s, "hex")
  : (s) => createHash("sha256").update(s).digest("hex");

/** The row content that content_digest covers: canonical JSON of {meta, step_decisions}. */
export function contentOf(row: { step_decisions: AuditFragment[]; meta: Record<string, unknown> }): string {
  let meta: unknown;
  let steps: unknown;
  try {
    meta = sortedView(row.meta);
    steps = sortedView(row.step_decisions);
  } catch (e) {
    if (e !== BAIL) throw e;
    return `{"meta":${canonicalJson(row.meta)},"step_decisions":${canonicalJson(row.step_decisions)}}`;
  }
  // Same bytes as canonicalJson (test/engine/audit/canon.test.ts checks both on awkward values).
  return JSON.stringify({ meta: meta ?? null, step_decisions: steps ?? null });
}

/**
 * canonicalJson(value), the same bytes, through sortedView and one native JSON.stringify where it
 * can (falls back to canonicalJson on the values where the two would differ). For hashing small
 * values on every call: tool definitions (pins), tool arguments (loop fingerprints).
 */
export function canonicalText(value: unknown): string {
  let view: unknown;
  try {
    view = sortedView(value);
  } catch (e) {
    if (e !== BAIL) throw e;
    return canonicalJson(value);
  }
  return view === undefined ? "null" : JSON.stringify(view);
}

/**
 * canonicalJson's bytes from ONE native JSON.stringify call (several times faster on a row than
 * walking it in JS and quoting every string separately): returns a copy of v whose objects have
 * their keys inserted in code-unit order (strings and numbers are shared). JSON.stringify then
 * writes exactly what canonicalJson would — except on values where the two differ (integer-like
 * keys, which engines enumerate first; "__proto__"; toJSON; bigint; non-finite numbers;
 * functions, symbols; non-plain objects), where this throws BAIL and the caller falls back to
 * canonicalJson.
 */
const BAIL = Symbol("bail");
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;
function sortedView(v: unknown): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw BAIL;
      return v;
    case "undefined":
      return v;
    case "object": {
      if (v === null) return v;
      if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
          const x = v[i];
          const y = x === undefined ? null : sortedView(x);
          if (y !== x && !out) out = v.slice(0, i);
          if (out) out.push(y);
        }
        return out ?? v;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw BAIL;
      const o = v as Record<string, unknown>;
      if (typeof o.toJSON === "function") throw BAIL;
      const keys = Object.keys(o);
      let sorted = true;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const c0 = k.charCodeAt(0);
        if ((c0 >= 48 && c0 <= 57 && INDEX_KEY.test(k)) || k === "__proto__") throw BAIL;
        if (i > 0 && !((keys[i - 1] as string) < k)) sorted = false;
      }
      if (!sorted) keys.sort();
      // keys already in order (the pipeline builds its fragments that way) and no child needing a
      // copy: share the object (JSON.stringify skips undefined members just as a copy would)
      let out: Record<string, unknown> | undefined = sorted ? undefined : {};
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const x = o[k];
        if (x === undefined) continue;
        const y = sortedView(x);
        if (!out && y !== x) {
          out = {};
          for (let j = 0; j < i; j++) {
            const xj = o[keys[j] as string];
            if (xj !== undefined) out[keys[j] as string] = xj;
          }
        }
        if (out) out[k] = y;
      }
      return out ?? o;
    }
    default:
      throw BAIL;
  }
}

/** The hashed fields of a row (surface and decision as stored: any string). */
type HeaderFields = Omit<AuditHeader, "v">;

export function headerOf(row: HeaderFields, v: 1 | 2 = ROW_VERSION): AuditHeader {
  return {
    v,
    seq: row.seq,
    ts: row.ts,
    trace_id: row.trace_id,
    session_id: row.session_id,
    agent_id: row.agent_id,
    sandbox_id: row.sandbox_id,
    policy_version: row.policy_version,
    surface: row.surface,
    decision: row.decision,
    kid: row.kid,
  };
}

/**
 * canonicalJson(headerOf(row, v)), fast: the keys are fixed, so an object literal with them in
 * code-unit order goes through ONE native JSON.stringify (same bytes: undefined members are
 * dropped by both). A field holding an object (possible in a hand-edited export) or a
 * non-finite number falls back to canonicalJson itself.
 */
export function headerText(row: HeaderFields, v: 1 | 2 = ROW_VERSION): string {
  const { agent_id, decision, kid, policy_version, sandbox_id, seq, session_id, surface, trace_id, ts } = row;
  if (
    plain(agent_id) && plain(decision) && plain(kid) && plain(policy_version) && plain(sandbox_id) &&
    plain(seq) && plain(session_id) && plain(surface) && plain(trace_id) && plain(ts)
  ) {
    return JSON.stringify({ agent_id, decision, kid, policy_version, sandbox_id, seq, session_id, surface, trace_id, ts, v });
  }
  return canonicalJson(headerOf(row, v));
}

/** A value JSON.stringify and canonicalJson write alike (undefined: both drop the member). */
const plain = (x: unknown): boolean =>
  typeof x === "string" || x === null || x === undefined || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x));

/**
 * The row hash (hex) of a row of version header.v. `prevSignature` (the previous row's signature
 * text, "" for the first row) is part of a v2 row's hash and ignored for v1.
 */
export function rowHash(prevHash: string, header: AuditHeader, contentDigest: string, prevSignature = ""): string {
  return rowHashOf(prevHash, canonicalJson(header), contentDigest, header.v === 1 ? null : prevSignature);
}

/** As rowHash, from the header's canonical text (headerText); prevSignature null = a v1 row. */
export function rowHashOf(prevHash: string, headerCanon: string, contentDigest: string, prevSignature: string | null): string {
  return sha256hex(prevSignature === null ? `${prevHash}\n${headerCanon}\n${contentDigest}` : `${prevHash}\n${headerCanon}\n${contentDigest}\n${prevSignature}`);
}

/** The bytes the row signature covers: the raw 32-byte row hash. */
export const rowSigningBytes = (rowHashHex: string): Uint8Array => new Uint8Array(Buffer.from(rowHashHex, "hex"));

export const headSigningBytes = (seq: number, rowHashHex: string): Uint8Array =>
  new Uint8Array(Buffer.from(`tappass-audit-head:v1:${seq}:${rowHashHex}`));

export const eraseSigningBytes = (seq: number, contentDigest: string, erasedAt: string): Uint8Array =>
  new Uint8Array(Buffer.from(`tappass-audit-erase:v1:${seq}:${contentDigest}:${erasedAt}`));

export const checkpointSigningBytes = (cp: Record<string, unknown>): Uint8Array => {
  const { signature: _s, ...rest } = cp;
  return new Uint8Array(Buffer.from(`tappass-audit-checkpoint:v1:${canonicalJson(rest)}`));
};
