/**
 * Shared counters in SQLite, so limits hold across calls AND processes (gateway, broker and
 * hook processes share state.db). Every check-and-update runs inside BEGIN IMMEDIATE (or a
 * savepoint of the runner's batched ledger transaction, ../batch.ts): two concurrent callers
 * cannot both see room for the last unit.
 *
 * Leases. Far from a limit, a process takes a slice of the remaining room in one transaction —
 * extra rate-limit events counted in the current bucket, or a budget reservation row larger than
 * the call needs — and serves the next calls from that slice in memory, without touching the
 * database. The slice is counted in the database from the moment it is taken, so every other
 * process sees it as used / in flight: the sum over all processes never exceeds a limit, and the
 * error is only ever on the strict side. A slice is at most 1/16 of the room left (and at most
 * 64 calls' worth), and none is taken unless the room is ≥ 64 calls' worth: near a limit every
 * call reserves exactly, in its own check-and-update, as before. Unused slices go back when a
 * rate bucket ends, when a budget lease sits idle for a second, at close and at exit.
 *
 * Settling a reservation (reconcile with the real amount, release) is write-behind: queued in
 * memory and applied by the next ledger transaction of this process, a short timer, `usage()`,
 * close or exit. Until then the reservation still counts at its estimate. A reservation or lease
 * whose process died before settling it is charged at its amount when it expires (600 s by
 * default): a budget is never under-counted.
 *
 * Repeat counts (the loop guard, `countRepeats` / `noteRepeat`) are write-behind too: a check
 * reads the database (no write lock, no commit) plus what this process has noted and not yet
 * written, and the note rides on the same queue. A runaway loop is stopped all the same; another
 * process sees this one's repeats a few milliseconds late, which a loop of five calls does not
 * outrun. Limits that guard money or quotas (rate limits, budgets) stay check-and-update.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../../store/db.ts";

const tx = <T>(db: Db, fn: () => T): T => db.transaction(fn);

/** No slice is taken unless the room left is at least this many times the call's need. */
const LEASE_MIN_ROOM_CALLS = 64;
/** A slice is at most this many calls' worth … */
const LEASE_MAX_CALLS = 64;
/** … and at most this fraction of the room left. */
const LEASE_ROOM_FRACTION = 1 / 16;
/** A budget lease with nothing in flight for this long goes back. */
const LEASE_IDLE_MS = 1000;

function sliceFor(room: number, need: number): number {
  if (need <= 0 || room - need < LEASE_MIN_ROOM_CALLS * need) return 0;
  return Math.min((room - need) * LEASE_ROOM_FRACTION, LEASE_MAX_CALLS * need);
}

// ---------------------------------------------------------------- rate limits

interface RateLease {
  bucket: number;
  free: number;
  count: number;
  limit: number;
}

interface State {
  rate: Map<string, RateLease>;
  budget: Map<string, BudgetLease>;
  queue: SettleQueue;
  /** sessions this process read (or recorded) as alive: their agent, and when it read them */
  sessions: Map<string, { agent: string; checkedAt: number }>;
}

const states = new WeakMap<Db, State>();
const live = new Set<State>();
let exitHook = false;

function stateOf(db: Db): State {
  let s = states.get(db);
  if (!s) {
    s = { rate: new Map(), budget: new Map(), queue: undefined as unknown as SettleQueue, sessions: new Map() };
    s.queue = new SettleQueue(db, s);
    states.set(db, s);
    live.add(s);
    const st = s;
    db.onClose(() => {
      try {
        st.queue.shutdown();
      } finally {
        live.delete(st);
      }
    });
    if (!exitHook) {
      exitHook = true;
      // process.exit() and a normal exit: settle what is queued, give slices back (bun:sqlite is synchronous)
      process.on("exit", () => {
        for (const x of live) {
          try {
            x.queue.shutdown();
          } catch {
            /* reservations and leases expire and are charged at their amount */
          }
        }
      });
    }
  }
  return s;
}

const rateKey = (key: string, windowMs: number) => `${key}|${windowMs}`;
const bucketWidth = (windowMs: number) => Math.max(1, Math.ceil(windowMs / 60));

/** Can hitRate serve n events from this process's slice, without the database? */
export function rateLeaseCovers(db: Db, key: string, limit: number, windowMs: number, now: number, n = 1): boolean {
  const l = states.get(db)?.rate.get(rateKey(key, windowMs));
  return !!l && l.limit === limit && l.bucket === Math.floor(now / bucketWidth(windowMs)) && l.free >= n;
}

/**
 * Sliding window of `windowMs`: record n events under key unless that would exceed limit. A
 * bucketed counter (60 buckets per window): a check sums ≤ 61 small rows, whatever the rate.
 * The oldest, partly expired bucket still counts, so the window errs on the strict side by at
 * most one bucket (window/60).
 */
export function hitRate(db: Db, key: string, limit: number, windowMs: number, now: number, n = 1): { ok: boolean; count: number } {
  const width = bucketWidth(windowMs);
  const k = rateKey(key, windowMs);
  const bucket = Math.floor(now / width);
  const st = stateOf(db);
  const l = st.rate.get(k);
  if (l && l.limit === limit && l.bucket === bucket && l.free >= n) {
    l.free -= n;
    l.count += n;
    return { ok: true, count: l.count };
  }
  return tx(db, () => {
    if (l) returnRateLease(db, k, l);
    st.rate.delete(k);
    db.prepare("DELETE FROM pipeline_rate WHERE key = ? AND bucket < ?").run(k, Math.floor((now - windowMs) / width));
    const count = db.prepare<{ n: number | null }>("SELECT sum(n) AS n FROM pipeline_rate WHERE key = ?").get(k)?.n ?? 0;
    if (count + n > limit) return { ok: false, count };
    const extra = Math.floor(sliceFor(limit - count, n));
    db.prepare("INSERT INTO pipeline_rate (key, bucket, n) VALUES (?, ?, ?) ON CONFLICT(key, bucket) DO UPDATE SET n = n + excluded.n").run(k, bucket, n + extra);
    if (extra > 0) {
      st.rate.set(k, { bucket, free: extra, count: count + n, limit });
      st.queue.watchLeases();
    }
    return { ok: true, count: count + n };
  });
}

function returnRateLease(db: Db, k: string, l: RateLease): void {
  if (l.free > 0) db.prepare("UPDATE pipeline_rate SET n = max(0, n - ?) WHERE key = ? AND bucket = ?").run(l.free, k, l.bucket);
  l.free = 0;
}

/**
 * Events under key in the sliding window of `windowMs` (bucketed as hitRate's): what the
 * database holds plus what this process noted and has not written yet. A read: no transaction.
 */
export function countRepeats(db: Db, key: string, windowMs: number, now: number): number {
  const width = bucketWidth(windowMs);
  const k = rateKey(key, windowMs);
  const cutoff = Math.floor((now - windowMs) / width);
  const stored = db.prepare<{ n: number | null }>("SELECT sum(n) AS n FROM pipeline_rate WHERE key = ? AND bucket >= ?").get(k, cutoff)?.n ?? 0;
  let noted = 0;
  for (const h of states.get(db)?.queue.hits.get(k) ?? []) if (h.bucket >= cutoff) noted += h.n;
  return stored + noted;
}

/** Note n events under key (write-behind: the next ledger transaction of this process, or a few ms later). */
export function noteRepeat(db: Db, key: string, windowMs: number, now: number, n = 1): void {
  const width = bucketWidth(windowMs);
  stateOf(db).queue.addHit(rateKey(key, windowMs), Math.floor(now / width), Math.floor((now - windowMs) / width), n);
}

// ---------------------------------------------------------------- budgets

export interface Reservation {
  id: string;
  key: string;
  amount: number;
  /** Served from this process's lease (its row is shared by the lease's calls). */
  leased?: boolean;
}

interface BudgetLease {
  id: string;
  key: string;
  /** Amount of the lease row as this process has settled it (in flight + free). */
  granted: number;
  /** Part of the lease no call holds. */
  free: number;
  inflight: number;
  expiresAt: number;
  lastUse: number;
  ttlMs: number;
  limit: number;
  /** used / reserved seen at the last transaction (for evidence). */
  used: number;
  reserved: number;
}

const addUsage = (db: Db, key: string, amount: number, now: number) =>
  db.prepare("INSERT INTO pipeline_usage (key, used, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET used = used + excluded.used, updated_at = excluded.updated_at").run(key, amount, now);

/** Can reserve() serve `amount` from this process's lease, without the database? */
export function budgetLeaseCovers(db: Db, key: string, limit: number, amount: number, now: number): boolean {
  const l = states.get(db)?.budget.get(key);
  return !!l && l.limit === limit && l.free >= amount && l.expiresAt - now > l.ttlMs / 2;
}

/**
 * Reserve `amount` against `limit` for `key`: used + live reservations + amount must fit.
 * Expired reservations (a process that died mid-call, before settling) are charged at their
 * amount: the upstream may well have used them, and a budget never under-counts.
 */
export function reserve(
  db: Db,
  key: string,
  limit: number,
  amount: number,
  opts: { now: number; ttlMs: number; trace_id?: string },
): { ok: true; reservation: Reservation; used: number; reserved: number; leased?: boolean } | { ok: false; used: number; reserved: number } {
  const st = stateOf(db);
  const l = st.budget.get(key);
  if (l && budgetLeaseCovers(db, key, limit, amount, opts.now)) {
    l.free -= amount;
    l.inflight++;
    l.lastUse = opts.now;
    return { ok: true, reservation: { id: l.id, key, amount, leased: true }, used: l.used, reserved: l.reserved, leased: true };
  }
  return tx(db, () => {
    st.queue.applyHere();
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
    // Our own lease's free part is room this call may use (unless the lease expired and was charged).
    const rowOk = !!l && !!db.prepare<{ x: number }>("SELECT 1 AS x FROM pipeline_reservations WHERE id = ?").get(l.id);
    if (l && !rowOk) st.budget.delete(key);
    const mine = rowOk && l ? l.free : 0;
    const room = limit - used - reserved;
    if (room + mine < amount) return { ok: false as const, used, reserved: reserved - mine };
    const need = Math.max(0, amount - mine);
    const extra = sliceFor(room, amount);
    if (!rowOk || !l) {
      if (extra <= 0) {
        // near the limit: an exact reservation of its own
        const id = randomUUID();
        db.prepare("INSERT INTO pipeline_reservations (id, key, amount, trace_id, expires_at) VALUES (?, ?, ?, ?, ?)").run(id, key, amount, opts.trace_id ?? null, opts.now + opts.ttlMs);
        return { ok: true as const, reservation: { id, key, amount }, used, reserved };
      }
      const id = `lease:${randomUUID()}`;
      const granted = amount + extra;
      db.prepare("INSERT INTO pipeline_reservations (id, key, amount, trace_id, expires_at) VALUES (?, ?, ?, ?, ?)").run(id, key, granted, `lease pid ${process.pid}`, opts.now + opts.ttlMs);
      st.budget.set(key, { id, key, granted, free: extra, inflight: 1, expiresAt: opts.now + opts.ttlMs, lastUse: opts.now, ttlMs: opts.ttlMs, limit, used, reserved: reserved + granted });
      st.queue.watchLeases();
      return { ok: true as const, reservation: { id, key, amount, leased: true }, used, reserved, leased: true };
    }
    // top up our lease: what this call needs beyond its free part, plus a new slice if there is room
    const grant = need + extra;
    db.prepare("UPDATE pipeline_reservations SET amount = amount + ?, expires_at = ? WHERE id = ?").run(grant, opts.now + opts.ttlMs, l.id);
    l.granted += grant;
    l.free += grant - amount;
    l.inflight++;
    l.lastUse = opts.now;
    l.expiresAt = opts.now + opts.ttlMs;
    l.used = used;
    l.reserved = reserved + grant;
    l.limit = limit;
    return { ok: true as const, reservation: { id: l.id, key, amount, leased: true }, used, reserved, leased: true };
  });
}

// ---------------------------------------------------------------- write-behind settlement

type Op = { r: Reservation; actual: number | null; now: number };

/** How long a settlement may wait for a ledger transaction to carry it (ms). */
export const SETTLE_DELAY_MS = 5;

/** Rate events noted write-behind, by rate key: per bucket, how many (and the window's oldest bucket then). */
type Hits = Map<string, Array<{ bucket: number; n: number; cutoff: number }>>;

class SettleQueue {
  ops: Op[] = [];
  hits: Hits = new Map();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private leaseTimer: ReturnType<typeof setInterval> | undefined;
  closed = false;
  constructor(
    readonly db: Db,
    readonly st: State,
  ) {}
  add(op: Op): void {
    if (this.closed) return;
    this.ops.push(op);
    this.schedule(SETTLE_DELAY_MS);
  }
  /** Queue n rate events under k in `bucket`. */
  addHit(k: string, bucket: number, cutoff: number, n: number): void {
    if (this.closed) return;
    let list = this.hits.get(k);
    if (!list) this.hits.set(k, (list = []));
    const same = list.find((h) => h.bucket === bucket);
    if (same) same.n += n;
    else list.push({ bucket, n, cutoff });
    this.schedule(SETTLE_DELAY_MS);
  }
  get size(): number {
    return this.ops.length + this.hits.size;
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
  /** While leases are held: every bucket / idle second, give back what is not used. */
  watchLeases(): void {
    if (this.leaseTimer || this.closed) return;
    this.leaseTimer = setInterval(() => {
      try {
        this.tidy(Date.now(), false);
      } catch {
        /* busy: next tick */
      }
      if (this.st.rate.size === 0 && this.st.budget.size === 0) {
        clearInterval(this.leaseTimer);
        this.leaseTimer = undefined;
      }
    }, 250);
    (this.leaseTimer as { unref?: () => void }).unref?.();
  }
  /** Settle what is queued; return rate slices of past buckets and idle budget leases (all when `all`). */
  tidy(now: number, all: boolean): void {
    const stale = [...this.st.rate].filter(([k, l]) => all || l.bucket !== Math.floor(now / bucketWidth(Number(k.slice(k.lastIndexOf("|") + 1)))));
    const idle = [...this.st.budget.values()].filter((l) => l.inflight === 0 && (all || now - l.lastUse > LEASE_IDLE_MS));
    if (!this.size && !stale.length && !idle.length) return;
    tx(this.db, () => {
      this.applyHere();
      for (const [k, l] of stale) {
        returnRateLease(this.db, k, l);
        this.st.rate.delete(k);
      }
      for (const l of idle) {
        // nothing in flight and everything settled: what is left is the free part
        this.db.prepare("DELETE FROM pipeline_reservations WHERE id = ?").run(l.id);
        this.st.budget.delete(l.key);
      }
    });
  }
  /** Apply everything queued, in its own transaction (or the one already open). */
  flush(): void {
    if (this.closed || this.size === 0) return;
    const ops = this.ops.splice(0);
    const hits = this.hits;
    this.hits = new Map();
    try {
      tx(this.db, () => this.apply(ops, hits));
    } catch (e) {
      this.ops.unshift(...ops);
      for (const [k, h] of hits) this.hits.set(k, h);
      throw e;
    }
  }
  /** Apply inside the caller's open transaction. */
  applyHere(): void {
    if (!this.size) return;
    const hits = this.hits;
    this.hits = new Map();
    this.apply(this.ops.splice(0), hits);
  }
  private apply(ops: Op[], hits: Hits): void {
    if (hits.size) {
      const prune = this.db.prepare("DELETE FROM pipeline_rate WHERE key = ? AND bucket < ?");
      const add = this.db.prepare("INSERT INTO pipeline_rate (key, bucket, n) VALUES (?, ?, ?) ON CONFLICT(key, bucket) DO UPDATE SET n = n + excluded.n");
      for (const [k, list] of hits) {
        prune.run(k, Math.max(...list.map((h) => h.cutoff)));
        for (const h of list) add.run(k, h.bucket, h.n);
      }
    }
    const del = this.db.prepare("DELETE FROM pipeline_reservations WHERE id = ?");
    const shrink = this.db.prepare("UPDATE pipeline_reservations SET amount = max(0, amount - ?) WHERE id = ?");
    // Leased reservations share a row: one UPDATE per lease and one usage upsert per key per flush.
    const leases = new Map<string, { key: string; amount: number; actual: number; released: number; now: number }>();
    const usageBy = new Map<string, { add: number; now: number }>();
    const charge = (key: string, add: number, now: number) => {
      const u = usageBy.get(key);
      if (u) {
        u.add += add;
        u.now = Math.max(u.now, now);
      } else usageBy.set(key, { add, now });
    };
    for (const o of ops) {
      if (o.r.leased) {
        const l = leases.get(o.r.id) ?? { key: o.r.key, amount: 0, actual: 0, released: 0, now: o.now };
        l.amount += o.r.amount;
        if (o.actual === null) l.released += o.r.amount;
        else l.actual += o.actual;
        l.now = Math.max(l.now, o.now);
        leases.set(o.r.id, l);
        continue;
      }
      const gone = del.run(o.r.id).changes === 0;
      if (o.actual === null) continue; // release: nothing used (an expired one stays charged)
      // expired meanwhile (already charged at its amount): charge only the difference
      charge(o.r.key, gone ? o.actual - o.r.amount : o.actual, o.now);
    }
    for (const [id, l] of leases) {
      const gone = shrink.run(l.amount, id).changes === 0;
      // a lease that expired meanwhile was charged at its whole amount: charge only the difference
      charge(l.key, gone ? l.actual - (l.amount - l.released) : l.actual, l.now);
    }
    for (const [key, u] of usageBy) if (u.add !== 0) addUsage(this.db, key, u.add, u.now);
  }
  /** Close / exit: settle, give every slice back, stop the timers. */
  shutdown(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.timer = this.leaseTimer = undefined;
    // calls still in flight keep their part of a lease; the rest goes back (noted repeats are written too)
    for (const l of this.st.budget.values()) {
      if (l.inflight === 0 || l.free <= 0) continue;
      this.ops.push({ r: { id: l.id, key: l.key, amount: l.free, leased: true }, actual: null, now: Date.now() });
      l.free = 0;
    }
    this.tidy(Date.now(), true);
    this.closed = true;
  }
}

/** Apply this process's queued settlements inside an open ledger transaction; returns how many there were. */
export function applyPending(db: Db): number {
  const q = states.get(db)?.queue;
  const n = q?.size ?? 0;
  q?.applyHere();
  return n;
}

/** Apply this process's queued settlements now. */
export function flushLedger(db: Db): void {
  states.get(db)?.queue.flush();
}

/** Replace a reservation by the real amount (write-behind; see the file comment). */
export function reconcile(db: Db, r: Reservation, actual: number, now: number): void {
  const st = stateOf(db);
  if (r.leased) {
    const l = st.budget.get(r.key);
    if (l && l.id === r.id) {
      l.granted -= r.amount;
      l.inflight--;
      l.lastUse = now;
    }
  }
  st.queue.add({ r, actual, now });
}

/** Give a reservation back unused (write-behind; a leased one goes back to its lease, no write). */
export function release(db: Db, r: Reservation): void {
  const st = stateOf(db);
  if (r.leased) {
    const l = st.budget.get(r.key);
    if (l && l.id === r.id) {
      l.free += r.amount;
      l.inflight--;
      return;
    }
  }
  st.queue.add({ r, actual: null, now: Date.now() });
}

/** used and reserved (in flight, including this process's unused lease) for key. */
export function usage(db: Db, key: string): { used: number; reserved: number } {
  flushLedger(db);
  const used = db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(key)?.used ?? 0;
  const reserved = db.prepare<{ s: number | null }>("SELECT sum(amount) AS s FROM pipeline_reservations WHERE key = ?").get(key)?.s ?? 0;
  return { used, reserved };
}

/** Give back this process's unused slices now (tests; before handing a budget to another process). */
export function returnLeases(db: Db): void {
  states.get(db)?.queue.tidy(Date.now(), true);
}

/** UTC day / month of a time, memoised for the current day (budgets key every call by them). */
let dayMemo = { from: 0, to: -1, day: "", month: "" };
function dayOf(now: number): typeof dayMemo {
  if (now >= dayMemo.from && now < dayMemo.to) return dayMemo;
  const iso = new Date(now).toISOString();
  const from = Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10)));
  dayMemo = { from, to: from + 86_400_000, day: iso.slice(0, 10), month: iso.slice(0, 7) };
  return dayMemo;
}
export const dayKey = (now: number) => dayOf(now).day;
export const monthKey = (now: number) => dayOf(now).month;

export function isSessionKilled(db: Db, session: string): { reason: string | null } | undefined {
  const r = db.prepare<{ killed_at: number | null; reason: string | null }>("SELECT killed_at, reason FROM pipeline_sessions WHERE session_id = ?").get(session);
  return r?.killed_at ? { reason: r.reason } : undefined;
}

/**
 * How long a session this process read as alive is taken as alive without reading it again (ms).
 * A session's agent never changes once recorded; a kill by this process is seen at once, one by
 * another process (loop_guard there) within this long.
 */
export const SESSION_RECHECK_MS = 100;

/**
 * The session's row: its owning agent and whether it was killed. Records a new session for
 * `agent` (a write: the runner batches it) unless this process already saw it recorded.
 */
export function sessionRow(db: Db, session: string, agent: string, now = Date.now()): { agent: string; killed?: { reason: string | null } } {
  const st = stateOf(db);
  const known = st.sessions.get(session);
  // a read per call was the costliest statement of a plain model call (a WAL read transaction each)
  if (known && now - known.checkedAt < SESSION_RECHECK_MS) return { agent: known.agent };
  const r = db.prepare<{ agent: string; killed_at: number | null; reason: string | null }>("SELECT agent, killed_at, reason FROM pipeline_sessions WHERE session_id = ?").get(session);
  if (!r) {
    db.prepare("INSERT OR IGNORE INTO pipeline_sessions (session_id, agent) VALUES (?, ?)").run(session, agent);
    const owner = db.prepare<{ agent: string }>("SELECT agent FROM pipeline_sessions WHERE session_id = ?").get(session)?.agent ?? agent;
    rememberSession(st, session, owner, now);
    return { agent: owner };
  }
  if (r.killed_at) {
    st.sessions.delete(session); // read again every time: a killed session stays killed
    return { agent: r.agent, killed: { reason: r.reason } };
  }
  rememberSession(st, session, r.agent, now);
  return { agent: r.agent };
}

function rememberSession(st: State, session: string, agent: string, now: number): void {
  if (st.sessions.size > 10_000) st.sessions.clear();
  st.sessions.set(session, { agent, checkedAt: now });
}

/** Has this process already seen the session recorded (so checking it needs no write)? */
export function sessionKnown(db: Db, session: string): boolean {
  return states.get(db)?.sessions.has(session) ?? false;
}

export function killSession(db: Db, session: string, agent: string, reason: string, now: number): void {
  states.get(db)?.sessions.delete(session);
  db.prepare(
    "INSERT INTO pipeline_sessions (session_id, agent, killed_at, reason) VALUES (?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET killed_at = excluded.killed_at, reason = excluded.reason",
  ).run(session, agent, now, reason);
}
