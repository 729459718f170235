/** Hashing of audit rows: content digest, header, row hash, and the signed messages. */
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical.ts";
import type { AuditFragment } from "../pipeline/types.ts";
import type { AuditHeader, AuditRow } from "./types.ts";

export const GENESIS_HASH = "0".repeat(64);

export const sha256hex = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");

export function contentOf(row: { step_decisions: AuditFragment[]; meta: Record<string, unknown> }): string {
  return `{"meta":${canonicalJson(row.meta)},"step_decisions":${canonicalJson(row.step_decisions)}}`;
}


export function headerOf(row: Omit<AuditRow, "step_decisions" | "meta" | "content_digest" | "prev_hash" | "row_hash" | "signature" | "erased">): AuditHeader {
  return {
    v: 1,
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

/** row_hash = SHA-256(prev_hash ‖ "\n" ‖ canonical(header) ‖ "\n" ‖ content_digest), hex. */
export function rowHash(prevHash: string, header: AuditHeader, contentDigest: string): string {
  return sha256hex(`${prevHash}\n${canonicalJson(header)}\n${contentDigest}`);
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
