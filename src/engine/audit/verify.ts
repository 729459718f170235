/**
 * Offline verification of the chain: every row's seq follows the last, its prev_hash is the
 * previous row's hash, its content matches its digest (or carries a signed tombstone), its
 * hash recomputes, and its signature verifies with a published key. The signed head (DB) or
 * signed checkpoint (JSONL export) catches truncation. Reports the first bad seq and why.
 */
import { readFileSync } from "node:fs";
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { GENESIS_HASH, checkpointSigningBytes, contentOf, eraseSigningBytes, headSigningBytes, headerOf, rowHash, rowSigningBytes, sha256hex } from "./chain.ts";
import { iterateDbRows, readHead } from "./read.ts";
import type { Verifier } from "./signer.ts";
import type { AuditRow, Tombstone, VerifyResult } from "./types.ts";

/** A row as verification sees it: the header fields, the content text (null when erased). */
interface VRow {
  seq: number;
  header: Omit<AuditRow, "step_decisions" | "meta" | "content_digest" | "prev_hash" | "row_hash" | "signature" | "erased">;
  content: string | null;
  content_digest: string;
  erased: Tombstone | null;
  prev_hash: string;
  row_hash: string;
  signature: string;
}

class Bad extends Error {
  constructor(readonly seq: number, reason: string) {
    super(reason);
  }
}

interface Checker {
  push(r: VRow): void;
  result(): VerifyResult;
  readonly last: { seq: number; hash: string } | null;
}

function checker(verifier: Verifier, opts: { allowAnchor: boolean }): Checker {
  let rows = 0;
  let erased = 0;
  let first: number | null = null;
  let last: { seq: number; hash: string } | null = null;
  let anchored = false;
  return {
    get last() {
      return last;
    },
    push(r) {
      if (!Number.isInteger(r.seq) || r.seq < 1) throw new Bad(last ? last.seq + 1 : 1, `row has no valid seq (${String(r.seq)})`);
      if (last === null) {
        if (r.seq !== 1 && !opts.allowAnchor) throw new Bad(1, `chain starts at seq ${r.seq}: rows 1..${r.seq - 1} are missing (deleted)`);
        if (r.seq === 1 && r.prev_hash !== GENESIS_HASH) throw new Bad(1, "first row does not link to the genesis hash (row inserted before it?)");
        if (r.seq !== 1) anchored = true;
        first = r.seq;
      } else {
        const expected = last.seq + 1;
        if (r.seq > expected) throw new Bad(expected, `row ${expected} is missing (deleted); next row is ${r.seq}`);
        if (r.seq < expected) throw new Bad(r.seq, `row ${r.seq} appears after row ${last.seq} (rows reordered or a row inserted)`);
        if (r.prev_hash !== last.hash) throw new Bad(r.seq, `row ${r.seq} does not link to row ${last.seq} (prev_hash mismatch: row inserted, replaced or reordered)`);
      }
      if (r.erased) {
        if (r.content !== null) throw new Bad(r.seq, "row is marked erased but still carries content");
        const t = r.erased;
        const v = verifier.verify(t.signature, eraseSigningBytes(r.seq, r.content_digest, t.erased_at));
        if (!v.ok) throw new Bad(r.seq, `erasure tombstone is not signed by a trusted key: ${v.reason}`);
        erased++;
      } else {
        if (r.content === null) throw new Bad(r.seq, "row content is missing without a signed erasure tombstone");
        if (sha256hex(r.content) !== r.content_digest) throw new Bad(r.seq, "row content does not match its digest (content modified)");
      }
      const h = rowHash(r.prev_hash, headerOf(r.header), r.content_digest);
      if (h !== r.row_hash) throw new Bad(r.seq, "row hash does not match the row (a field was modified)");
      const s = verifier.verify(r.signature, rowSigningBytes(r.row_hash));
      if (!s.ok) throw new Bad(r.seq, s.reason);
      rows++;
      last = { seq: r.seq, hash: r.row_hash };
    },
    result() {
      return { ok: true, rows, first_seq: first, last_seq: last?.seq ?? null, head_hash: last?.hash ?? null, erased, ...(anchored ? { anchored } : {}) };
    },
  };
}

function fail(c: Checker, e: unknown): VerifyResult {
  if (e instanceof Bad) return { ...c.result(), ok: false, first_bad_seq: e.seq, reason: e.message };
  throw e;
}

/** Verify the audit_log table of a state.db (with its signed head). */
export function verifyDb(db: Db, verifier: Verifier): VerifyResult {
  const t = db.prepare<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
  if (!t?.n) throw inputError("not_an_audit_db", `${db.path} has no audit log`, { hint: "point --db at a TapPass state.db" });
  const c = checker(verifier, { allowAnchor: false });
  // One read snapshot (WAL): rows and head as of the same moment, while writers keep appending.
  db.exec("BEGIN DEFERRED");
  try {
    for (const r of iterateDbRows(db)) {
      let erased: Tombstone | null = null;
      if (r.erased !== null) {
        try {
          erased = JSON.parse(r.erased) as Tombstone;
        } catch {
          throw new Bad(r.seq, "erasure tombstone is unreadable");
        }
      }
      c.push({
        seq: r.seq,
        header: { ...r, surface: r.surface as AuditRow["surface"], decision: r.decision as AuditRow["decision"] },
        content: r.content,
        content_digest: r.content_digest,
        erased,
        prev_hash: r.prev_hash,
        row_hash: r.row_hash,
        signature: r.signature,
      });
    }
    const head = readHead(db);
    const last = c.last;
    if (head) {
      const hv = verifier.verify(head.signature, headSigningBytes(head.seq, head.row_hash));
      if (!hv.ok) throw new Bad(head.seq, `the chain head is not validly signed: ${hv.reason}`);
      const lastSeq = last?.seq ?? 0;
      if (head.seq > lastSeq) throw new Bad(lastSeq + 1, `log truncated: the signed head is at row ${head.seq}, the log ends at row ${lastSeq}`);
      if (head.seq === lastSeq && head.row_hash !== last?.hash) throw new Bad(head.seq, "last row does not match the signed head (replaced)");
      // head.seq < lastSeq: a writer crashed between commit of rows and head? Not possible (same
      // transaction), so rows past the head were appended without the key's head update.
      if (head.seq < lastSeq) throw new Bad(head.seq + 1, `rows after ${head.seq} are not covered by the signed head (appended by someone else)`);
    } else if (last) {
      throw new Bad(last.seq, "the signed chain head is missing");
    }
  } catch (e) {
    return fail(c, e);
  } finally {
    db.exec("COMMIT");
  }
  return c.result();
}

/** Verify a JSONL export (`audit export --format jsonl`): rows, then a signed checkpoint line. */
export function verifyJsonl(text: string, verifier: Verifier): VerifyResult {
  const c = checker(verifier, { allowAnchor: true });
  const lines = text.split("\n");
  let checkpoint: Record<string, unknown> | undefined;
  try {
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (!line) continue;
      const expected = (c.last?.seq ?? 0) + 1;
      if (checkpoint) throw new Bad(expected, `line ${i + 1}: data after the checkpoint (rows appended to the export)`);
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        throw new Bad(expected, `line ${i + 1} is not valid JSON (file cut short or edited)`);
      }
      if (o.type === "checkpoint") {
        checkpoint = o;
        continue;
      }
      const r = o as unknown as AuditRow;
      const erased = (r.erased ?? null) as Tombstone | null;
      let content: string | null = null;
      if (!erased) {
        try {
          content = contentOf({ step_decisions: r.step_decisions, meta: r.meta });
        } catch {
          throw new Bad(r.seq, "row content is not encodable");
        }
      }
      c.push({
        seq: r.seq,
        header: r,
        content,
        content_digest: String(r.content_digest),
        erased,
        prev_hash: String(r.prev_hash),
        row_hash: String(r.row_hash),
        signature: String(r.signature),
      });
    }
    const last = c.last;
    if (!checkpoint) throw new Bad((last?.seq ?? 0) + 1, "export has no signed checkpoint at its end (file truncated?)");
    const cv = verifier.verify(String(checkpoint.signature), checkpointSigningBytes(checkpoint));
    if (!cv.ok) throw new Bad(Number(checkpoint.last_seq) || 0, `checkpoint is not validly signed: ${cv.reason}`);
    const res = c.result();
    if (checkpoint.count !== res.rows || checkpoint.last_seq !== res.last_seq || checkpoint.first_seq !== res.first_seq || checkpoint.head_hash !== res.head_hash) {
      const lastSeq = res.last_seq ?? 0;
      const cpLast = Number(checkpoint.last_seq);
      if (cpLast > lastSeq) throw new Bad(lastSeq + 1, `export truncated: the checkpoint covers rows up to ${cpLast}, the file ends at ${lastSeq}`);
      if (checkpoint.first_seq !== res.first_seq) throw new Bad(Number(checkpoint.first_seq) || 1, `export starts at row ${res.first_seq}, the checkpoint says ${String(checkpoint.first_seq)} (leading rows deleted)`);
      throw new Bad(lastSeq, "rows do not match the signed checkpoint");
    }
  } catch (e) {
    return fail(c, e);
  }
  return c.result();
}

export function verifyJsonlFile(path: string, verifier: Verifier): VerifyResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw inputError("file_not_found", `cannot read ${path}`, { hint: "pass a file written by `tappass audit export --format jsonl`", cause: e });
  }
  return verifyJsonl(text, verifier);
}
