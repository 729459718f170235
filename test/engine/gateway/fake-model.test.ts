import { afterAll, beforeAll, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { type FakeModel, startFakeModel } from "../../helpers/fake-model.ts";

let fm: FakeModel;
beforeAll(async () => {
  fm = await startFakeModel();
});
afterAll(() => fm.close());

test("fake model speaks Anthropic messages, streamed and not, as the SDK expects", async () => {
  const client = new Anthropic({ apiKey: "sk-ant-real", baseURL: fm.url, maxRetries: 0 });
  const m = await client.messages.create({ model: "claude-fake", max_tokens: 100, messages: [{ role: "user", content: "hi there" }] });
  expect(m.content[0]).toMatchObject({ type: "text", text: "You said: hi there" });
  const h = fm.requests.at(-1)?.headers ?? {};
  expect(h["x-api-key"] ?? h.authorization?.replace(/^Bearer /, "")).toBe("sk-ant-real");
  fm.script({ text: "calling", tool_calls: [{ name: "get_weather", arguments: { city: "Paris", days: 3 } }] });
  const stream = client.messages.stream({ model: "claude-fake", max_tokens: 100, messages: [{ role: "user", content: "weather?" }] });
  const final = await stream.finalMessage();
  expect(final.content).toEqual([
    { type: "text", text: "calling", citations: undefined } as never,
    expect.objectContaining({ type: "tool_use", name: "get_weather", input: { city: "Paris", days: 3 } }),
  ]);
  expect(final.stop_reason).toBe("tool_use");
  expect(final.usage.output_tokens).toBeGreaterThan(0);
});

test("fake model speaks OpenAI chat and responses, streamed and not", async () => {
  const client = new OpenAI({ apiKey: "sk-real", baseURL: `${fm.url}/v1`, maxRetries: 0 });
  const c = await client.chat.completions.create({ model: "gpt-fake", messages: [{ role: "user", content: "hello" }] });
  expect(c.choices[0]?.message.content).toBe("You said: hello");
  fm.script({ text: "", tool_calls: [{ name: "lookup", arguments: { q: "x" } }] });
  const s = client.chat.completions.stream({ model: "gpt-fake", messages: [{ role: "user", content: "q" }], stream_options: { include_usage: true } });
  const fc = await s.finalChatCompletion();
  expect(fc.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } });
  expect(fc.usage?.total_tokens).toBeGreaterThan(0);
  const r = await client.responses.create({ model: "gpt-fake", input: "yo" });
  expect(r.output_text).toBe("You said: yo");
  fm.script({ text: "abc", tool_calls: [{ name: "f", arguments: { a: 1 } }] });
  const rs = client.responses.stream({ model: "gpt-fake", input: "yo" });
  const fr = await rs.finalResponse();
  expect(fr.output_text).toBe("abc");
  expect(fr.output.find((o) => o.type === "function_call")).toMatchObject({ name: "f", arguments: '{"a":1}' });
  expect(fm.requests.at(-1)?.headers.authorization).toBe("Bearer sk-real");
});

test("fake model errors and hangs", async () => {
  const client = new OpenAI({ apiKey: "k", baseURL: `${fm.url}/v1`, maxRetries: 0, timeout: 300 });
  fm.reset();
  fm.script({ status: 500 });
  await expect(settle(client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }))).rejects.toMatchObject({ status: 500 });
  fm.script({ hang: true });
  await expect(settle(client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }))).rejects.toThrow(/timed out/i);
});

/** SDK APIPromises are thenables whose base Promise resolves at once; await them for expect(). */
async function settle<T>(p: PromiseLike<T>): Promise<T> {
  return await p;
}
