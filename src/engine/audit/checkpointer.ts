/**
 * Background WAL checkpoints for a busy audit writer. SQLite's automatic checkpoint runs inside
 * the COMMIT that crosses 1000 WAL pages and, with synchronous=NORMAL, fsyncs the WAL and the
 * database there: a multi-millisecond stall on whichever append batch (and governed call) hits
 * it — about a fifth of the append path's wall time under load. Once a process has appended
 * enough rows to need checkpoints, a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` instead (PASSIVE never blocks writers or readers), and the
 * writer's connection checkpoints on commit only as a backstop.
 *
 * The worker checkpoints when told to — every CHECKPOINT_EVERY_ROWS committed rows
 * (noteCommitted) — not on a timer: a checkpoint's fsync of the WAL stalls a COMMIT that lands
 * during it, and a timer ticking through an agent's quiet seconds met the next call's commit far
 * more often (a governed call after a pause took ~1.2 ms to commit instead of ~0.1).
 *
 * Durability is unchanged: a row is acknowledged after COMMIT wrote it to the WAL, exactly as
 * before; checkpoints only copy committed pages into the main file. If the worker cannot start
 * or fails, the connection gets its automatic checkpoints back. Bun only (bun:sqlite);
 * TAPPASS_AUDIT_CHECKPOINTER=0 turns it off.
 */
import type { Db } from "../store/db.ts";

const WORKER = `
const { Database } = require("bun:sqlite");
const { existsSync } = require("node:fs");
let db;
let check;
let path;
const stop = () => {
  try { db?.close(); } catch {}
  process.exit(0);
};
self.onmessage = (e) => {
  const m = e.data;
  if (m.stop) return stop();
  if (m.checkpoint) {
    if (!existsSync(path)) return stop();
    try { check.get(); } catch {}
    return;
  }
  path = m.path;
  db = new Database(path);
  db.exec("PRAGMA busy_timeout = 1000");
  check = db.query("PRAGMA wal_checkpoint(PASSIVE)");
  postMessage({ started: true });
};
`;

/**
 * While the worker runs, the writer's own checkpoint-on-commit only triggers past this many WAL
 * pages (~32 MB, 8x SQLite's default): under sustained appends the worker rarely catches up to
 * the very last frame, which SQLite needs before it can start the WAL over, so this backstop
 * bounds the WAL file — and by then the worker has already copied almost every page.
 */
const BACKSTOP_PAGES = 8000;

/** Committed rows between two checkpoints (~1300 WAL pages at a governed call's ~6.5). */
export const CHECKPOINT_EVERY_ROWS = 200;

const running = new WeakMap<Db, { stop: () => void; checkpoint: () => void; rows: number }>();

/** Rows were committed on db: every CHECKPOINT_EVERY_ROWS, its checkpointer (if one runs) checkpoints. */
export function noteCommitted(db: Db, rows: number): void {
  const c = running.get(db);
  if (!c) return;
  c.rows += rows;
  if (c.rows < CHECKPOINT_EVERY_ROWS) return;
  c.rows = 0;
  c.checkpoint();
}

/** Starts checkpointing db's WAL in a worker thread; returns how to stop it (undefined: not started). */
export function startCheckpointer(db: Db): (() => void) | undefined {
  if (running.has(db) || db.engine !== "bun:sqlite" || process.env.TAPPASS_AUDIT_CHECKPOINTER === "0") return undefined;
  if (!db.path || db.path === ":memory:" || db.path.startsWith("file:")) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" })));
  } catch {
    return undefined;
  }
  (worker as { unref?: () => void }).unref?.();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    running.delete(db);
    try {
      db.exec("PRAGMA wal_autocheckpoint = 1000"); // SQLite's default
    } catch {
      /* the connection is closed: nothing to restore */
    }
    try {
      worker.postMessage({ stop: true });
    } catch {
      /* already gone */
    }
  };
  worker.addEventListener("error", stop);
  worker.addEventListener("close", stop);
  worker.addEventListener("message", (e: MessageEvent) => {
    // Only once the worker has its own connection does the writer stop checkpointing on commit.
    if ((e.data as { started?: boolean })?.started && !stopped) {
      try {
        db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      } catch {
        stop();
      }
    }
  });
  worker.postMessage({ path: db.path });
  const checkpoint = () => {
    try {
      if (!stopped) worker.postMessage({ checkpoint: true });
    } catch {
      stop();
    }
  };
  running.set(db, { stop, checkpoint, rows: 0 });
  return stop;
}
