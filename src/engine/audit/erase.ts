/**
 * Erasure (e.g. a GDPR request): the content of every row of a trace is replaced by a signed
 * tombstone. The row hash commits to the content's DIGEST, not the content, so the chain still
 * verifies; the erasure itself is recorded as a new admin row.
 */
import type { Keys } from "../crypto/keys.ts";
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { eraseSigningBytes } from "./chain.ts";
import { makeSigner } from "./signer.ts";
import { openAuditLog, type AuditLog } from "./store.ts";
import type { Tombstone } from "./types.ts";

export async function eraseTrace(db: Db, keys: Keys, traceId: string, opts: { reason?: string; log?: AuditLog } = {}): Promise<{ trace_id: string; erased: number[]; audit_seq: number }> {
  const signer = makeSigner(keys.ed25519);
  const reason = opts.reason ?? "erasure request";
  const erased = db.transaction(() => {
    const rows = db.prepare<{ seq: number; content_digest: string }>("SELECT seq, content_digest FROM audit_log WHERE trace_id = ? AND erased IS NULL ORDER BY seq").all(traceId);
    const upd = db.prepare("UPDATE audit_log SET content = NULL, erased = ? WHERE seq = ?");
    for (const r of rows) {
      const erased_at = new Date().toISOString();
      const t: Tombstone = { erased_at, reason, kid: signer.kid, signature: signer.sign(eraseSigningBytes(r.seq, r.content_digest, erased_at)) };
      upd.run(JSON.stringify(t), r.seq);
    }
    return rows.map((r) => r.seq);
  });
  if (erased.length === 0) {
    const any = db.prepare("SELECT 1 AS x FROM audit_log WHERE trace_id = ? LIMIT 1").get(traceId);
    if (!any) throw inputError("unknown_trace", `no audit rows with trace id ${traceId}`, { hint: "find trace ids with `tappass audit tail --json`" });
  }
  const own = !opts.log;
  const log = opts.log ?? openAuditLog(db, keys);
  const row = await log.append({
    trace_id: `erase-${traceId}`,
    session_id: null,
    agent_id: null,
    sandbox_id: null,
    policy_version: null,
    surface: "admin",
    decision: "allow",
    step_decisions: [],
    meta: { action: "audit.erase", erased_trace_id: traceId, erased_seqs: erased, reason },
  });
  // sealed under the signed head before returning: a command about to exit would leave its row
  // unsealed, and its deletion unnoticed
  if (own) await log.close();
  return { trace_id: traceId, erased, audit_seq: row.seq };
}
