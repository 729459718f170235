import { afterEach, describe, expect, test } from "bun:test";
import { readRows } from "../../../src/engine/audit/read.ts";
import { flushLedger, hitRate, reconcile, release, reserve, usage } from "../../../src/engine/pipeline/steps/_ledger.ts";
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
    const d = reserve(env.db, K, 10_000, 100, { now, ttlMs: 60_000 });
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
