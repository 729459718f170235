/** Reading rows back: by seq range, agent, time; newest tail; the signed head. */
import type { Db } from "../store/db.ts";
import type { AuditHeader, AuditRow, Tombstone } from "./types.ts";

/** A row as stored: the hashed header's fields (types.ts AuditHeader, less its version), the
 * content and its digest, the chain links and the signature. */
export interface DbRow extends Omit<AuditHeader, "v"> {
  content: string | null;
  content_digest: string;
  erased: string | null;
  prev_hash: string;
  row_hash: string;
  signature: string;
}

export function fromDbRow(r: DbRow): AuditRow {
  let content: { step_decisions?: AuditRow["step_decisions"]; meta?: AuditRow["meta"] } = {};
  if (r.content !== null) {
    try {
      // Stored as TEXT; a BLOB with the same bytes (the digest covers bytes) reads the same.
      content = JSON.parse(typeof r.content === "string" ? r.content : new TextDecoder().decode(r.content as Uint8Array));
    } catch {
      content = {};
    }
  }
  const row: AuditRow = {
    seq: r.seq,
    ts: r.ts,
    trace_id: r.trace_id,
    session_id: r.session_id,
    agent_id: r.agent_id,
    sandbox_id: r.sandbox_id,
    policy_version: r.policy_version,
    surface: r.surface as AuditRow["surface"],
    decision: r.decision as AuditRow["decision"],
    step_decisions: content.step_decisions ?? [],
    meta: content.meta ?? {},
    content_digest: r.content_digest,
    prev_hash: r.prev_hash,
    row_hash: r.row_hash,
    kid: r.kid,
    signature: r.signature,
  };
  if (r.erased !== null) {
    try {
      row.erased = JSON.parse(r.erased) as Tombstone;
    } catch {
      row.erased = { erased_at: "", reason: "unreadable tombstone", kid: "", signature: "" };
    }
  }
  return row;
}

export interface ReadFilter {
  agent?: string;
  trace_id?: string;
  /** Only rows with seq > after_seq. */
  after_seq?: number;
  /** ISO timestamp: only rows with ts >= since. */
  since?: string;
  limit?: number;
}

function where(f: ReadFilter): { sql: string; params: (string | number)[] } {
  const c: string[] = [];
  const p: (string | number)[] = [];
  if (f.agent !== undefined) {
    c.push("agent_id = ?");
    p.push(f.agent);
  }
  if (f.trace_id !== undefined) {
    c.push("trace_id = ?");
    p.push(f.trace_id);
  }
  if (f.after_seq !== undefined) {
    c.push("seq > ?");
    p.push(f.after_seq);
  }
  if (f.since !== undefined) {
    c.push("ts >= ?");
    p.push(f.since);
  }
  return { sql: c.length ? `WHERE ${c.join(" AND ")}` : "", params: p };
}

/** Raw rows in seq order (streamed in pages, so verify/export work on large logs). */
export function* iterateDbRows(db: Db, f: ReadFilter = {}, pageSize = 5000): Generator<DbRow> {
  let after = f.after_seq ?? 0;
  let left = f.limit ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const w = where({ ...f, after_seq: after });
    const n = Math.min(pageSize, left);
    if (n <= 0) return;
    const rows = db.prepare<DbRow>(`SELECT * FROM audit_log ${w.sql} ORDER BY seq LIMIT ${n}`).all(...w.params);
    for (const r of rows) yield r;
    if (rows.length < n) return;
    left -= rows.length;
    after = (rows[rows.length - 1] as DbRow).seq;
  }
}

export function readRows(db: Db, f: ReadFilter = {}): AuditRow[] {
  return [...iterateDbRows(db, f)].map(fromDbRow);
}

/** The newest `limit` rows (ascending), optionally for one agent. */
export function tailRows(db: Db, f: { agent?: string; limit?: number } = {}): AuditRow[] {
  const w = where({ agent: f.agent });
  const rows = db.prepare<DbRow>(`SELECT * FROM audit_log ${w.sql} ORDER BY seq DESC LIMIT ${f.limit ?? 20}`).all(...w.params);
  return rows.reverse().map(fromDbRow);
}

export function readHead(db: Db): { seq: number; row_hash: string; kid: string; signature: string } | undefined {
  return db.prepare<{ seq: number; row_hash: string; kid: string; signature: string }>("SELECT seq, row_hash, kid, signature FROM audit_head WHERE id = 1").get();
}

export function lastSeq(db: Db): number {
  return db.prepare<{ s: number | null }>("SELECT max(seq) AS s FROM audit_log").get()?.s ?? 0;
}
