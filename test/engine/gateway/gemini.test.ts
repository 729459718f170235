import { expect, test } from "bun:test";
import { geminiRoute } from "../../../src/engine/gateway/gemini-generate.ts";
import type { StreamHooks, StreamSummary } from "../../../src/engine/gateway/stream.ts";
import { TextGuard } from "../../../src/engine/gateway/stream-guard.ts";

const route = (p: string, q = "") => geminiRoute(p, new URLSearchParams(q));

test("routes: model and action from the path; JSON-array streams refused with a clear error", () => {
  const r = route("/v1beta/models/gemini-2.5-pro:streamGenerateContent", "alt=sse");
  expect(r?.error).toBeUndefined();
  expect(r?.adapter.upstreamPath).toBe("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
  expect(r?.adapter.parseRequest({ contents: [] })).toMatchObject({ model: "gemini-2.5-pro", stream: true });
  expect(route("/v1beta/models/gemini-2.5-pro:generateContent")?.adapter.parseRequest({}).stream).toBe(false);
  expect(route("/v1beta/models/gemini-2.5-pro:streamGenerateContent")?.error).toMatchObject({ status: 400, kind: "bad_request" });
  expect(route("/v1/chat/completions")).toBeUndefined();
  expect(route("/v1beta/models/x:deleteEverything")).toBeUndefined();
  const err = r?.adapter.errorBody({ status: 403, kind: "policy", message: "no", code: "detect_secrets" });
  expect(err).toMatchObject({ error: { code: 403, status: "PERMISSION_DENIED", message: "no" } });
});

test("requests: user/model text, system instruction, tool output and history calls are read; schemas normalised", () => {
  const a = route("/v1beta/models/m:generateContent")?.adapter;
  const body = {
    systemInstruction: { parts: [{ text: "You are Gemini CLI." }] },
    contents: [
      { role: "user", parts: [{ text: "list the files" }] },
      { role: "model", parts: [{ functionCall: { name: "run_shell_command", args: { command: "ls -la" } } }] },
      { role: "user", parts: [{ functionResponse: { name: "run_shell_command", response: { output: "a.txt\nb.txt" } } }] },
    ],
    tools: [{ functionDeclarations: [{ name: "read_file", description: "Reads", parameters: { type: "OBJECT", properties: { path: { type: "STRING" } }, required: ["path"] } }] }],
    generationConfig: { maxOutputTokens: 512 },
  };
  const pr = a?.parseRequest(body);
  expect(pr?.set.segments.map((s) => [s.kind, s.text])).toEqual([
    ["system", "You are Gemini CLI."],
    ["prompt", "list the files"],
    ["tool_args", "ls -la"],
    ["tool_output", "a.txt\nb.txt"],
  ]);
  expect(pr?.tool_calls).toMatchObject([{ name: "run_shell_command", arguments: { command: "ls -la" }, origin: "history" }]);
  expect(pr?.tool_schemas.read_file?.inputSchema).toEqual({ type: "object", properties: { path: { type: "string" } }, required: ["path"] });
  expect(pr?.max_output).toBe(512);
  // a rewrite goes back to the same place
  const seg = pr?.set.segments[3];
  if (seg) seg.text = "[redacted]";
  pr?.set.writeBack(body);
  expect(body.contents[2]?.parts[0]).toMatchObject({ functionResponse: { response: { output: "[redacted]" } } });
});

test("responses: text and function calls read; a removed call leaves a notice", () => {
  const a = route("/v1beta/models/m:generateContent")?.adapter;
  const body = { candidates: [{ content: { role: "model", parts: [{ text: "Running it." }, { functionCall: { name: "run_shell_command", args: { command: "rm -rf /" } }, thoughtSignature: "sig" }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 2 } };
  const pr = a?.parseResponse(body);
  expect(pr?.usage).toEqual({ input_tokens: 10, output_tokens: 7 });
  expect(pr?.set.segments.map((s) => s.text)).toEqual(["Running it."]);
  const call = pr?.tool_calls[0];
  expect(call).toMatchObject({ name: "run_shell_command", origin: "model" });
  if (call) call.removed = { step: "dangerous_commands", reason: "rm -rf /" };
  a?.stripToolCalls(body, pr?.tool_calls ?? []);
  const parts = body.candidates[0]?.content.parts as Array<Record<string, unknown>>;
  expect(parts.some((p) => "functionCall" in p)).toBe(false);
  expect(String(parts.at(-1)?.text)).toContain("run_shell_command removed by policy (dangerous_commands)");
});

function hooks(onFinal: (s: StreamSummary) => void = () => {}): StreamHooks {
  return {
    guard: () => new TextGuard((w) => (w.includes("AKIAIOSFODNN7EXAMPLE") ? { block: { step: "detect_secrets_in_response", reason: "an AWS key" }, text: w } : { text: w })),
    finalize: async (s) => {
      onFinal(s);
      for (const t of s.tool_calls) if (t.name === "run_shell_command") t.removed = { step: "tools_denied", reason: "shell is denied" };
      return {};
    },
  };
}

const ev = (o: unknown) => ({ data: JSON.stringify(o) });
const frames = (xs: string[]) => xs.map((x) => JSON.parse(x.replace(/^data: /, "")));

test("stream: text passes the guard, function calls are held to the end, denied ones become a notice", async () => {
  const a = route("/v1beta/models/m:streamGenerateContent", "alt=sse")?.adapter;
  let summary: StreamSummary | undefined;
  const t = a?.newStream(hooks((s) => (summary = s)), { clientWantsUsage: true, model: "m" });
  if (!t) throw new Error("no stream");
  const out: string[] = [];
  out.push(...(await t.onEvent(ev({ candidates: [{ content: { role: "model", parts: [{ text: "I will list " }] }, index: 0 }], modelVersion: "m" }))));
  out.push(...(await t.onEvent(ev({ candidates: [{ content: { role: "model", parts: [{ text: "the files." }, { functionCall: { name: "run_shell_command", args: { command: "ls" } } }, { functionCall: { name: "read_file", args: { path: "a.txt" } }, thoughtSignature: "s1" }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 } }))));
  out.push(...(await t.onEnd()));
  expect(t.done).toBe(true);
  const fs = frames(out);
  const parts = fs.flatMap((f) => f.candidates?.flatMap((c: { content?: { parts: unknown[] } }) => c.content?.parts ?? []) ?? []);
  expect(parts.filter((p: { text?: string }) => typeof p.text === "string").map((p: { text: string }) => p.text).join("")).toContain("I will list the files.");
  expect(parts.filter((p: { functionCall?: unknown }) => p.functionCall)).toEqual([{ functionCall: { name: "read_file", args: { path: "a.txt" } }, thoughtSignature: "s1" }]);
  expect(JSON.stringify(parts)).toContain("run_shell_command removed by policy (tools_denied)");
  expect(fs.at(-1)).toMatchObject({ candidates: [{ finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 3 }, modelVersion: "m" });
  expect(summary?.usage).toEqual({ input_tokens: 3, output_tokens: 4 });
});

test("stream: a secret split across events is cut with finishReason SAFETY, never sent", async () => {
  const a = route("/v1beta/models/m:streamGenerateContent", "alt=sse")?.adapter;
  const t = a?.newStream(hooks(), { clientWantsUsage: true, model: "m" });
  if (!t) throw new Error("no stream");
  const out: string[] = [];
  for (const piece of ["Here is the key: AKIAIOSF", "ODNN7EXAMPLE and more"]) out.push(...(await t.onEvent(ev({ candidates: [{ content: { role: "model", parts: [{ text: piece }] }, index: 0 }] }))));
  expect(t.done).toBe(true);
  const all = out.join("");
  expect(all).not.toContain("AKIAIOSF");
  expect(frames(out).at(-1)).toMatchObject({ candidates: [{ finishReason: "SAFETY" }] });
  expect(all).toContain("response stopped by policy (detect_secrets_in_response)");
});
