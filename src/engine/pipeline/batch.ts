/**
 * Group commit for the pipeline's shared counters (rate limits, budget reservations, sessions).
 * The runner hands each call's run of adjacent ledger steps to `ledgerTxn`; jobs that arrive
 * within one turn of the event loop (and every job that arrives while a batch is being written)
 * run one after another inside ONE `BEGIN IMMEDIATE` transaction, each under its own savepoint,
 * then COMMIT. Each job still sees every earlier job's writes and holds the database's write
 * lock, so check-and-reserve stays atomic across calls and processes; a lone call pays one
 * commit for all its ledger steps instead of one per step, and a busy gateway one per batch.
 * A job's promise settles only after COMMIT; if the transaction fails, every job in it rejects
 * (the runner then denies those calls: fail closed).
 */
import type { Db } from "../store/db.ts";
import { applyPending } from "./steps/_ledger.ts";

interface Job {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Batcher {
  queue: Job[];
  scheduled: boolean;
}

const batchers = new WeakMap<Db, Batcher>();
const MAX_BATCH = 512;

export function ledgerTxn<T>(db: Db, run: () => T): Promise<T> {
  let b = batchers.get(db);
  if (!b) {
    b = { queue: [], scheduled: false };
    batchers.set(db, b);
  }
  const batcher = b;
  return new Promise<T>((resolve, reject) => {
    batcher.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
    if (!batcher.scheduled) {
      batcher.scheduled = true;
      setImmediate(() => drain(db, batcher));
    }
  });
}

function drain(db: Db, b: Batcher): void {
  while (b.queue.length) {
    const jobs = b.queue.splice(0, MAX_BATCH);
    const results: Array<{ ok: true; v: unknown } | { ok: false; e: unknown }> = [];
    try {
      db.transaction(() => {
        const settled = applyPending(db);
        if (jobs.length === 1 && settled === 0) {
          // a lone job with nothing else in the transaction: a savepoint of its own would undo no
          // more than the ROLLBACK its throw leads to (the job is rejected either way)
          results.push({ ok: true, v: (jobs[0] as Job).run() });
          return;
        }
        for (const j of jobs) {
          try {
            results.push({ ok: true, v: db.transaction(j.run) });
          } catch (e) {
            results.push({ ok: false, e });
          }
        }
      });
    } catch (e) {
      for (const j of jobs) j.reject(e);
      continue;
    }
    jobs.forEach((j, i) => {
      const r = results[i] as (typeof results)[number];
      if (r.ok) j.resolve(r.v);
      else j.reject(r.e);
    });
  }
  b.scheduled = false;
}
