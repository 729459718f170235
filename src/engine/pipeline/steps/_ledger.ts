/**
 * Shared counters in SQLite, so limits hold across calls AND processes (gateway, broker and
 * hook processes share state.db). Every check-and-update runs inside BEGIN IMMEDIATE: two
 * concurrent callers cannot both see room for the last unit.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../../store/db.ts";

/** Sliding window: record n events under key unless that would exceed limit within windowMs. */
export function hitRate(db: Db, key: string, limit: number, windowMs: number, now: number, n = 1): { ok: boolean; count: number } {
  return db.transaction(() => {
    db.prepare("DELETE FROM pipeline_events WHERE key = ? AND ts <= ?").run(key, now - windowMs);
    const count = db.prepare<{ n: number }>("SELECT count(*) AS n FROM pipeline_events WHERE key = ?").get(key)?.n ?? 0;
    if (count + n > limit) return { ok: false, count };
    const ins = db.prepare("INSERT INTO pipeline_events (key, ts) VALUES (?, ?)");
    for (let i = 0; i < n; i++) ins.run(key, now);
    return { ok: true, count: count + n };
  });
}

export interface Reservation {
  id: string;
  key: string;
  amount: number;
}

/**
 * Reserve `amount` against `limit` for `key`: used + live reservations + amount must fit.
 * Expired reservations (a process that died mid-call) are dropped first.
 */
export function reserve(
  db: Db,
  key: string,
  limit: number,
  amount: number,
  opts: { now: number; ttlMs: number; trace_id?: string },
): { ok: true; reservation: Reservation; used: number; reserved: number } | { ok: false; used: number; reserved: number } {
  return db.transaction(() => {
    db.prepare("DELETE FROM pipeline_reservations WHERE key = ? AND expires_at <= ?").run(key, opts.now);
    const used = db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(key)?.used ?? 0;
    const reserved = db.prepare<{ s: number | null }>("SELECT sum(amount) AS s FROM pipeline_reservations WHERE key = ?").get(key)?.s ?? 0;
    if (used + reserved + amount > limit) return { ok: false as const, used, reserved };
    const id = randomUUID();
    db.prepare("INSERT INTO pipeline_reservations (id, key, amount, trace_id, expires_at) VALUES (?, ?, ?, ?, ?)").run(id, key, amount, opts.trace_id ?? null, opts.now + opts.ttlMs);
    return { ok: true as const, reservation: { id, key, amount }, used, reserved };
  });
}

/** Replace a reservation by the real amount. */
export function reconcile(db: Db, r: Reservation, actual: number, now: number): { used: number } {
  return db.transaction(() => {
    db.prepare("DELETE FROM pipeline_reservations WHERE id = ?").run(r.id);
    db.prepare("INSERT INTO pipeline_usage (key, used, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET used = used + excluded.used, updated_at = excluded.updated_at").run(r.key, actual, now);
    return { used: db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(r.key)?.used ?? actual };
  });
}

export function release(db: Db, r: Reservation): void {
  db.prepare("DELETE FROM pipeline_reservations WHERE id = ?").run(r.id);
}

export function usage(db: Db, key: string): { used: number; reserved: number } {
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
