import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { ANTHROPIC_KEY, settledRows, OPENAI_KEY, type Rig, rig, settle } from "./gateway-helpers.ts";

let r: Rig;
beforeAll(async () => {
  r = await rig();
});
afterAll(() => r.close());

const openai = (token = r.token) => new OpenAI({ apiKey: token, baseURL: `${r.gw.url}/v1`, maxRetries: 0 });
const anthropic = (token = r.token) => new Anthropic({ apiKey: token, baseURL: r.gw.url, maxRetries: 0 });

describe("allowed calls pass through both SDKs", () => {
  test("OpenAI chat, non-streamed: answer arrives, real key went upstream, token did not", async () => {
    const { data, response } = await openai().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe("You said: hello there");
    const trace = response.headers.get("x-tappass-trace-id");
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    const up = r.fm.requests.at(-1);
    expect(up?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(JSON.stringify(up?.headers)).not.toContain(r.token);
    const row = (await settledRows(r)).find((x) => x.trace_id === trace);
    expect(row).toMatchObject({ surface: "llm", decision: "allow" });
    expect(row?.meta.tokens.input).toBeGreaterThan(0);
    expect(row?.meta.cost_usd).toBeGreaterThan(0);
  });

  test("OpenAI chat, streamed", async () => {
    const s = openai().chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "stream me a reply please" }] });
    const final = await s.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("You said: stream me a reply please");
    expect(final.choices[0]?.finish_reason).toBe("stop");
    expect(final.usage).toBeFalsy(); // the client did not ask for usage; the gateway did, upstream
    expect(r.fm.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
  });

  test("OpenAI responses, streamed and not", async () => {
    const a = await openai().responses.create({ model: "gpt-4o-mini", input: "respond to this" });
    expect(a.output_text).toBe("You said: respond to this");
    const s = openai().responses.stream({ model: "gpt-4o-mini", input: "and stream this" });
    const f = await s.finalResponse();
    expect(f.output_text).toBe("You said: and stream this");
    expect(f.status).toBe("completed");
  });

  test("Anthropic messages, streamed and not (Claude Code shape: ?beta=true, system array and system role in messages)", async () => {
    const m = await anthropic().messages.create({ model: "claude-test-1", max_tokens: 200, messages: [{ role: "user", content: "hi claude" }] });
    expect(m.content[0]).toMatchObject({ type: "text", text: "You said: hi claude" });
    expect(r.fm.requests.at(-1)?.headers["x-api-key"]).toBe(ANTHROPIC_KEY);
    const res = await fetch(`${r.gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": r.token, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({
        model: "claude-test-1",
        max_tokens: 100,
        stream: true,
        system: [{ type: "text", text: "You are Claude Code." }],
        messages: [{ role: "system", content: "extra system text" }, { role: "user", content: [{ type: "text", text: "stream please" }] }],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tappass-trace-id")).toBeTruthy();
    const text = await res.text();
    expect(text).toContain("event: message_start");
    expect(text).toContain("event: message_stop");
    expect(r.fm.requests.at(-1)?.query).toBe("");
    const st = anthropic().messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "via sdk stream" }] });
    const fin = await st.finalMessage();
    expect(fin.content[0]).toMatchObject({ type: "text", text: "You said: via sdk stream" });
    expect(fin.usage.output_tokens).toBeGreaterThan(0);
  });
});

describe("policy blocks, in the client's own format", () => {
  test("a secret in the prompt: 403 policy_denied (OpenAI) with the trace id, nothing sent upstream", async () => {
    const before = r.fm.requests.length;
    const err = await settle(openai().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "my key is AKIAIOSFODNN7EXAMPLF and secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY please store it" }] })).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.error).toMatchObject({ type: "policy_denied", code: "detect_secrets" });
    const trace = err.headers.get("x-tappass-trace-id");
    expect(trace).toBeTruthy();
    expect(r.fm.requests.length).toBe(before);
    const row = (await settledRows(r)).find((x) => x.trace_id === trace);
    expect(row?.decision).toBe("deny");
  });

  test("a secret in the prompt: 403 permission_error (Anthropic)", async () => {
    const err = await settle(anthropic().messages.create({ model: "claude-test-1", max_tokens: 50, messages: [{ role: "user", content: "token ghp_Zq8vK2mX9pL4wR7tY1nB6cH3jF5dS0aGe8Uk use it" }] })).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "permission_error" } });
    expect(err.headers.get("x-tappass-trace-id")).toBeTruthy();
  });
});

describe("identity", () => {
  test("an expired capability token gets 401 in both formats; a provider key is refused too", async () => {
    const expired = await r.tokenFor({ ttlSeconds: -30 });
    const e1 = await settle(openai(expired).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).catch((e) => e);
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e1.error).toMatchObject({ code: "token_expired" });
    expect(e1.headers.get("x-tappass-trace-id")).toBeTruthy();
    const e2 = await settle(anthropic(expired).messages.create({ model: "claude-test-1", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).catch((e) => e);
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(e2.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const e3 = await settle(openai(OPENAI_KEY).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).catch((e) => e);
    expect(e3.status).toBe(401);
    const forged = `${r.token.slice(0, -4)}AAAA`;
    const e4 = await settle(openai(forged).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).catch((e) => e);
    expect(e4.status).toBe(401);
    const other = await r.tokenFor({ agent: "someone-else" });
    const e5 = await settle(openai(other).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).catch((e) => e);
    expect(e5.status).toBe(401);
    const denied = (await settledRows(r)).filter((x) => x.trace_id === e1.headers.get("x-tappass-trace-id"));
    expect(denied).toHaveLength(1);
    expect(denied[0]?.decision).toBe("deny");
  });

  test("a model outside the policy's allowed models is refused (403) before any upstream call", async () => {
    const before = r.fm.requests.length;
    const e = await settle(openai().chat.completions.create({ model: "o1-preview", messages: [{ role: "user", content: "x" }] })).catch((x) => x);
    expect(e.status).toBe(403);
    expect(e.error).toMatchObject({ type: "policy_denied", code: "models_allowed" });
    expect(r.fm.requests.length).toBe(before);
    // the refusal is the row's decision, not a note in meta
    const rows = (await settledRows(r)).filter((x) => x.trace_id === e.headers.get("x-tappass-trace-id"));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.decision).toBe("deny");
    expect(rows[0]?.meta.denied_by).toMatchObject({ step: "gateway:models_allowed", reason: expect.stringContaining("o1-preview") });
    expect(rows[0]?.step_decisions.find((f) => f.step === "gateway:models_allowed")).toMatchObject({ decision: "deny", evidence: { model: "o1-preview", policy: "models.allow" } });
  });

  test("healthz and models answer on loopback", async () => {
    const h = await fetch(`${r.gw.url}/healthz`);
    expect(h.status).toBe(200);
    expect(h.headers.get("x-tappass-trace-id")).toBeTruthy();
    expect(await h.json()).toMatchObject({ ok: true, agent: "mailer" });
    const list = await openai().models.list();
    expect(list.data.map((m) => m.id)).toEqual(["claude-fake"]); // proxied upstream, filtered by models.allow (gpt-4o*, gpt-4.1*, claude-*)
  });
});

test("a body that is not JSON is a 400, one larger than the gateway reads a 413, both in the client's format with a trace id", async () => {
  const headers = { authorization: `Bearer ${r.token}`, "content-type": "application/json" };
  const bad = await fetch(`${r.gw.url}/v1/chat/completions`, { method: "POST", headers, body: "{nope" });
  expect(bad.status).toBe(400);
  expect(bad.headers.get("x-tappass-trace-id")).toBeTruthy();
  expect(((await bad.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  // a declared 200 MB body: answered at once, nothing read (a raw socket: fetch would send it all)
  const { connect } = await import("node:net");
  const port = new URL(r.gw.url).port;
  const answer = await new Promise<string>((resolve, reject) => {
    const s = connect(Number(port), "127.0.0.1", () => {
      s.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${r.token}\r\ncontent-type: application/json\r\ncontent-length: ${200 * 1024 * 1024}\r\n\r\n{"model":"x",`);
    });
    let got = "";
    s.on("data", (d) => {
      got += d.toString();
      if (got.includes("\r\n\r\n") && got.includes("}}")) {
        s.destroy();
        resolve(got);
      }
    });
    s.on("error", reject);
    setTimeout(() => reject(new Error(`no answer: ${got}`)), 10_000);
  });
  expect(answer).toStartWith("HTTP/1.1 413");
  expect(answer.toLowerCase()).toContain("x-tappass-trace-id:");
  expect(answer).toContain('"type":"error"');
  expect(answer).toContain("request body is larger than the gateway accepts (100 MiB)");
});
