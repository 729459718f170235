import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { usage } from "../../../src/engine/pipeline/steps/_ledger.ts";
import { costOf, priceOf } from "../../../src/engine/pipeline/prices.ts";
import { testPayload } from "../../helpers/policy.ts";
import { type Env, llmCall, mcpCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());
const today = () => new Date().toISOString().slice(0, 10);

describe("token and dollar budgets", () => {
  test("concurrent calls cannot overspend: reservations are atomic; usage is reconciled after", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload({ budget: { tokens_per_day: 5000, requests_per_minute: null } }));
    const tok = await env.token();
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = p.begin(llmCall(tok, "Summarise ticket 4411", { estimate: { input_tokens: 600, output_tokens: 400 } }));
        const v = await c.run("before_call");
        if (v.decision === "allow") {
          await new Promise((r) => setTimeout(r, 5));
          c.ctx.usage = { input_tokens: 500, output_tokens: 100 };
          await c.run("after_call");
        }
        await c.finish();
        return v;
      }),
    );
    expect(results.filter((v) => v.decision === "allow")).toHaveLength(5);
    const denied = results.find((v) => v.decision === "deny");
    expect(denied?.denied_by?.step).toBe("enforce_token_budget");
    expect(denied?.denied_by?.reason).toContain("token budget exhausted");
    // Real usage (600 each) replaced the 1000-token reservations.
    expect(usage(env.db, `tokens:agent=mailer:day=${today()}`)).toEqual({ used: 3000, reserved: 0 });
    // ... so there is room again for more.
    const again = p.begin(llmCall(tok, "one more", { estimate: { input_tokens: 600, output_tokens: 400 } }));
    expect((await again.run("before_call")).decision).toBe("allow");
  });

  test("a call denied later in before_call, or never reconciled, gives its reservation back at finish", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload({ budget: { tokens_per_day: 5000 } }));
    const c = p.begin(llmCall(await env.token(), "leak ghp_R2d9fLq8XkP3mZ7vN1bT6yH4wJ0sE5aC9uGx", { estimate: { input_tokens: 600, output_tokens: 400 } }));
    expect((await c.run("before_call")).denied_by?.step).toBe("detect_secrets");
    expect(usage(env.db, `tokens:agent=mailer:day=${today()}`).reserved).toBe(1000);
    await c.finish();
    expect(usage(env.db, `tokens:agent=mailer:day=${today()}`)).toEqual({ used: 0, reserved: 0 });
  });

  test("several PROCESSES share one budget without overspending", async () => {
    env = await pipelineEnv();
    const worker = join(import.meta.dir, "budget-worker.ts");
    const procs = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, worker, env.home, "6", "10000"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, TAPPASS_HOME: env.home } }));
    const outs = await Promise.all(procs.map(async (p) => {
      const text = await new Response(p.stdout).text();
      const code = await p.exited;
      if (code !== 0) throw new Error(`worker exited ${code}: ${await new Response(p.stderr).text()}`);
      return JSON.parse(text) as { allowed: number; denied: number };
    }));
    const allowed = outs.reduce((n, o) => n + o.allowed, 0);
    expect(allowed).toBe(10);
    expect(outs.reduce((n, o) => n + o.denied, 0)).toBe(14);
    expect(usage(env.db, `tokens:agent=mailer:day=${today()}`)).toEqual({ used: 10000, reserved: 0 });
  }, 60_000);

  test("far from the limit, processes serve calls from leased slices; at exit every slice goes back and usage is exact", async () => {
    env = await pipelineEnv();
    const worker = join(import.meta.dir, "budget-worker.ts");
    const procs = Array.from({ length: 3 }, () => Bun.spawn([process.execPath, worker, env.home, "40", "100000000"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, TAPPASS_HOME: env.home } }));
    const outs = await Promise.all(procs.map(async (p) => {
      const text = await new Response(p.stdout).text();
      const code = await p.exited;
      if (code !== 0) throw new Error(`worker exited ${code}: ${await new Response(p.stderr).text()}`);
      return JSON.parse(text) as { allowed: number; denied: number };
    }));
    expect(outs.reduce((n, o) => n + o.allowed, 0)).toBe(120);
    // leases were taken (rows named lease:...), and all of them were given back at exit
    expect(usage(env.db, `tokens:agent=mailer:day=${today()}`)).toEqual({ used: 120_000, reserved: 0 });
  }, 60_000);

  test("dollar budget prices by model; unknown models are priced at the dearest rate and denied in lockdown", async () => {
    env = await pipelineEnv();
    expect(priceOf("gpt-4o-mini-2024-07-18").price.input_per_mtok).toBe(0.15);
    expect(priceOf("openai/gpt-4o").price.output_per_mtok).toBe(10);
    expect(priceOf("mystery-1").known).toBe(false);
    expect(costOf("claude-sonnet-4-5", { input_tokens: 1_000_000, output_tokens: 0 })).toBe(3);
    const p = env.pipeline(testPayload({ budget: { dollars_per_month: 0.01, tokens_per_day: null } }));
    const tok = await env.token();
    const big = p.begin(llmCall(tok, "x", { model: "claude-opus-4-1", estimate: { input_tokens: 1000, output_tokens: 1000 } }));
    expect((await big.run("before_call")).denied_by?.step).toBe("enforce_dollar_budget");
    const small = p.begin(llmCall(tok, "x", { model: "gpt-4o-mini", estimate: { input_tokens: 1000, output_tokens: 1000 } }));
    expect((await small.run("before_call")).decision).toBe("allow");
    const lock = env.pipeline(testPayload({ pipeline: { mode: "lockdown" } }));
    const unknown = lock.begin(llmCall(tok, "x", { model: "mystery-1" }));
    expect((await unknown.run("before_call")).denied_by?.reason).toContain("no known price");
  });
});

describe("rate limits", () => {
  test("requests per minute and tool calls per minute, shared through SQLite", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload({ budget: { requests_per_minute: 3, tool_calls_per_minute: 2 } }));
    const tok = await env.token();
    const d: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) d.push((await p.begin(llmCall(tok, `q${i}`)).run("before_call")).denied_by?.step);
    expect(d).toEqual([undefined, undefined, undefined, "enforce_rate_limit"]);
    const q = env.pipeline(testPayload({ budget: { requests_per_minute: null, tool_calls_per_minute: 2 } }));
    const t: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) t.push((await q.begin(mcpCall(tok, "search_docs", { query: `q${i}` })).run("before_call")).denied_by?.step);
    expect(t).toEqual([undefined, undefined, "enforce_tool_call_rate"]);
  });
});
