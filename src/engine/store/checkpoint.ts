/**
 * WAL checkpoints off the event loop. By default SQLite checkpoints inside the COMMIT that
 * pushes the WAL past 1000 pages, and a checkpoint fsyncs: on a busy gateway that is a
 * multi-millisecond stall of every in-flight call every few hundred calls (the p99). A
 * long-running server (the gateway) instead hands checkpoints to a worker thread with its own
 * connection, which runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`: it never blocks
 * writers, and the fsync happens on the worker's thread.
 *
 * Durability is unchanged: a COMMIT is in the WAL (which is what survives kill -9) before it
 * returns, checkpointed or not. The main connection keeps a high autocheckpoint threshold as a
 * safety net, so the WAL stays bounded even if the worker dies.
 */
import type { Db } from "./db.ts";

const WORKER = `
import { Database } from "bun:sqlite";
let db, timer;
self.onmessage = (e) => {
  if (e.data && e.data.stop) { clearInterval(timer); try { db && db.close(); } catch {} ; self.close?.(); return; }
  const { path, intervalMs } = e.data;
  db = new Database(path);
  db.exec("PRAGMA busy_timeout = 200");
  timer = setInterval(() => { try { db.query("PRAGMA wal_checkpoint(PASSIVE)").get(); } catch {} }, intervalMs);
};
`;

const SAFETY_NET_PAGES = 20_000;

const running = new WeakMap<Db, { refs: number; stop: () => void }>();

/**
 * Start background checkpoints for db (Bun only; a no-op elsewhere or for an in-memory db).
 * Returns a function that stops them (reference-counted per db).
 */
export function checkpointInBackground(db: Db, opts: { intervalMs?: number } = {}): () => void {
  const Worker_ = (globalThis as { Worker?: typeof Worker }).Worker;
  if (db.engine !== "bun:sqlite" || !Worker_ || !db.path || db.path === ":memory:") return () => {};
  const cur = running.get(db);
  if (cur) {
    cur.refs++;
    return once(() => release(db));
  }
  let worker: Worker;
  try {
    const url = URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" }));
    worker = new Worker_(url);
    (worker as { unref?: () => void }).unref?.();
    worker.postMessage({ path: db.path, intervalMs: opts.intervalMs ?? 100 });
  } catch {
    return () => {}; // no worker: SQLite's own autocheckpoint stays in place
  }
  db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  const stop = () => {
    try {
      worker.postMessage({ stop: true });
    } catch {}
    setTimeout(() => worker.terminate(), 50).unref?.();
    try {
      db.exec("PRAGMA wal_autocheckpoint = 1000");
    } catch {
      /* closed */
    }
  };
  running.set(db, { refs: 1, stop });
  db.onClose(() => {
    if (running.get(db)) {
      running.delete(db);
      try {
        worker.terminate();
      } catch {}
    }
  });
  return once(() => release(db));
}

function release(db: Db): void {
  const cur = running.get(db);
  if (!cur) return;
  if (--cur.refs > 0) return;
  running.delete(db);
  cur.stop();
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
