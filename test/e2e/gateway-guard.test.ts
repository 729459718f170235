/**
 * Response-side guardrails through the real SDKs: PII redacted upstream and restored in the
 * answer, denied tool calls stripped (whole and streamed), and secrets split across stream
 * chunks caught — redacted under the standard preset, the stream cut cleanly when the policy
 * blocks them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { testPayload, withStep } from "../helpers/policy.ts";
import { settledRows, type Rig, rig } from "./gateway-helpers.ts";

const SECRET = "ghp_Zq8vK2mX9pL4wR7tY1nB6cH3jF5dS0aGe8Uk";
const SPLIT = ["Sure. Here is the key: ghp_Zq8v", "K2mX9pL4", "wR7tY1nB6cH3jF5d", "S0aGe8Uk and that is", " all you need to know."];

let std: Rig; // standard preset: secrets in responses are redacted
let strict: Rig; // same, but detect_secrets_in_response blocks
beforeAll(async () => {
  std = await rig();
  strict = await rig({ payload: withStep(testPayload(), "detect_secrets_in_response", { action: "block" }) });
});
afterAll(async () => {
  await std.close();
  await strict.close();
});

const openai = (r: Rig) => new OpenAI({ apiKey: r.token, baseURL: `${r.gw.url}/v1`, maxRetries: 0 });
const anthropic = (r: Rig) => new Anthropic({ apiKey: r.token, baseURL: r.gw.url, maxRetries: 0 });

describe("PII: redacted before the upstream, restored in the answer", () => {
  const prompt = "Please write to jane.doe@example.com about the invoice";
  test("OpenAI chat, whole", async () => {
    const c = await openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }] });
    const up = std.fm.requests.at(-1)?.raw ?? "";
    expect(up).not.toContain("jane.doe@example.com");
    expect(up).toMatch(/«EMAIL_\d+»/);
    expect(c.choices[0]?.message.content).toBe(`You said: ${prompt}`);
  });
  test("Anthropic, streamed (placeholder split across chunks is restored whole)", async () => {
    std.fm.setDefault((req) => ({ chunk_size: 3, text: undefined, ...(req ? {} : {}) }));
    const s = anthropic(std).messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: prompt }] });
    const m = await s.finalMessage();
    std.fm.setDefault({});
    expect(std.fm.requests.at(-1)?.raw).not.toContain("jane.doe@example.com");
    expect(m.content[0]).toMatchObject({ type: "text", text: `You said: ${prompt}` });
  });
  test("OpenAI responses, streamed", async () => {
    const s = openai(std).responses.stream({ model: "gpt-4o-mini", input: prompt });
    const f = await s.finalResponse();
    expect(std.fm.requests.at(-1)?.raw).not.toContain("jane.doe@example.com");
    expect(f.output_text).toBe(`You said: ${prompt}`);
  });
});

describe("tool calls the policy denies are stripped; allowed ones pass", () => {
  // distinct arguments per call, so loop_guard (same tool, same arguments) stays out of it
  let n = 0;
  const calls = () => {
    n++;
    return [
      { name: "delete_repo", arguments: { repo: `acme/prod-${n}` } },
      { name: "search_docs", arguments: { query: `refund policy ${n}` } },
    ];
  };
  test("Anthropic, whole and streamed", async () => {
    std.fm.script({ text: "Working on it.", tool_calls: calls() });
    const m = await anthropic(std).messages.create({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "clean up" }] });
    const names = m.content.filter((b) => b.type === "tool_use").map((b) => (b as { name: string }).name);
    expect(names).toEqual(["search_docs"]);
    expect(JSON.stringify(m.content)).toContain("removed by policy");
    std.fm.script({ text: "Working on it.", tool_calls: calls() });
    const { data: fin, response } = await anthropic(std).messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "clean up" }] }).withResponse();
    void response;
    const final = await fin.finalMessage();
    const tools = final.content.filter((b) => b.type === "tool_use");
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({ name: "search_docs", input: { query: expect.stringContaining("refund policy") } });
    expect(final.stop_reason).toBe("tool_use");
  });
  test("only denied tools: stop_reason becomes end_turn and the model's text explains", async () => {
    std.fm.script({ text: "", tool_calls: [calls()[0] as ReturnType<typeof calls>[0]] });
    const final = await anthropic(std).messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "x" }] }).finalMessage();
    expect(final.content.some((b) => b.type === "tool_use")).toBe(false);
    expect(final.stop_reason).toBe("end_turn");
    expect(JSON.stringify(final.content)).toContain("delete_repo removed by policy");
  });
  test("OpenAI chat, whole and streamed", async () => {
    std.fm.script({ text: "", tool_calls: calls() });
    const c = await openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
    expect(c.choices[0]?.message.tool_calls?.map((t) => (t as { function: { name: string } }).function.name)).toEqual(["search_docs"]);
    std.fm.script({ text: "", tool_calls: calls() });
    const s = await openai(std).chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }).finalChatCompletion();
    const tcs = s.choices[0]?.message.tool_calls ?? [];
    expect(tcs.map((t) => (t as { function: { name: string } }).function.name)).toEqual(["search_docs"]);
    expect(JSON.parse((tcs[0] as { function: { arguments: string } }).function.arguments)).toEqual({ query: expect.stringContaining("refund policy") });
    expect(s.choices[0]?.finish_reason).toBe("tool_calls");
  });
  test("OpenAI responses, streamed", async () => {
    std.fm.script({ text: "ok", tool_calls: calls() });
    const f = await openai(std).responses.stream({ model: "gpt-4o-mini", input: "x" }).finalResponse();
    const fcs = f.output.filter((o) => o.type === "function_call");
    expect(fcs.map((o) => (o as { name: string }).name)).toEqual(["search_docs"]);
    expect(f.output_text).toContain("delete_repo removed by policy");
  });
  test("the audit row names the step that stripped the call", async () => {
    std.fm.script({ text: "", tool_calls: calls() });
    const { response } = await openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }).withResponse();
    const row = (await settledRows(std)).find((x) => x.trace_id === response.headers.get("x-tappass-trace-id"));
    expect(row?.decision).toBe("redact");
    expect(row?.meta.tools).toEqual(expect.arrayContaining([expect.objectContaining({ name: "delete_repo", removed_by: expect.any(String) })]));
  });
});

describe("a secret split across stream chunks", () => {
  test("standard preset (redact): the secret never reaches the client, the rest does (Anthropic)", async () => {
    std.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const m = await anthropic(std).messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "key?" }] }).finalMessage();
    const text = (m.content[0] as { text: string }).text;
    expect(text).not.toContain("ghp_");
    expect(text).toContain("[REDACTED:github_pat]");
    expect(text).toContain("all you need to know.");
    expect(m.stop_reason).toBe("end_turn");
  });

  test("blocking policy: the Anthropic stream is cut with a well-formed end (refusal)", async () => {
    strict.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const res = await fetch(`${strict.gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": strict.token, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-test-1", max_tokens: 100, stream: true, messages: [{ role: "user", content: "key?" }] }),
    });
    const raw = await res.text();
    expect(raw).not.toContain("ghp_");
    const events = [...raw.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events.slice(-4)).toEqual(["content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(raw).toContain('"stop_reason":"refusal"');
    const trace = res.headers.get("x-tappass-trace-id");
    await Bun.sleep(50);
    const row = (await settledRows(strict)).find((x) => x.trace_id === trace);
    expect(row?.decision).toBe("deny");
    // and through the SDK: a clean end, not an exception
    strict.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const m = await anthropic(strict).messages.stream({ model: "claude-test-1", max_tokens: 100, messages: [{ role: "user", content: "key?" }] }).finalMessage();
    expect(m.stop_reason).toBe("refusal");
    expect(JSON.stringify(m)).not.toContain("ghp_");
  });

  test("blocking policy: OpenAI chat stream ends with finish_reason content_filter and [DONE]", async () => {
    strict.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const s = openai(strict).chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "key?" }] });
    const c = await s.finalChatCompletion();
    expect(c.choices[0]?.finish_reason).toBe("content_filter");
    expect(c.choices[0]?.message.content ?? "").not.toContain("ghp_");
    expect(c.choices[0]?.message.content ?? "").toContain("stopped by policy (detect_secrets_in_response)");
    strict.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const raw = await (await fetch(`${strict.gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${strict.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "k" }] }) })).text();
    expect(raw.trim().endsWith("data: [DONE]")).toBe(true);
    expect(raw).not.toContain("ghp_");
  });

  test("blocking policy: OpenAI responses stream ends with response.incomplete (content_filter)", async () => {
    strict.fm.script({ chunks: SPLIT, text: SPLIT.join("") });
    const f = await openai(strict).responses.stream({ model: "gpt-4o-mini", input: "key?" }).finalResponse();
    expect(f.status).toBe("incomplete");
    expect(f.incomplete_details?.reason).toBe("content_filter");
    expect(JSON.stringify(f)).not.toContain("ghp_");
  });

  test("non-streamed answers with a secret: withheld with 403 (block) or redacted (standard)", async () => {
    strict.fm.script({ text: SPLIT.join("") });
    const e = await (async () => await openai(strict).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "k" }] }))().catch((x) => x);
    expect(e.status).toBe(403);
    expect(e.error).toMatchObject({ type: "policy_denied", code: "detect_secrets_in_response" });
    std.fm.script({ text: SPLIT.join("") });
    const ok = await openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "k" }] });
    expect(ok.choices[0]?.message.content).toContain("[REDACTED:github_pat]");
    expect(ok.choices[0]?.message.content).not.toContain(SECRET);
  });

  test("a long stream is relayed in order with bounded hold-back", async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i} `).join("");
    std.fm.script({ text: long, chunk_size: 7 });
    const res = await fetch(`${std.gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": std.token, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-test-1", max_tokens: 4000, stream: true, messages: [{ role: "user", content: "long" }] }),
    });
    const raw = await res.text();
    const deltas = [...raw.matchAll(/"text_delta","text":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(deltas.join("")).toBe(long);
    expect(deltas.length).toBeGreaterThan(50); // released as it flows, not all at the end
  });
});

describe("every field the provider receives or returns is scanned, not only the conversation", () => {
  test("a secret in a tool description, metadata or user field is blocked before the upstream (OpenAI chat, Anthropic)", async () => {
    const before = std.fm.requests.length;
    const status = (p: PromiseLike<unknown>) => Promise.resolve(p).then(() => 200, (e: { status?: number }) => e.status);
    const tools = [{ type: "function" as const, function: { name: "lookup", description: `Look things up. Auth: ${SECRET}`, parameters: { type: "object", properties: {} } } }];
    expect(await status(openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }], tools }))).toBe(403);
    expect(await status(openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }], user: SECRET }))).toBe(403);
    expect(await status(anthropic(std).messages.create({ model: "claude-test-1", max_tokens: 50, messages: [{ role: "user", content: "hello" }], metadata: { user_id: SECRET } }))).toBe(403);
    expect(std.fm.requests.length).toBe(before); // none reached the model
    // the same request without the secret passes (tool definitions are not flagged as such)
    const ok = await openai(std).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }], tools: [{ type: "function", function: { name: "lookup", description: "Look things up in the knowledge base. You MUST cite the page.", parameters: { type: "object", properties: { q: { type: "string", description: "the query" } } } } }] });
    expect(ok.choices[0]?.message.content).toBe("You said: hello");
  });
  test("nor in a schema's property names or defaults, under structural keys, in a participant name, a fetched URL or a text file sent as a data: URL", async () => {
    const before = std.fm.requests.length;
    const status = (p: PromiseLike<unknown>) => Promise.resolve(p).then(() => 200, (e: { status?: number }) => e.status);
    const send = (extra: Record<string, unknown>, messages: unknown[] = [{ role: "user", content: "hello" }]) =>
      status(openai(std).chat.completions.create({ model: "gpt-4o-mini", messages, ...extra } as never));
    const fn = (parameters: unknown) => ({ tools: [{ type: "function", function: { name: "lookup", description: "Look up.", parameters } }] });
    expect(await send(fn({ type: "object", properties: { [SECRET]: { type: "string" } } }))).toBe(403); // a property name
    expect(await send(fn({ type: "object", properties: { name: { type: "string", description: `use ${SECRET}` } } }))).toBe(403); // below "name"
    expect(await send(fn({ type: "object", properties: { url: { type: "string", default: SECRET } } }))).toBe(403);
    expect(await send(fn({ type: "object", properties: { "a.b": { type: "string", description: SECRET } } }))).toBe(403); // a dotted key
    expect(await send({}, [{ role: "user", name: SECRET, content: "hi" }])).toBe(403);
    expect(await send({}, [{ role: "user", content: [{ type: "text", text: "see" }, { type: "image_url", image_url: { url: `https://img.example/p.png?k=${SECRET}` } }] }])).toBe(403);
    const file = `data:text/plain;base64,${Buffer.from(`token: ${SECRET}\n`).toString("base64")}`;
    expect(await send({}, [{ role: "user", content: [{ type: "text", text: "read" }, { type: "file", file: { filename: "a.txt", file_data: file } }] }])).toBe(403);
    expect(std.fm.requests.length).toBe(before);
  });
  test("a secret in the model's thinking (Anthropic) or reasoning summary (OpenAI responses) never reaches the client", async () => {
    std.fm.setDefault({ thinking: `The key is ${SECRET}.`, text: "Done." });
    try {
      const m = await anthropic(std).messages.create({ model: "claude-test-1", max_tokens: 50, messages: [{ role: "user", content: "hi" }] });
      expect(JSON.stringify(m)).not.toContain(SECRET);
      expect(m.content.at(-1)).toMatchObject({ type: "text", text: "Done." });
      const r = await openai(std).responses.create({ model: "gpt-4o-mini", input: "hi" });
      expect(JSON.stringify(r)).not.toContain(SECRET);
      expect(r.output_text).toBe("Done.");
    } finally {
      std.fm.setDefault({});
    }
  });
});
