/**
 * Offline verification of the chain: every row's seq follows the last, its prev_hash is the
 * previous row's hash, its content matches its digest (or carries a signed tombstone), its hash
 * recomputes, and the chain is signed by a published key. The signed head (DB) or signed
 * checkpoint (JSONL export) catches truncation. Reports the first bad seq and why.
 *
 * Two modes, same verdict on tampering:
 *   fast (default)  every row's seq, link, content digest and hash are recomputed, every row's
 *                   signature names a trusted key, and Ed25519 is checked where the chain ends.
 *                   A v2 row's hash covers the previous row's signature (chain.ts), so the last
 *                   row's valid signature authenticates every row before it, signatures
 *                   included: modifying, deleting, inserting or reordering any row, or any byte of
 *                   a signature, breaks a hash or the final signature. Signatures not covered
 *                   that way (v1 rows written before the v2 format) are checked one by one.
 *                   What fast does NOT notice: a row whose signature was already invalid when the
 *                   key holder's own writer stored it (it was never valid, so nothing was
 *                   tampered with) — `--full` does.
 *   full            additionally verifies every row's own Ed25519 signature (each row is then
 *                   authentic on its own, e.g. when quoted out of the log).
 * When fast finds a bad signature it re-runs as full, so both name the same first bad seq.
 */
import { readFileSync } from "node:fs";
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { GENESIS_HASH, checkpointSigningBytes, contentOf, eraseSigningBytes, headSigningBytes, headerText, rowHashOf, sha256hex } from "./chain.ts";
import { readHead } from "./read.ts";
import type { Verifier } from "./signer.ts";
import type { AuditHeader, AuditRow, Tombstone, VerifyResult } from "./types.ts";

export interface VerifyOptions {
  /** Verify every row's Ed25519 signature, not only the chain's (see the header comment). */
  full?: boolean;
}

/** A row as verification sees it: the header fields, the content text (null when erased). */
interface VRow extends Omit<AuditHeader, "v"> {
  /** the content text, or its UTF-8 bytes as stored (only its digest matters here) */
  content: string | Uint8Array | null;
  content_digest: string;
  prev_hash: string;
  row_hash: string;
  signature: string;
}

class Bad extends Error {
  constructor(
    readonly seq: number,
    reason: string,
    /** a signature failed: in fast mode, re-run as full to find the first bad signature */
    readonly sig = false,
  ) {
    super(reason);
  }
}

interface Checker {
  /** `anchorPrevSignature`: for a chain that starts mid-way, the signature before its first row. */
  push(r: VRow, erased: Tombstone | null, anchorPrevSignature?: string): void;
  /** Fast mode: check the signature that ends the chain (it authenticates all the rest). */
  end(): void;
  result(): VerifyResult;
  readonly last: { seq: number; hash: string } | null;
}

function checker(verifier: Verifier, opts: { allowAnchor: boolean; full: boolean }): Checker {
  let rows = 0;
  let erased = 0;
  let sigs = 0;
  let first: number | null = null;
  let last: { seq: number; hash: string; sig: string } | null = null;
  /** last's own signature was verified (or is authenticated by a later v2 row: then last moved on) */
  let lastSigChecked = false;
  let anchored = false;
  let guess: 1 | 2 = 2;
  const checkSig = (seq: number, sig: string, hash: string) => {
    sigs++;
    const s = verifier.verify(sig, Buffer.from(hash, "hex"));
    if (!s.ok) throw new Bad(seq, s.reason, true);
  };
  /** The hash of r as a row of version v, or null when v2 cannot be computed (no prev signature). */
  const hashAs = (v: 1 | 2, r: VRow, prevSig: string | null): string | null =>
    v === 1 ? rowHashOf(r.prev_hash, headerText(r, 1), r.content_digest, null) : prevSig === null ? null : rowHashOf(r.prev_hash, headerText(r, 2), r.content_digest, prevSig);
  return {
    get last() {
      return last;
    },
    push(r, tomb, anchorPrevSignature) {
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
      if (tomb) {
        if (r.content !== null) throw new Bad(r.seq, "row is marked erased but still carries content");
        sigs++;
        const v = verifier.verify(tomb.signature, eraseSigningBytes(r.seq, r.content_digest, tomb.erased_at));
        if (!v.ok) throw new Bad(r.seq, `erasure tombstone is not signed by a trusted key: ${v.reason}`, true);
        erased++;
      } else {
        if (r.content === null) throw new Bad(r.seq, "row content is missing without a signed erasure tombstone");
        if (sha256hex(r.content) !== r.content_digest) throw new Bad(r.seq, "row content does not match its digest (content modified)");
      }
      const prevSig = last ? last.sig : r.seq === 1 ? "" : (anchorPrevSignature ?? null);
      let v: 1 | 2 | 0 = 0;
      if (hashAs(guess, r, prevSig) === r.row_hash) v = guess;
      else if (hashAs(guess === 2 ? 1 : 2, r, prevSig) === r.row_hash) v = guess === 2 ? 1 : 2;
      if (v === 0) {
        // The first row that does not hash: it was modified, or (v2) the previous row's
        // signature it covers was. Name the earlier one if that signature is bad.
        if (last && !lastSigChecked) checkSig(last.seq, last.sig, last.hash);
        if (prevSig === null) throw new Bad(r.seq, "row hash does not match the row (a field was modified, or the export starts mid-chain without the previous row's prev_signature)");
        throw new Bad(r.seq, "row hash does not match the row (a field was modified)");
      }
      guess = v;
      if (opts.full) {
        checkSig(r.seq, r.signature, r.row_hash);
      } else {
        // A v1 row does not cover the signature before it: check that one on its own.
        if (last && !lastSigChecked && v === 1) checkSig(last.seq, last.sig, last.hash);
        const unknown = verifier.unknownKey(r.signature);
        if (unknown) throw new Bad(r.seq, unknown, true);
      }
      lastSigChecked = opts.full;
      rows++;
      last = { seq: r.seq, hash: r.row_hash, sig: r.signature };
    },
    end() {
      if (last && !lastSigChecked) {
        checkSig(last.seq, last.sig, last.hash);
        lastSigChecked = true;
      }
    },
    result() {
      return {
        ok: true,
        rows,
        first_seq: first,
        last_seq: last?.seq ?? null,
        head_hash: last?.hash ?? null,
        erased,
        mode: opts.full ? "full" : "fast",
        signatures_checked: sigs,
        ...(anchored ? { anchored } : {}),
      };
    },
  };
}

function fail(c: Checker, e: unknown): PassResult {
  if (e instanceof Bad) return { ...c.result(), ok: false, first_bad_seq: e.seq, reason: e.message, sigFailure: e.sig };
  throw e;
}

type PassResult = VerifyResult & { sigFailure?: boolean };
const strip = ({ sigFailure: _s, ...r }: PassResult): VerifyResult => r;

/** Fast mode found a bad signature: the full pass names the first bad seq exactly. */
function settle(fast: PassResult, full: () => PassResult): VerifyResult {
  return !fast.ok && fast.sigFailure ? strip(full()) : strip(fast);
}

type DbVRow = VRow & { erased: string | null };
const VERIFY_PAGE = `SELECT seq, ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision, kid,
  CAST(content AS BLOB) AS content, content_digest, erased, prev_hash, row_hash, signature FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 4096`;

/**
 * Every row in seq order, in pages. The content comes back as its stored UTF-8 bytes: hashing
 * them as they are skips decoding each row's content into a string only to encode it again.
 */
function* verifyRows(db: Db): Generator<DbVRow> {
  const page = db.prepare<DbVRow>(VERIFY_PAGE);
  let after = Number.NEGATIVE_INFINITY; // rows with seq <= 0 too: each one is a bad row
  for (;;) {
    const rows = page.all(after);
    for (const r of rows) yield r;
    if (rows.length < 4096) return;
    after = (rows[rows.length - 1] as DbVRow).seq;
  }
}

/** Verify the audit_log table of a state.db (with its signed head). */
export function verifyDb(db: Db, verifier: Verifier, opts: VerifyOptions = {}): VerifyResult {
  const t = db.prepare<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
  if (!t?.n) throw inputError("not_an_audit_db", `${db.path} has no audit log`, { hint: "point --db at a TapPass state.db" });
  if (opts.full) return strip(verifyDbPass(db, verifier, true));
  return settle(verifyDbPass(db, verifier, false), () => verifyDbPass(db, verifier, true));
}

/**
 * verifyDb with `full` done in parallel: the fast pass (chain, links, hashes, head), then every
 * row's signature in pages of concurrent asynchronous verifications (node:crypto runs them on
 * its worker pool, so they use every core). Anything found bad is re-checked by the sequential
 * full pass, so the first bad seq and reason are exactly verifyDb(…, {full: true})'s.
 */
export async function verifyDbAsync(db: Db, verifier: Verifier, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const fast = verifyDb(db, verifier);
  if (!opts.full) return fast;
  if (fast.mode === "full") return fast; // fast met a bad signature and already re-ran as full
  // Signatures of the rows the fast pass accepted (a failure at seq N: rows before N).
  const upTo = fast.ok ? (fast.last_seq ?? 0) : (fast.first_bad_seq ?? 1) - 1;
  const page = db.prepare<{ seq: number; row_hash: string; signature: string }>(
    "SELECT seq, row_hash, signature FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 4096",
  );
  let after = 0;
  let checked = 0;
  let bad = false;
  while (!bad && after < upTo) {
    const rows = page.all(after, upTo);
    if (rows.length === 0) break;
    const outcomes = await Promise.all(rows.map((r) => verifier.verifyAsync(r.signature, Buffer.from(r.row_hash, "hex"))));
    checked += rows.length;
    bad = outcomes.some((o) => !o.ok);
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
  if (bad) return strip(verifyDbPass(db, verifier, true));
  return { ...fast, mode: "full", signatures_checked: (fast.signatures_checked ?? 0) + checked };
}

function verifyDbPass(db: Db, verifier: Verifier, full: boolean): PassResult {
  const c = checker(verifier, { allowAnchor: false, full });
  let unsealed = 0;
  // One read snapshot (WAL): rows and head as of the same moment, while writers keep appending.
  db.exec("BEGIN DEFERRED");
  try {
    for (const r of verifyRows(db)) {
      let erased: Tombstone | null = null;
      if (r.erased !== null) {
        try {
          erased = JSON.parse(r.erased) as Tombstone;
        } catch {
          throw new Bad(r.seq, "erasure tombstone is unreadable");
        }
      }
      c.push(r, erased);
    }
    c.end();
    const head = readHead(db);
    const last = c.last;
    if (head) {
      const hv = verifier.verify(head.signature, headSigningBytes(head.seq, head.row_hash));
      if (!hv.ok) throw new Bad(head.seq, `the chain head is not validly signed: ${hv.reason}`, true);
      const lastSeq = last?.seq ?? 0;
      if (head.seq > lastSeq) throw new Bad(lastSeq + 1, `log truncated: the signed head is at row ${head.seq}, the log ends at row ${lastSeq}`);
      if (head.seq === lastSeq && head.row_hash !== (last?.hash ?? GENESIS_HASH)) throw new Bad(head.seq, "last row does not match the signed head (replaced)");
      // head.seq < lastSeq: rows appended since the head was last sealed (store.ts seals it a few
      // ms after a commit, and at close). They are authentic all the same — each row's signature is checked or
      // covered by the next row's hash, up to the last signature, verified above — but their
      // truncation would not be noticed: reported as unsealed.
      if (head.seq < lastSeq) {
        // (row_hash values were all recomputed by the pass above; a head sealed on an empty log is at 0)
        const at = head.seq === 0 ? GENESIS_HASH : db.prepare<{ row_hash: string }>("SELECT row_hash FROM audit_log WHERE seq = ?").get(head.seq)?.row_hash;
        if (at !== head.row_hash) throw new Bad(head.seq, "the row at the signed head does not match it (replaced)");
        unsealed = lastSeq - head.seq;
      }
    } else if (last) {
      throw new Bad(last.seq, "the signed chain head is missing");
    }
  } catch (e) {
    return fail(c, e);
  } finally {
    db.exec("COMMIT");
  }
  return unsealed ? { ...c.result(), unsealed } : c.result();
}

/** Verify a JSONL export (`audit export --format jsonl`): rows, then a signed checkpoint line. */
export function verifyJsonl(text: string, verifier: Verifier, opts: VerifyOptions = {}): VerifyResult {
  if (opts.full) return strip(verifyJsonlPass(text, verifier, true));
  return settle(verifyJsonlPass(text, verifier, false), () => verifyJsonlPass(text, verifier, true));
}

function verifyJsonlPass(text: string, verifier: Verifier, full: boolean): PassResult {
  const c = checker(verifier, { allowAnchor: true, full });
  const lines = text.split("\n");
  let checkpoint: Record<string, unknown> | undefined;
  let firstRow = true;
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
      const r = o as unknown as AuditRow & { prev_signature?: unknown };
      const erased = (r.erased ?? null) as Tombstone | null;
      let content: string | null = null;
      if (!erased) {
        try {
          content = contentOf({ step_decisions: r.step_decisions, meta: r.meta });
        } catch {
          throw new Bad(r.seq, "row content is not encodable");
        }
      }
      if (firstRow && r.seq !== 1 && typeof r.prev_signature !== "string") {
        // Only an export cut at its front lacks it: name the first row the signed checkpoint
        // says was exported, if it says so (the v2 hash below fails either way).
        const cp = signedCheckpointOf(lines, verifier);
        if (cp && typeof cp.first_seq === "number" && cp.first_seq < r.seq) {
          throw new Bad(cp.first_seq, `export starts at row ${r.seq}, the checkpoint says ${cp.first_seq} (leading rows deleted)`);
        }
      }
      firstRow = false;
      c.push(
        { ...r, content, content_digest: String(r.content_digest), prev_hash: String(r.prev_hash), row_hash: String(r.row_hash), signature: String(r.signature) },
        erased,
        typeof r.prev_signature === "string" ? r.prev_signature : undefined,
      );
    }
    c.end();
    const last = c.last;
    if (!checkpoint) throw new Bad((last?.seq ?? 0) + 1, "export has no signed checkpoint at its end (file truncated?)");
    const cv = verifier.verify(String(checkpoint.signature), checkpointSigningBytes(checkpoint));
    if (!cv.ok) throw new Bad(Number(checkpoint.last_seq) || 0, `checkpoint is not validly signed: ${cv.reason}`, true);
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

/** The export's last line if it is a validly signed checkpoint. */
function signedCheckpointOf(lines: string[], verifier: Verifier): Record<string, unknown> | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      return o.type === "checkpoint" && verifier.verify(String(o.signature), checkpointSigningBytes(o)).ok ? o : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function verifyJsonlFile(path: string, verifier: Verifier, opts: VerifyOptions = {}): VerifyResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw inputError("file_not_found", `cannot read ${path}`, { hint: "pass a file written by `tappass audit export --format jsonl`", cause: e });
  }
  return verifyJsonl(text, verifier, opts);
}
