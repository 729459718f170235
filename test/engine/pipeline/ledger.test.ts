import { afterEach, describe, expect, test } from "bun:test";
import { readRows } from "../../../src/engine/audit/read.ts";
import { SESSION_RECHECK_MS, budgetLeaseCovers, countRepeats, flushLedger, hitRate, killSession, noteRepeat, sessionRow, rateLeaseCovers, reconcile, release, reserve, returnLeases, usage } from "../../../src/engine/pipeline/steps/_ledger.ts";
import { testPayload } from "../../helpers/policy.ts";
import { type Env, llmCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());

describe("bucketed rate counters", () => {
  test("a sliding window of buckets: full at the limit, free again once the window has passed", async () => {
    env = await pipelineEnv();
    const t0 = 1_800_000_000_000;
    const hit = (t: number, n = 1) => hitRate(env.db, "rpm:agent=a", 3, 60_000, t, n);
    expect([hit(t0), hit(t0 + 10), hit(t0 + 20_000)].map((r) => r.ok)).toEqual([true, true, true]);
    expect(hit(t0 + 30_000)).toEqual({ ok: false, count: 3 });
    // still inside the window of the first hits
    expect(hit(t0 + 59_000).ok).toBe(false);
    // the first two have left the window (one bucket = 1 s of slack on the strict side)
    expect(hit(t0 + 61_001)).toEqual({ ok: true, count: 2 });
    // n events at once count as n
    expect(hit(t0 + 61_002, 2).ok).toBe(false);
    // other keys and other windows are separate counters
    expect(hitRate(env.db, "rpm:agent=b", 3, 60_000, t0 + 30_000).ok).toBe(true);
    expect(hitRate(env.db, "rpm:agent=a", 10, 1_000, t0 + 30_000).ok).toBe(true);
    // old buckets are pruned: a check reads at most ~61 rows however many events there were
    for (let i = 0; i < 500; i++) hitRate(env.db, "busy", 1e9, 60_000, t0 + i * 1000);
    expect(env.db.prepare<{ n: number }>("SELECT count(*) AS n FROM pipeline_rate WHERE key LIKE 'busy|%'").get()?.n).toBeLessThanOrEqual(62);
  });

  test("concurrent calls in one process share the limit exactly (batched ledger transaction)", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload({ budget: { requests_per_minute: 7, tokens_per_day: null, dollars_per_month: null } }));
    const tok = await env.token();
    const vs = await Promise.all(Array.from({ length: 25 }, async (_, i) => {
      const c = p.begin(llmCall(tok, `q${i}`));
      const v = await c.run("before_call");
      await c.finish();
      return v;
    }));
    expect(vs.filter((v) => v.decision === "allow")).toHaveLength(7);
    expect(vs.filter((v) => v.denied_by?.step === "enforce_rate_limit")).toHaveLength(18);
  });
});

describe("the batched ledger transaction", () => {
  test("a job that throws is rejected with nothing of it written, alone or beside queued settlements and other jobs", async () => {
    const { ledgerTxn } = await import("../../../src/engine/pipeline/batch.ts");
    env = await pipelineEnv();
    const db = env.db;
    const rows = (k: string) => db.prepare<{ n: number }>("SELECT count(*) AS n FROM pipeline_rate WHERE key = ?").get(`${k}|60000`)?.n ?? 0;
    const now = 1_800_000_000_000;
    // alone (no settlement queued): the transaction is rolled back, the job rejected
    const lone = ledgerTxn(db, () => {
      hitRate(db, "lone", 5, 60_000, now);
      throw new Error("boom");
    });
    await expect(lone).rejects.toThrow("boom");
    expect(rows("lone")).toBe(0);
    expect(db.inTransaction).toBe(false);
    // alone and fine
    expect((await ledgerTxn(db, () => hitRate(db, "fine", 5, 60_000, now))).ok).toBe(true);
    expect(rows("fine")).toBe(1);
    // beside a queued settlement: the settlement is applied, the failing job's writes are not
    const r = reserve(db, "budget:x", 1_000, 10, { now, ttlMs: 60_000 });
    if (!r.ok) throw new Error("reserve failed");
    reconcile(db, r.reservation, 4, now);
    const failing = ledgerTxn(db, () => {
      hitRate(db, "beside", 5, 60_000, now);
      throw new Error("bang");
    });
    await expect(failing).rejects.toThrow("bang");
    expect(rows("beside")).toBe(0);
    expect(usage(db, "budget:x").used).toBe(4);
    // two jobs in one batch: each stands on its own
    const [a, b] = await Promise.allSettled([
      ledgerTxn(db, () => hitRate(db, "a", 5, 60_000, now)),
      ledgerTxn(db, () => {
        hitRate(db, "b", 5, 60_000, now);
        throw new Error("b fails");
      }),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("rejected");
    expect([rows("a"), rows("b")]).toEqual([1, 0]);
  });
});

describe("write-behind repeat counts (the loop guard)", () => {
  test("counted at once in this process, in the database a few ms later (or at the next ledger transaction), seen there by other processes", async () => {
    env = await pipelineEnv();
    const t0 = Date.now();
    const stored = () => env.db.prepare<{ n: number | null }>("SELECT sum(n) AS n FROM pipeline_rate WHERE key LIKE 'loop:x|%'").get()?.n ?? 0;
    for (let i = 0; i < 3; i++) noteRepeat(env.db, "loop:x", 300_000, t0 + i);
    // this process counts what it noted before any write
    expect(stored()).toBe(0);
    expect(countRepeats(env.db, "loop:x", 300_000, t0 + 3)).toBe(3);
    expect(countRepeats(env.db, "loop:y", 300_000, t0 + 3)).toBe(0);
    // the settle timer writes it; another connection (process) then sees it
    await Bun.sleep(30);
    expect(stored()).toBe(3);
    const { openDb } = await import("../../../src/engine/store/db.ts");
    const other = openDb(env.db.path);
    expect(countRepeats(other, "loop:x", 300_000, t0 + 4)).toBe(3);
    noteRepeat(other, "loop:x", 300_000, t0 + 5, 2);
    other.close(); // closing writes what is queued
    expect(countRepeats(env.db, "loop:x", 300_000, t0 + 6)).toBe(5);
    // outside the window they no longer count (and are pruned by the next write of the key)
    expect(countRepeats(env.db, "loop:x", 300_000, t0 + 400_000)).toBe(0);
    noteRepeat(env.db, "loop:x", 300_000, t0 + 400_000);
    flushLedger(env.db);
    expect(stored()).toBe(1);
    // notes in two buckets (5 s apart) wait together, count together, and are written together
    noteRepeat(env.db, "loop:x", 300_000, t0 + 401_000);
    noteRepeat(env.db, "loop:x", 300_000, t0 + 411_000);
    expect(countRepeats(env.db, "loop:x", 300_000, t0 + 412_000)).toBe(3);
    flushLedger(env.db);
    expect(stored()).toBe(3);
  });
});

describe("sessions", () => {
  test("an alive session is read once per SESSION_RECHECK_MS; a kill here is seen at once, one in another process within that time", async () => {
    env = await pipelineEnv();
    const t0 = Date.now();
    expect(sessionRow(env.db, "s1", "mailer", t0)).toEqual({ agent: "mailer" });
    // bound to its first agent
    expect(sessionRow(env.db, "s1", "other", t0 + 1)).toEqual({ agent: "mailer" });
    const { openDb } = await import("../../../src/engine/store/db.ts");
    const other = openDb(env.db.path);
    killSession(other, "s1", "mailer", "loop_guard: x repeated", t0 + 2);
    other.close();
    // within the recheck time this process still takes it as alive ...
    expect(sessionRow(env.db, "s1", "mailer", t0 + 3).killed).toBeUndefined();
    // ... and reads it again after
    expect(sessionRow(env.db, "s1", "mailer", t0 + SESSION_RECHECK_MS + 1)).toEqual({ agent: "mailer", killed: { reason: "loop_guard: x repeated" } });
    expect(sessionRow(env.db, "s1", "mailer", t0 + SESSION_RECHECK_MS + 2).killed).toBeDefined();
    // a kill by this process is seen at once
    expect(sessionRow(env.db, "s2", "mailer", t0).killed).toBeUndefined();
    killSession(env.db, "s2", "mailer", "loop", t0 + 1);
    expect(sessionRow(env.db, "s2", "mailer", t0 + 2).killed).toEqual({ reason: "loop" });
  });
});

describe("write-behind settlement of reservations", () => {
  const K = "tokens:agent=mailer:day=x";
  test("reconcile and release are applied by the next ledger transaction, a read, or the timer", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const a = reserve(env.db, K, 10_000, 1000, { now, ttlMs: 60_000 });
    const b = reserve(env.db, K, 10_000, 1000, { now, ttlMs: 60_000 });
    if (!a.ok || !b.ok) throw new Error("reserve failed");
    reconcile(env.db, a.reservation, 400, now);
    release(env.db, b.reservation);
    // not yet in the database: the reservations still count at their estimate (never under-counted)
    const raw = () => env.db.prepare<{ s: number | null }>("SELECT sum(amount) AS s FROM pipeline_reservations WHERE key = ?").get(K)?.s ?? 0;
    expect(raw()).toBe(2000);
    // the next reservation's transaction applies them first
    const c = reserve(env.db, K, 10_000, 1000, { now, ttlMs: 60_000 });
    expect(c).toMatchObject({ ok: true, used: 400, reserved: 0 });
    if (!c.ok) return;
    reconcile(env.db, c.reservation, 50, now);
    // usage() applies what is queued before it reads
    expect(usage(env.db, K)).toEqual({ used: 450, reserved: 0 });
    // ... and so does the timer, a few ms later
    const d = reserve(env.db, K, 10_000, 1000, { now, ttlMs: 60_000 });
    if (!d.ok) return;
    reconcile(env.db, d.reservation, 100, now);
    await Bun.sleep(30);
    expect(raw()).toBe(0);
    expect(usage(env.db, K).used).toBe(550);
  });

  test("an expired reservation (its process died mid-call) is charged at its estimate; a late reconcile charges the difference", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const a = reserve(env.db, K, 5000, 1000, { now, ttlMs: 1000 });
    const b = reserve(env.db, K, 5000, 1000, { now, ttlMs: 1000 });
    if (!a.ok || !b.ok) throw new Error("reserve failed");
    // later: both expired; the next reservation charges them (2000) instead of forgetting them
    const c = reserve(env.db, K, 5000, 1000, { now: now + 5000, ttlMs: 60_000 });
    expect(c).toMatchObject({ ok: true, used: 2000, reserved: 0 });
    // a's call did finish after all, with 1500 real tokens: only the 500 not yet charged are added
    reconcile(env.db, a.reservation, 1500, now + 6000);
    flushLedger(env.db);
    expect(usage(env.db, K)).toEqual({ used: 2500, reserved: 1000 });
    // releasing an expired reservation leaves its charge
    release(env.db, b.reservation);
    expect(usage(env.db, K)).toEqual({ used: 2500, reserved: 1000 });
    // and the limit holds against used + live reservations
    expect(reserve(env.db, K, 5000, 2000, { now: now + 7000, ttlMs: 60_000 }).ok).toBe(false);
  });

  test("queued settlements survive db close (flushed before the handle goes away)", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const a = reserve(env.db, K, 5000, 1000, { now, ttlMs: 60_000 });
    if (!a.ok) throw new Error("reserve failed");
    reconcile(env.db, a.reservation, 123, now);
    const path = env.db.path;
    env.db.close();
    const { openDb } = await import("../../../src/engine/store/db.ts");
    const db = openDb(path);
    expect(db.prepare<{ used: number }>("SELECT used FROM pipeline_usage WHERE key = ?").get(K)?.used).toBe(123);
    expect(db.prepare<{ n: number }>("SELECT count(*) AS n FROM pipeline_reservations").get()?.n).toBe(0);
    db.close();
  });
});

describe("leases: far from a limit, a process serves calls from a slice it has already counted", () => {
  const K = "tokens:agent=mailer:day=lease";
  test("budget: a slice is reserved in the database up front; calls within it touch nothing; other processes see it in flight", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const a = reserve(env.db, K, 1_000_000, 1000, { now, ttlMs: 60_000 });
    expect(a).toMatchObject({ ok: true, leased: true });
    const rows = () => env.db.prepare<{ amount: number }>("SELECT amount FROM pipeline_reservations WHERE key = ?").all(K);
    // one row: this call's 1000 plus a slice of min(room/16, 64 calls) = 62,437.5
    expect(rows()).toEqual([{ amount: 1000 + (1_000_000 - 1000) / 16 }]);
    expect(budgetLeaseCovers(env.db, K, 1_000_000, 1000, now)).toBe(true);
    const before = env.db.prepare<{ n: number }>("SELECT total_changes() AS n").get()?.n;
    const more = Array.from({ length: 10 }, () => reserve(env.db, K, 1_000_000, 1000, { now, ttlMs: 60_000 }));
    expect(more.every((r) => r.ok && r.leased)).toBe(true);
    expect(env.db.prepare<{ n: number }>("SELECT total_changes() AS n").get()?.n).toBe(before); // no writes
    // the database (what every other process checks against) already counts the whole slice
    expect(usage(env.db, K).reserved).toBe(1000 + (1_000_000 - 1000) / 16);
    // settle: real usage is charged, the slice shrinks by what the calls held
    for (const r of [a, ...more]) if (r.ok) reconcile(env.db, r.reservation, 500, now);
    expect(usage(env.db, K)).toEqual({ used: 5500, reserved: (1_000_000 - 1000) / 16 - 10_000 });
    // a changed limit is never served from an old slice
    expect(budgetLeaseCovers(env.db, K, 5000, 1000, now)).toBe(false);
    // giving the slice back leaves only real usage
    returnLeases(env.db);
    expect(usage(env.db, K)).toEqual({ used: 5500, reserved: 0 });
  });

  test("budget: near the limit there is no slice: every call reserves exactly (no process can hold room another needs)", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const r = reserve(env.db, K, 50_000, 1000, { now, ttlMs: 60_000 });
    expect(r.ok && r.leased).toBeFalsy();
    expect(usage(env.db, K)).toEqual({ used: 0, reserved: 1000 });
  });

  test("budget: a lease's process dies: the slice expires and is charged (never under-counted)", async () => {
    env = await pipelineEnv();
    const now = Date.now();
    const a = reserve(env.db, K, 1_000_000, 1000, { now, ttlMs: 1000 });
    if (!a.ok) throw new Error("reserve failed");
    const slice = 1000 + (1_000_000 - 1000) / 16;
    // another process (simulated: the lease is gone from this one's memory) reserves after the expiry
    const { openDb } = await import("../../../src/engine/store/db.ts");
    const other = openDb(env.db.path);
    const b = reserve(other, K, 1_000_000, 1000, { now: now + 5000, ttlMs: 60_000 });
    expect(b).toMatchObject({ ok: true, used: slice });
    other.close();
  });

  test("rate: a slice of the current bucket is counted up front and served from memory; unused events go back when the bucket ends", async () => {
    env = await pipelineEnv();
    const t0 = 1_800_000_000_000;
    const count = () => env.db.prepare<{ n: number | null }>("SELECT sum(n) AS n FROM pipeline_rate WHERE key = 'rpm:x|60000'").get()?.n ?? 0;
    expect(hitRate(env.db, "rpm:x", 100_000, 60_000, t0)).toEqual({ ok: true, count: 1 });
    // 1 + min(64, floor((100000 - 1) / 16)) counted at once
    expect(count()).toBe(65);
    expect(rateLeaseCovers(env.db, "rpm:x", 100_000, 60_000, t0 + 10)).toBe(true);
    for (let i = 0; i < 64; i++) expect(hitRate(env.db, "rpm:x", 100_000, 60_000, t0 + 10).ok).toBe(true);
    expect(count()).toBe(65);
    // the slice is used up: the next call counts in the database again (and takes a new slice)
    expect(hitRate(env.db, "rpm:x", 100_000, 60_000, t0 + 20)).toEqual({ ok: true, count: 66 });
    expect(count()).toBe(130);
    // next bucket: the unused part of the old slice is given back
    expect(hitRate(env.db, "rpm:x", 100_000, 60_000, t0 + 1500).ok).toBe(true);
    expect(count()).toBe(66 + 1 + 64);
    returnLeases(env.db);
    expect(count()).toBe(67);
    // near the limit: no slice
    expect(hitRate(env.db, "rpm:y", 10, 60_000, t0).ok).toBe(true);
    expect(rateLeaseCovers(env.db, "rpm:y", 10, 60_000, t0)).toBe(false);
  });
});

describe("lean audit fragments", () => {
  test("allow fragments carry no repeated preset provenance; denials keep provenance, evidence and duration", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload());
    const tok = await env.token();
    const ok = p.begin(llmCall(tok, "What is the refund policy?"));
    await ok.run("before_call");
    ok.ctx.usage = { input_tokens: 10, output_tokens: 5 };
    await ok.run("after_call");
    await ok.finish();
    const bad = p.begin(llmCall(tok, "Deploy with ghp_R2d9fLq8XkP3mZ7vN1bT6yH4wJ0sE5aC9uGx please"));
    await bad.run("before_call");
    await bad.finish();
    const rows = readRows(env.db);
    const r1 = rows.find((r) => r.decision === "allow");
    const r2 = rows.find((r) => r.decision === "deny");
    for (const f of r1?.step_decisions ?? []) {
      // (checked field by field: bun's toMatchObject with expect.any() rewrites the received object)
      expect([typeof f.step, typeof f.decision, typeof f.evidence, typeof f.compiled_policy_aspect, Array.isArray(f.rule_provenance)]).toEqual(["string", "string", "object", "string", true]);
      if (f.decision === "allow" && f.step !== "apply_compiled_policy") expect(f.rule_provenance).toEqual([]);
    }
    // rule-backed decisions keep their provenance even when they allow
    expect(r1?.step_decisions.find((f) => f.step === "apply_compiled_policy")?.rule_provenance[0]).toMatchObject({ level: "org" });
    // budgets still say what they reserved
    expect(r1?.step_decisions.find((f) => f.step === "enforce_token_budget")?.evidence).toMatchObject({ key: expect.stringContaining("tokens:agent=mailer"), estimate: expect.any(Number) });
    const deny = r2?.step_decisions.find((f) => f.step === "detect_secrets");
    expect(deny).toMatchObject({ decision: "deny", rule_provenance: [{ level: "builtin", source: "preset:standard", detail: "detect_secrets: block" }] });
    expect(deny?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(deny?.evidence.findings).toBeDefined();
    // a standard-preset allow row stays small
    expect(JSON.stringify(r1?.step_decisions).length).toBeLessThan(7000);
  });
});
