/**
 * The append path: group commit into SQLite (WAL). Appends that arrive within `groupCommitMs`
 * are written in ONE `BEGIN IMMEDIATE` transaction that reads the chain's tail, links, hashes,
 * signs and inserts every row — so several processes (gateway, broker, hook processes)
 * appending to the same state.db keep one valid chain. `append` resolves only after COMMIT: an
 * acknowledged row survives a crash of the process (kill -9).
 *
 * The signed head (what catches truncation) is sealed just after, off the callers' path: a few
 * milliseconds after a commit (SEAL_DELAY_MS, one seal for every batch in that time), and at
 * flush and close. Rows past the head are still authentic — each is signed and a v2 row's hash
 * covers the signature before it — so `audit verify` accepts them and counts them as unsealed;
 * only their truncation, in the moment before the seal, would go unnoticed. A governed call is
 * then spared one Ed25519 signature and a page of its commit, and a busy log writes (and
 * checkpoints) fewer WAL pages.
 * A log busy enough to need WAL checkpoints moves them off the commit path (checkpointer.ts).
 */
import type { Keys } from "../crypto/keys.ts";
import { deniedError, internalError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { GENESIS_HASH, ROW_VERSION, contentOf, headSigningBytes, headerText, rowHashOf, rowSigningBytes, sha256hex } from "./chain.ts";
import { noteCommitted, startCheckpointer } from "./checkpointer.ts";
import { makeSigner, makeVerifier, type Signer } from "./signer.ts";
import type { AuditRow, AuditRowInput } from "./types.ts";

export interface AuditLog {
  /**
   * Appends one row; resolves once it is committed (durable). `trailing`: the row of an answer
   * that went out already (audit/trail.ts): it may wait up to TRAILING_COMMIT_MS for company, so a
   * steady stream of calls pays one commit for several rows; any other append commits them at once.
   */
  append(row: AuditRowInput, opts?: { trailing?: boolean }): Promise<AuditRow>;
  /** Resolves when everything queued so far is committed. */
  flush(): Promise<void>;
  readonly db: Db;
  readonly kid: string;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /**
   * How long to gather appends into one transaction (default 0 = the next turn of the event loop:
   * appends made in the same turn, and every append that arrives while a batch is being written,
   * share one transaction, so a lone call does not wait for a timer and a busy one still batches).
   */
  groupCommitMs?: number;
  /** How long a batch of only trailing rows waits for company (default TRAILING_COMMIT_MS). */
  trailingMs?: number;
  /** Largest batch per transaction (default 2000). */
  maxBatch?: number;
  /**
   * After this many rows appended by this log, checkpoint the WAL in a worker thread instead of
   * inside COMMIT (checkpointer.ts; default 200: a one-shot hook process never starts one, a
   * broker or gateway serving an agent soon does; 0 = never).
   */
  backgroundCheckpointAfter?: number;
}

interface Pending {
  input: AuditRowInput;
  resolve: (r: AuditRow) => void;
  reject: (e: unknown) => void;
}

/**
 * How long after a commit the head is sealed (ms). Sealing after every commit instead measurably
 * worsened a tools/call's p99 (one more commit and WAL page per call); the head lags by this much.
 */
export const SEAL_DELAY_MS = 5;

/** How long a trailing row waits for others to share its commit (ms). */
export const TRAILING_COMMIT_MS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isBusy = (e: unknown) => /SQLITE_BUSY|database is locked/i.test(String((e as { code?: string })?.code ?? "") + String((e as Error)?.message ?? ""));

type Tail = { seq: number; row_hash: string; signature: string };

/**
 * A check of the chain's tail before anything is chained onto it or sealed under it: its
 * signature must verify. Fast `audit verify` recomputes every hash but checks only the newest
 * row's signature, so a writer that chained onto a tail someone rewrote (rows re-hashed without
 * the key) would sign the forgery into the chain. Checked once per tail this log did not write
 * itself: a lone writer pays nothing, writers taking turns one verification per turn.
 */
function tailChecker(db: Db, keys: Keys): { check: (t: Tail) => void; wrote: (rowHash: string) => void } {
  const verifier = makeVerifier([{ kid: keys.ed25519.kid, public: keys.ed25519.public }]);
  let trusted: string | undefined;
  const check = (t: Tail) => {
    if (t.row_hash === trusted) return;
    // rows are never deleted (erasure keeps them): a tail behind the signed head is a truncated
    // log, and chaining onto it would re-seal the head over the gap
    const head = db.prepare<{ seq: number; row_hash: string }>("SELECT seq, row_hash FROM audit_head WHERE id = 1").get();
    if (head && (head.seq > t.seq || (head.seq === t.seq && head.row_hash !== t.row_hash))) {
      throw deniedError("audit_chain_broken", `the audit log ends at row ${t.seq} but its signed head is at row ${head.seq}${head.seq === t.seq ? " with another hash" : ""}: rows were removed or replaced; no row is chained onto it, so governed calls fail until it is dealt with`, {
        hint: "run `tappass audit verify` to see what changed, and keep state.db as evidence",
      });
    }
    const v = verifier.verify(t.signature, rowSigningBytes(t.row_hash));
    if (!v.ok) {
      throw deniedError("audit_chain_broken", `the audit log's newest row (seq ${t.seq}) fails its signature check (${v.reason}); no row is chained onto it, so governed calls fail until it is dealt with`, {
        hint: "run `tappass audit verify --full` to see where the log was changed, and keep state.db as evidence",
      });
    }
    trusted = t.row_hash;
  };
  return { check, wrote: (rowHash) => void (trusted = rowHash) };
}

export function openAuditLog(db: Db, keys: Keys, opts: AuditLogOptions = {}): AuditLog {
  const signer = makeSigner(keys.ed25519);
  const tails = tailChecker(db, keys);
  const checkTail = tails.check;
  // A log has a signed head from before its first row, so a missing head is always tampering
  // (and rows a crash left unsealed are sealed now). Best effort: locked by another writer, or a
  // read-only handle, and the first batch's seal does it.
  try {
    sealHead(db, signer, checkTail);
  } catch {}
  const windowMs = opts.groupCommitMs ?? 0;
  const maxBatch = opts.maxBatch ?? 2000;
  const trailingMs = opts.trailingMs ?? TRAILING_COMMIT_MS;
  let queue: Pending[] = [];
  let timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  let timerIsTimeout = false;
  const clearTimer = () => {
    if (timer === undefined) return;
    if (timerIsTimeout) clearTimeout(timer as ReturnType<typeof setTimeout>);
    else clearImmediate(timer as ReturnType<typeof setImmediate>);
    timer = undefined;
  };
  let running: Promise<void> | undefined;
  let closed = false;
  const checkpointAfter = opts.backgroundCheckpointAfter ?? 200;
  let appended = 0;
  let stopCheckpointer: (() => void) | undefined;
  let cancelSeal: (() => void) | undefined;
  /** Seal the head a little later (this batch's callers have their answers first). */
  const scheduleSeal = (delayMs = SEAL_DELAY_MS) => {
    if (cancelSeal || closed) return;
    const fire = () => {
      cancelSeal = undefined;
      if (running) return; // a batch is retrying on a busy lock: it schedules the seal when done
      try {
        sealHead(db, signer, checkTail);
      } catch (e) {
        // another process holds the write lock: seal a little later (its own seal may do it first)
        if (isBusy(e)) scheduleSeal(5 + Math.random() * 20);
      }
    };
    const t = setTimeout(fire, delayMs);
    (t as { unref?: () => void }).unref?.(); // an exiting process seals in flush/close
    cancelSeal = () => clearTimeout(t);
  };

  // a batch waits for the next turn of the event loop (windowMs 0), or windowMs; a batch of only
  // trailing rows waits trailingMs, cut short by the first append that may not wait
  let urgent = false;
  const schedule = (trailing = false) => {
    if (!trailing) urgent = true;
    if (running) return;
    const wait = urgent ? windowMs : Math.max(windowMs, trailingMs);
    if (timer) {
      if (!timerIsTimeout || wait >= trailingMs) return;
      clearTimer(); // a trailing batch that an urgent append joined: now
    }
    timerIsTimeout = wait > 0;
    timer = wait > 0 ? setTimeout(drainNow, wait) : setImmediate(drainNow);
  };
  /** Write what is queued now (a timer fired, a batch is full, or flush). */
  const drainNow = () => {
    clearTimer();
    urgent = false;
    running = drain().finally(() => {
      running = undefined;
      if (queue.length) schedule(!urgent);
    });
  };

  async function drain(): Promise<void> {
    while (queue.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      let attempt = 0;
      for (;;) {
        try {
          const rows = writeBatch(db, signer, batch.map((p) => p.input), { seal: false, checkTail });
          for (let i = 0; i < batch.length; i++) batch[i]?.resolve(rows[i] as AuditRow);
          appended += rows.length;
          tails.wrote((rows[rows.length - 1] as AuditRow).row_hash);
          if (checkpointAfter > 0 && appended >= checkpointAfter && !stopCheckpointer) stopCheckpointer = startCheckpointer(db) ?? (() => {});
          noteCommitted(db, rows.length);
          scheduleSeal();
          break;
        } catch (e) {
          // Another process holds the write lock past busy_timeout: back off and retry.
          if (isBusy(e) && attempt++ < 50) {
            await sleep(5 + Math.random() * 20);
            continue;
          }
          for (const p of batch) p.reject(e);
          break;
        }
      }
    }
  }

  return {
    db,
    kid: signer.kid,
    append(input, o) {
      if (closed) return Promise.reject(internalError("audit log is closed"));
      return new Promise<AuditRow>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (queue.length >= maxBatch && timer) drainNow();
        else schedule(o?.trailing === true);
      });
    },
    async flush() {
      while (queue.length || timer || running) {
        if (running) await running;
        else if (timer) drainNow(); // whatever waits for company is written now
        else await sleep(0);
      }
      // everything written is sealed under the head before flush returns (a process about to exit)
      cancelSeal?.();
      cancelSeal = undefined;
      if (appended > 0) {
        try {
          sealHead(db, signer, checkTail);
        } catch (e) {
          // locked past busy_timeout by another writer, whose own seal covers these rows too
          if (!isBusy(e)) throw e;
        }
      }
    },
    async close() {
      closed = true;
      await this.flush();
      stopCheckpointer?.();
    },
  };
}

const INSERT = `INSERT INTO audit_log (seq, ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision,
  content, content_digest, erased, prev_hash, row_hash, kid, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`;
const TAIL = "SELECT seq, row_hash, signature FROM audit_log ORDER BY seq DESC LIMIT 1";
const HEAD_SEQ = "SELECT seq FROM audit_head WHERE id = 1";
const HEAD =
  "INSERT INTO audit_head (id, seq, row_hash, kid, signature) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, row_hash = excluded.row_hash, kid = excluded.kid, signature = excluded.signature";

/**
 * Move the signed head to the chain's tail, when it is not there already (a read first: no write
 * lock when there is nothing to seal). Any writer may seal rows others appended: the head says
 * how far the log reached, each row's own signature says who wrote it.
 */
export function sealHead(db: Db, signer: Signer, checkTail?: (t: Tail) => void): void {
  // the head's seq, -1 when there is none yet (an empty log is sealed at seq 0, the genesis hash)
  const head = () => db.prepare<{ seq: number }>(HEAD_SEQ).get()?.seq ?? -1;
  const tail = () => db.prepare<Tail>(TAIL).get() ?? { seq: 0, row_hash: GENESIS_HASH, signature: "" };
  if (head() >= tail().seq) return;
  db.transaction(() => {
    const t = tail();
    if (head() >= t.seq) return;
    if (t.seq > 0) checkTail?.(t);
    db.prepare(HEAD).run(t.seq, t.row_hash, signer.kid, signer.sign(headSigningBytes(t.seq, t.row_hash)));
  });
}

/**
 * One transaction: read the tail, chain + sign + insert every row (format v2: each row's hash
 * also covers the previous row's signature), and move the signed head unless `seal: false`
 * (openAuditLog seals on a later turn: sealHead). The content is serialised and digested before
 * the write lock is taken.
 */
export function writeBatch(db: Db, signer: Signer, inputs: AuditRowInput[], opts: { seal?: boolean; checkTail?: (t: Tail) => void } = {}): AuditRow[] {
  const n = inputs.length;
  const contents: string[] = new Array(n);
  const digests: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const c = contentOf(inputs[i] as AuditRowInput);
    contents[i] = c;
    digests[i] = sha256hex(c);
  }
  const now = new Date().toISOString();
  const kid = signer.kid;
  return db.transaction(() => {
    const tail = db.prepare<Tail>(TAIL).get();
    if (tail) opts.checkTail?.(tail);
    let seq = tail?.seq ?? 0;
    let prev = tail?.row_hash ?? GENESIS_HASH;
    let prevSig = tail?.signature ?? "";
    const ins = db.prepare(INSERT);
    const out: AuditRow[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const i = inputs[k] as AuditRowInput;
      const digest = digests[k] as string;
      seq++;
      const base = {
        seq,
        ts: i.ts ?? now,
        trace_id: i.trace_id,
        session_id: i.session_id ?? null,
        agent_id: i.agent_id ?? null,
        sandbox_id: i.sandbox_id ?? null,
        policy_version: i.policy_version ?? null,
        surface: i.surface,
        decision: i.decision,
        kid,
      };
      const hash = rowHashOf(prev, headerText(base, ROW_VERSION), digest, prevSig);
      const signature = signer.sign(Buffer.from(hash, "hex"));
      ins.run(seq, base.ts, base.trace_id, base.session_id, base.agent_id, base.sandbox_id, base.policy_version, base.surface, base.decision,
        contents[k] as string, digest, prev, hash, kid, signature);
      out[k] = { ...base, step_decisions: i.step_decisions, meta: i.meta, content_digest: digest, prev_hash: prev, row_hash: hash, signature };
      prev = hash;
      prevSig = signature;
    }
    if (opts.seal !== false) db.prepare(HEAD).run(seq, prev, kid, signer.sign(headSigningBytes(seq, prev)));
    return out;
  });
}
