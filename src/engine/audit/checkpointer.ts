/**
 * Background WAL checkpoints for a busy audit writer. SQLite's automatic checkpoint runs inside
 * the COMMIT that crosses 1000 WAL pages and, with synchronous=NORMAL, fsyncs the WAL and the
 * database there: a multi-millisecond stall on whichever append batch (and governed call) hits
 * it — about a fifth of the append path's wall time under load. Once a process has appended
 * enough rows to need checkpoints, a worker thread with its own connection runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every few ms instead (PASSIVE never blocks writers or
 * readers), and the writer's connection checkpoints on commit only as a backstop.
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
let timer;
let stopped = false;
const stop = () => {
  stopped = true;
  clearTimeout(timer);
  try { db?.close(); } catch {}
  process.exit(0);
};
self.onmessage = (e) => {
  const m = e.data;
  if (m.stop) return stop();
  db = new Database(m.path);
  db.exec("PRAGMA busy_timeout = 1000");
  const check = db.query("PRAGMA wal_checkpoint(PASSIVE)");
  let idle = 0;
  const tick = () => {
    if (stopped) return;
    if (!existsSync(m.path)) return stop();
    let moved = false;
    try {
      const r = check.get();
      moved = r && r.log > 0 && r.checkpointed > 0;
    } catch {}
    // Every intervalMs while pages come in; backs off to 10x when the WAL is quiet.
    idle = moved ? 0 : Math.min(idle + 1, 10);
    timer = setTimeout(tick, m.intervalMs * Math.max(1, idle));
  };
  timer = setTimeout(tick, m.intervalMs);
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

const running = new WeakMap<Db, () => void>();

/** Starts checkpointing db's WAL in a worker thread; returns how to stop it (undefined: not started). */
export function startCheckpointer(db: Db, intervalMs = 20): (() => void) | undefined {
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
  worker.postMessage({ path: db.path, intervalMs });
  running.set(db, stop);
  return stop;
}
