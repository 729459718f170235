/**
 * Shared counters in SQLite, so limits hold across calls AND processes (gateway, broker and
 * hook processes share state.db). Every check-and-update runs inside BEGIN IMMEDIATE (or a
 * savepoint of the runner's batched ledger transaction, ../batch.ts): two concurrent callers
 * cannot both see room for the last unit.
 *
 * Settling a reservation (reconcile with the real amount, or release) is write-behind: it is
 * queued in memory and applied by the next ledger transaction of this process, by a short
 * timer, before `usage()` reads, when the db closes, or at process exit. Until then the
 * reservation still counts at its estimate, so nothing is under-counted meanwhile; a
 * reservation whose process died before settling it is charged at its estimate when it expires.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../../store/db.ts";

const tx = <T>(db: Db, fn: () => T): T => db.transaction(fn);

/**
 * Sliding window of `windowMs`: record n events under key unless that would exceed limit. A
 * bucketed counter (60 buckets per window): a check sums ≤ 61 small rows, whatever the rate.
 * The oldest, partly expired bucket still counts, so the window errs on the strict side by at
 * most one bucket (window/60).
 */
export function hitRate(db: Db, key: string, limit: number, windowMs: number, now: number, n = 1): { ok: boolean; count: number } {
  const width = Math.max(1, Math.ceil(windowMs / 60));
  const k = `${key}|${windowMs}`;
  const oldest = Math.floor((now - windowMs) / width);
  return tx(db, () => {
    db.prepare("DELETE FROM pipeline_rate WHERE key = ? AND bucket < ?").run(k, oldest);
    const count = db.prepare<{ n: number | null }>("SELECT sum(n) AS n FROM pipeline_rate WHERE key = ?").get(k)?.n ?? 0;
    if (count + n > limit) return { ok: false, count };
    db.prepare("INSERT INTO pipeline_rate (key, bucket, n) VALUES (?, ?, ?) ON CONFLICT(key, bucket) DO UPDATE SET n = n + excluded.n").run(k, Math.floor(now / width), n);
    return { ok: true, count: count + n };
  });
}

export interface Reservation {
  id: string;
  key: string;
  amount: number;
}

const addUsage = (db: Db, key: string, amount: number, now: number) =>
  db.prepare("INSERT INTO pipeline_usage (key, used, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET used = used + excluded.used, updated_at = excluded.updated_at").run(key, amount, now);

/**
 * Reserve `amount` against `limit` for `key`: used + live reservations + amount must fit.
 * Expired reservations (a process that died mid-call, before settling) are charged at their
 * estimate: the upstream may well have used them, and a budget never under-counts.
 */
export function reserve(
  db: Db,
  key: string,
  limit: number,
  amount: number,
  opts: { now: number; ttlMs: number; trace_id?: string },
): { ok: true; reservation: Reservation; used: number; reserved: number } | { ok: false; used: number; reserved: number } {
  return tx(db, () => {
    applyPending(db);
    const live = db
      .prepare<{ s: number | null; expired: number | null }>("SELECT sum(amount) AS s, sum(CASE WHEN expires_at <= ? THEN amount ELSE 0 END) AS expired FROM pipeline_reservations WHERE key = ?")
      .get(opts.now, key);
    let reserved = live?.s ?? 0;
    if (live?.expired) {
      addUsage(db, key, live.expired, opts.now);
      db.prepare("DELETE FROM pipeline_reservations WHERE key = ? AND expires_at <= ?").run(key, opts.now);
      reserved -= live.expired;
    }
    const used = db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(key)?.used ?? 0;
    if (used + reserved + amount > limit) return { ok: false as const, used, reserved };
    const id = randomUUID();
    db.prepare("INSERT INTO pipeline_reservations (id, key, amount, trace_id, expires_at) VALUES (?, ?, ?, ?, ?)").run(id, key, amount, opts.trace_id ?? null, opts.now + opts.ttlMs);
    return { ok: true as const, reservation: { id, key, amount }, used, reserved };
  });
}

// ---------------------------------------------------------------- write-behind settlement

type Op = { r: Reservation; actual: number | null; now: number };

/** How long a settlement may wait for a ledger transaction to carry it (ms). */
export const SETTLE_DELAY_MS = 5;

class SettleQueue {
  ops: Op[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  closed = false;
  constructor(readonly db: Db) {
    db.onClose(() => {
      this.flush();
      this.closed = true;
      live.delete(this);
    });
    live.add(this);
  }
  add(op: Op): void {
    if (this.closed) return;
    this.ops.push(op);
    this.schedule(SETTLE_DELAY_MS);
  }
  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.flush();
      } catch {
        // busy past busy_timeout: try again shortly (the reservations still count meanwhile)
        if (this.ops.length) this.schedule(50);
      }
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }
  /** Apply everything queued, in its own transaction (or the one already open). */
  flush(): void {
    if (this.closed || this.ops.length === 0) return;
    const ops = this.ops.splice(0);
    try {
      tx(this.db, () => this.apply(ops));
    } catch (e) {
      this.ops.unshift(...ops);
      throw e;
    }
  }
  /** Apply inside the caller's open transaction. */
  applyHere(): void {
    if (this.ops.length) this.apply(this.ops.splice(0));
  }
  private apply(ops: Op[]): void {
    const del = this.db.prepare("DELETE FROM pipeline_reservations WHERE id = ?");
    for (const o of ops) {
      const gone = del.run(o.r.id).changes === 0;
      if (o.actual === null) continue; // release: nothing used (an expired one stays charged)
      // expired meanwhile (already charged at its estimate): charge only the difference
      const add = gone ? o.actual - o.r.amount : o.actual;
      if (add !== 0) addUsage(this.db, o.r.key, add, o.now);
    }
  }
}

const queues = new WeakMap<Db, SettleQueue>();
const live = new Set<SettleQueue>();
let exitHook = false;

function queueFor(db: Db): SettleQueue {
  let q = queues.get(db);
  if (!q) {
    q = new SettleQueue(db);
    queues.set(db, q);
    if (!exitHook) {
      exitHook = true;
      // process.exit() and a normal exit: settle what is queued (bun:sqlite is synchronous)
      process.on("exit", () => {
        for (const x of live) {
          try {
            x.flush();
          } catch {
            /* the reservations expire and are charged at their estimate */
          }
        }
      });
    }
  }
  return q;
}

/** Apply this process's queued settlements inside an open ledger transaction. */
export function applyPending(db: Db): void {
  queues.get(db)?.applyHere();
}

/** Apply this process's queued settlements now. */
export function flushLedger(db: Db): void {
  queues.get(db)?.flush();
}

/** Replace a reservation by the real amount (write-behind; see the file comment). */
export function reconcile(db: Db, r: Reservation, actual: number, now: number): void {
  queueFor(db).add({ r, actual, now });
}

/** Give a reservation back unused (write-behind). */
export function release(db: Db, r: Reservation): void {
  queueFor(db).add({ r, actual: null, now: Date.now() });
}

export function usage(db: Db, key: string): { used: number; reserved: number } {
  flushLedger(db);
  const used = db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(key)?.used ?? 0;
  const reserved = db.prepare<{ s: number | null }>("SELECT sum(amount) AS s FROM pipeline_reservations WHERE key = ?").get(key)?.s ?? 0;
  return { used, reserved };
}

export const dayKey = (now: number) => new Date(now).toISOString().slice(0, 10);
export const monthKey = (now: number) => new Date(now).toISOString().slice(0, 7);

export function isSessionKilled(db: Db, session: string): { reason: string | null } | undefined {
  const r = db.prepare<{ killed_at: number | null; reason: string | null }>("SELECT killed_at, reason FROM pipeline_sessions WHERE session_id = ?").get(session);
  return r?.killed_at ? { reason: r.reason } : undefined;
}

export function killSession(db: Db, session: string, agent: string, reason: string, now: number): void {
  db.prepare(
    "INSERT INTO pipeline_sessions (session_id, agent, killed_at, reason) VALUES (?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET killed_at = excluded.killed_at, reason = excluded.reason",
  ).run(session, agent, now, reason);
}
