/**
 * One audit row per governed call. The row hash commits to the previous row's hash, the
 * canonical header and a digest of the content, so content can be erased (tombstoned) without
 * breaking the chain:  row_hash = SHA-256(prev_hash ‖ canonical(header) ‖ content_digest).
 */
import type { AuditFragment, Surface } from "../pipeline/types.ts";

export type AuditDecision = "allow" | "deny" | "redact" | "notify";

export interface AuditRowInput {
  trace_id: string;
  session_id: string | null;
  agent_id: string | null;
  sandbox_id: string | null;
  policy_version: number | null;
  surface: Surface;
  decision: AuditDecision;
  step_decisions: AuditFragment[];
  /** tokens, cost, tool, model, upstream status, ... (never raw secrets or PII) */
  meta: Record<string, unknown>;
  /** ISO-8601; defaults to the append time. */
  ts?: string;
}

/** Set instead of the content when a row's content was erased (GDPR); signed by the install. */
export interface Tombstone {
  erased_at: string;
  reason: string;
  kid: string;
  /** "ed25519:<kid>:<b64>" over "tappass-audit-erase:v1:<seq>:<content_digest>:<erased_at>" */
  signature: string;
}

export interface AuditRow extends Omit<AuditRowInput, "ts"> {
  seq: number;
  ts: string;
  content_digest: string;
  prev_hash: string;
  row_hash: string;
  kid: string;
  signature: string;
  erased?: Tombstone;
}

/** The hashed header: everything but the content (which enters through its digest). */
export interface AuditHeader {
  v: 1 | 2;
  seq: number;
  ts: string;
  trace_id: string;
  session_id: string | null;
  agent_id: string | null;
  sandbox_id: string | null;
  policy_version: number | null;
  surface: string;
  decision: string;
  kid: string;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  first_seq: number | null;
  last_seq: number | null;
  head_hash: string | null;
  erased: number;
  first_bad_seq?: number;
  reason?: string;
  /** true when the first row's prev_hash was taken on trust (an export that starts mid-chain). */
  anchored?: boolean;
  /**
   * "fast": every row's hash and link, the Ed25519 signature that ends the (signature-covering)
   * chain and any signature the chain does not cover; "full": every row's signature too.
   */
  mode?: "fast" | "full";
  /** Ed25519 verifications done for rows and tombstones (the head/checkpoint not counted). */
  signatures_checked?: number;
  /**
   * Rows past the signed head (appended since it was last sealed, which writers do just after
   * each commit): authentic, but their truncation would not be noticed. Absent when 0.
   */
  unsealed?: number;
}
