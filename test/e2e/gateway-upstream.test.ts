/** Upstream trouble comes back as clear errors in the client's own format; the breaker opens. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { testPayload } from "../helpers/policy.ts";
import { type Rig, rig, settle } from "./gateway-helpers.ts";

let r: Rig;
beforeAll(async () => {
  r = await rig({ gateway: { timeouts: { headers_ms: 400, idle_ms: 400 }, breaker: { threshold: 3, cooldownMs: 60_000 } } });
});
afterAll(() => r.close());

const openai = () => new OpenAI({ apiKey: r.token, baseURL: `${r.gw.url}/v1`, maxRetries: 0 });
const anthropic = () => new Anthropic({ apiKey: r.token, baseURL: r.gw.url, maxRetries: 0 });
const ask = (content = "x") => settle(openai().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }));

test("upstream 500: a 502 in the OpenAI format, naming the upstream", async () => {
  r.fm.script({ status: 500 });
  const e = await ask().catch((x) => x);
  expect(e).toBeInstanceOf(OpenAI.InternalServerError);
  expect(e.status).toBe(502);
  expect(e.error).toMatchObject({ type: "upstream_error", code: "upstream_500" });
  expect(e.error.message).toContain("HTTP 500");
  expect(e.headers.get("x-tappass-trace-id")).toBeTruthy();
});

test("upstream 500: a 502 in the Anthropic format", async () => {
  r.fm.script({ status: 500 });
  const e = await settle(anthropic().messages.create({ model: "claude-test-1", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).catch((x) => x);
  expect(e).toBeInstanceOf(Anthropic.InternalServerError);
  expect(e.error).toMatchObject({ type: "error", error: { type: "api_error" } });

});

test("an upstream that never answers: 504 timeout in the client's format", async () => {
  await ask("reset");
  r.fm.script({ hang: true });
  const t0 = performance.now();
  const e = await ask().catch((x) => x);
  expect(performance.now() - t0).toBeLessThan(3000);
  expect(e.status).toBe(504);
  expect(e.error).toMatchObject({ type: "timeout", code: "upstream_timeout" });
  r.fm.script({ hang: true });
  const a = await settle(anthropic().messages.create({ model: "claude-test-1", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).catch((x) => x);
  expect(a.status).toBe(504);
  expect(a.error).toMatchObject({ error: { type: "timeout_error" } });
  await ask("reset");
});

test("an upstream that stalls mid-stream: the stream ends with an error event the SDK raises", async () => {
  r.fm.script({ text: "a fairly long answer that will stall", stall_after_events: 4 });
  const s = anthropic().messages.stream({ model: "claude-test-1", max_tokens: 50, messages: [{ role: "user", content: "x" }] });
  const e = await s.finalMessage().catch((x) => x);
  expect(String(e?.message ?? e)).toMatch(/silent|timeout/i);
  r.fm.script({ text: "another answer that will stall", stall_after_events: 3 });
  const o = await openai().chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }).finalChatCompletion().catch((x) => x);
  expect(String(o?.message ?? o)).toMatch(/silent|timeout/i);
  await ask("reset");
});

test("the circuit breaker opens after consecutive failures and stops calling the upstream", async () => {
  await ask("reset");
  r.fm.script({ status: 500 }, { status: 500 }, { status: 500 });
  for (let i = 0; i < 3; i++) expect((await ask().catch((x) => x)).status).toBe(502);
  const before = r.fm.requests.length;
  const e = await ask().catch((x) => x);
  expect(e.status).toBe(503);
  expect(e.error).toMatchObject({ code: "circuit_open" });
  expect(e.error.message).toContain("circuit breaker open");
  expect(Number(e.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(r.fm.requests.length).toBe(before); // not hammered
});

test("no provider key configured: 424 in each client's format, with what to do, and SDKs do not retry it", async () => {
  const bare = await rig({ payload: testPayload({ models: { allow: ["*"], deny: [], routes: [] } }), gateway: { providerKeys: {}, env: {}, home: "/nonexistent-tappass-home" } });
  try {
    const before = bare.fm.requests.length;
    const o = await settle(new OpenAI({ apiKey: bare.token, baseURL: `${bare.gw.url}/v1`, maxRetries: 2 }).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).catch((x) => x);
    expect(o.status).toBe(424);
    expect(o.error).toMatchObject({ code: "provider_key_missing" });
    expect(o.error.message).toContain("tappass keys set-provider openai");
    const a = await settle(new Anthropic({ apiKey: bare.token, baseURL: bare.gw.url, maxRetries: 2 }).messages.create({ model: "claude-test-1", max_tokens: 10, messages: [{ role: "user", content: "x" }] })).catch((x) => x);
    expect(a.status).toBe(424);
    expect(a.error).toMatchObject({ type: "error", error: { type: "api_error" } });
    const g = await fetch(`${bare.gw.url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: "POST", headers: { "x-goog-api-key": bare.token, "content-type": "application/json" }, body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "x" }] }] }) });
    expect(g.status).toBe(424);
    expect(await g.json()).toMatchObject({ error: { code: 424, status: "FAILED_PRECONDITION" } });
    expect(bare.fm.requests.length).toBe(before); // nothing went upstream without a key
  } finally {
    await bare.close();
  }
});
