/**
 * A scriptable fake model upstream: a real HTTP server on 127.0.0.1 that speaks the OpenAI
 * (chat completions + responses), Anthropic (messages) and Gemini (generateContent,
 * streamGenerateContent?alt=sse, countTokens) wire formats, streaming and not,
 * exactly as the real APIs frame them. The only mock in TapPass tests is this upstream model.
 *
 *   const fm = await startFakeModel();
 *   fm.script({ text: "sk-live-... leaked", chunks: ["sk-li", "ve-..."] });  // next call
 *   fm.script({ tool_calls: [{ name: "send_email", arguments: { to: "x@y.z" } }] });
 *   fm.script({ status: 500 });       // an upstream error in the provider's own format
 *   fm.script({ hang: true });        // never answers (timeouts)
 *   ... fm.requests[0].headers["x-api-key"], fm.requests[0].body ...
 *   await fm.close();
 *
 * Without a script, the model answers "You said: <last user text>" (so a test can see what
 * reached the upstream, e.g. PII placeholders, and what came back to the client).
 *
 * Streams follow the real event sequences:
 *  - Anthropic: message_start, content_block_start, ping, content_block_delta (text_delta /
 *    input_json_delta), content_block_stop, message_delta {stop_reason, usage}, message_stop.
 *  - OpenAI chat: chat.completion.chunk deltas (role, content, tool_calls[index].function.arguments),
 *    a chunk with finish_reason, a usage chunk (choices: []) when stream_options.include_usage,
 *    then `data: [DONE]`.
 *  - OpenAI responses: response.created, response.in_progress, output_item.added,
 *    content_part.added, output_text.delta…, output_text.done, content_part.done,
 *    output_item.done (function_call items with function_call_arguments.delta/done),
 *    response.completed with usage.
 *  - Gemini: `data:` events each a GenerateContentResponse (text parts), the last one carrying
 *    functionCall parts, finishReason and usageMetadata; no terminator.
 */

export interface FakeToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface FakeScript {
  /** Assistant text (default: "You said: <last user text>"). Empty string = no text block. */
  text?: string;
  /** Explicit stream chunking of `text` (default: pieces of `chunk_size` chars). */
  chunks?: string[];
  /** Piece size when `chunks` is not given (default 8). */
  chunk_size?: number;
  /** Tool calls the model emits after its text. */
  tool_calls?: FakeToolCall[];
  /** Token usage to report (default: estimated from the request and the answer). */
  usage?: { input_tokens: number; output_tokens: number };
  /** Stop / finish reason override. */
  stop_reason?: string;
  /** Answer with this HTTP status and a provider-format error body. */
  status?: number;
  error_message?: string;
  /** Delay before the response headers, in ms; `true` = never answer (until close). */
  hang?: boolean | number;
  /** In a stream: stall forever after this many events. */
  stall_after_events?: number;
  /** In a stream: wait this long between events, ms. */
  event_delay_ms?: number;
  /** Model name to report (default: the requested model). */
  model?: string;
  /** Non-streamed only: a thinking block (Anthropic) / reasoning summary (OpenAI responses) before the text. */
  thinking?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON request bodies
  body: any;
  raw: string;
  at: number;
}

export type Scripter = (req: RecordedRequest) => FakeScript | undefined;

export interface FakeModel {
  /** Base URL without a path, e.g. http://127.0.0.1:41234 (OpenAI SDKs want `${url}/v1`). */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Queue scripts for the next calls, in order. */
  script(...s: FakeScript[]): void;
  /** The script used when the queue is empty (or a function deciding per request). */
  setDefault(s: FakeScript | Scripter): void;
  /** Forget recorded requests and queued scripts. */
  reset(): void;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeModel(opts: { port?: number } = {}): Promise<FakeModel> {
  const requests: RecordedRequest[] = [];
  const queue: FakeScript[] = [];
  let fallback: FakeScript | Scripter = {};
  const hung = new Set<() => void>();
  let closed = false;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const raw = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => {
        headers[k] = v;
      });
      const rec: RecordedRequest = { method: req.method, path: u.pathname, query: u.search, headers, body, raw, at: Date.now() };
      requests.push(rec);

      if (req.method === "GET" && u.pathname === "/v1/models") {
        return Response.json({ object: "list", data: [{ id: "gpt-fake", object: "model", created: 1700000000, owned_by: "fake" }, { id: "claude-fake", object: "model", created: 1700000000, owned_by: "fake" }] });
      }
      if (req.method === "GET" && /^\/v1(beta)?\/models$/.test(u.pathname)) {
        const model = (id: string) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ["generateContent", "countTokens"] });
        return Response.json({ models: [model("gemini-2.5-flash"), model("gemini-2.5-pro"), model("imagen-4.0-generate")] });
      }
      const gem = /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(u.pathname);
      const kind = u.pathname === "/v1/chat/completions" ? "chat" : u.pathname === "/v1/responses" ? "responses" : u.pathname === "/v1/messages" ? "messages" : gem ? "gemini" : undefined;
      if (!kind || req.method !== "POST") return new Response(JSON.stringify({ error: { message: `no route ${req.method} ${u.pathname}` } }), { status: 404, headers: { "content-type": "application/json" } });

      const s: FakeScript = queue.shift() ?? (typeof fallback === "function" ? (fallback(rec) ?? {}) : fallback);
      if (s.hang !== undefined && s.hang !== false) {
        if (s.hang === true) {
          await new Promise<void>((resolve) => {
            const done = () => {
              hung.delete(done);
              resolve();
            };
            hung.add(done);
            req.signal.addEventListener("abort", done);
          });
          return new Response("closed", { status: 503 });
        }
        await sleep(s.hang);
      }
      if (closed) return new Response("closed", { status: 503 });
      if (s.status && s.status >= 400) return errorResponse(kind, s.status, s.error_message);
      // biome-ignore lint/suspicious/noExplicitAny: request JSON
      const b = (body ?? {}) as any;
      if (gem) {
        b.model = decodeURIComponent(gem[1] as string);
        if (gem[2] === "countTokens") return Response.json({ totalTokens: Math.max(1, Math.ceil(raw.length / 4)) });
        b.stream = gem[2] === "streamGenerateContent";
      }
      const answer = buildAnswer(kind, b, s);
      if (b.stream) return streamResponse(kind, b, s, answer, req.signal);
      return Response.json(nonStream(kind, b, s, answer), { headers: { "x-request-id": `req_fake_${requests.length}`, "request-id": `req_fake_${requests.length}` } });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    requests,
    script: (...s) => queue.push(...s),
    setDefault: (s) => {
      fallback = s;
    },
    reset: () => {
      requests.length = 0;
      queue.length = 0;
    },
    close: async () => {
      closed = true;
      for (const h of [...hung]) h();
      await server.stop(true);
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface Answer {
  model: string;
  text: string;
  chunks: string[];
  tools: Array<{ id: string; name: string; json: string; arguments: Record<string, unknown> }>;
  usage: { input_tokens: number; output_tokens: number };
  thinking?: string;
}

let seq = 0;
const rid = (p: string) => `${p}${Date.now().toString(36)}${(++seq).toString(36).padStart(4, "0")}`;

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function lastUserText(kind: string, b: any): string {
  const textOf = (c: unknown): string => {
    if (typeof c === "string") return c;
    if (Array.isArray(c)) return c.map((p) => (p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : "")).join("");
    return "";
  };
  if (kind === "responses") {
    if (typeof b.input === "string") return b.input;
    const items = Array.isArray(b.input) ? b.input : [];
    for (let i = items.length - 1; i >= 0; i--) if (items[i]?.role === "user") return textOf(items[i].content);
    return "";
  }
  if (kind === "gemini") {
    const cs = Array.isArray(b.contents) ? b.contents : [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const t = textOf(cs[i]?.role === "user" ? cs[i].parts : undefined);
      if (t) return t;
    }
    return "";
  }
  const msgs = Array.isArray(b.messages) ? b.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]?.role === "user") return textOf(msgs[i].content);
  return "";
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function buildAnswer(kind: string, b: any, s: FakeScript): Answer {
  const text = s.text ?? `You said: ${lastUserText(kind, b)}`;
  const size = Math.max(1, s.chunk_size ?? 8);
  let chunks = s.chunks;
  if (!chunks) {
    chunks = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  }
  const tools = (s.tool_calls ?? []).map((t) => ({
    id: t.id ?? (kind === "messages" ? rid("toolu_") : rid("call_")),
    name: t.name,
    json: JSON.stringify(t.arguments),
    arguments: t.arguments,
  }));
  const inTok = Math.max(1, Math.ceil(JSON.stringify(b.messages ?? b.input ?? b.contents ?? "").length / 4));
  const outTok = Math.max(1, Math.ceil((text.length + tools.reduce((n, t) => n + t.json.length, 0)) / 4));
  return { model: s.model ?? (typeof b.model === "string" ? b.model : "fake-model"), text, chunks: s.chunks ? s.chunks : chunks, tools, usage: s.usage ?? { input_tokens: inTok, output_tokens: outTok }, thinking: s.thinking };
}

function errorResponse(kind: string, status: number, message?: string): Response {
  const msg = message ?? (status >= 500 ? "The fake upstream had an internal error." : `fake upstream error ${status}`);
  if (kind === "gemini") {
    const st = status === 400 ? "INVALID_ARGUMENT" : status === 401 ? "UNAUTHENTICATED" : status === 403 ? "PERMISSION_DENIED" : status === 404 ? "NOT_FOUND" : status === 429 ? "RESOURCE_EXHAUSTED" : status === 503 ? "UNAVAILABLE" : "INTERNAL";
    return Response.json({ error: { code: status, message: msg, status: st } }, { status });
  }
  if (kind === "messages") {
    const type = status === 400 ? "invalid_request_error" : status === 401 ? "authentication_error" : status === 403 ? "permission_error" : status === 404 ? "not_found_error" : status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : "api_error";
    return Response.json({ type: "error", error: { type, message: msg } }, { status, headers: { "request-id": rid("req_") } });
  }
  const type = status >= 500 ? "server_error" : status === 429 ? "rate_limit_exceeded" : "invalid_request_error";
  return Response.json({ error: { message: msg, type, param: null, code: null } }, { status, headers: { "x-request-id": rid("req_") } });
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function nonStream(kind: string, b: any, s: FakeScript, a: Answer): unknown {
  const created = Math.floor(Date.now() / 1000);
  if (kind === "messages") {
    const content: unknown[] = [];
    if (a.thinking) content.push({ type: "thinking", thinking: a.thinking, signature: "EqQBCkgIARABGAIiQL2fake" });
    if (a.text) content.push({ type: "text", text: a.text });
    for (const t of a.tools) content.push({ type: "tool_use", id: t.id, name: t.name, input: t.arguments });
    return {
      id: rid("msg_"),
      type: "message",
      role: "assistant",
      model: a.model,
      content,
      stop_reason: s.stop_reason ?? (a.tools.length ? "tool_use" : "end_turn"),
      stop_sequence: null,
      usage: { input_tokens: a.usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: a.usage.output_tokens },
    };
  }
  if (kind === "gemini") return geminiResponse(a, [...(a.text ? [{ text: a.text }] : []), ...geminiCalls(a)], s.stop_reason ?? "STOP");
  if (kind === "chat") {
    const message: Record<string, unknown> = { role: "assistant", content: a.text || null, refusal: null, annotations: [] };
    if (a.tools.length) message.tool_calls = a.tools.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.json } }));
    return {
      id: rid("chatcmpl-"),
      object: "chat.completion",
      created,
      model: a.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: s.stop_reason ?? (a.tools.length ? "tool_calls" : "stop") }],
      usage: { prompt_tokens: a.usage.input_tokens, completion_tokens: a.usage.output_tokens, total_tokens: a.usage.input_tokens + a.usage.output_tokens },
      system_fingerprint: "fp_fake",
    };
  }
  return responseObject(b, a, "completed", created, responseOutput(a, "completed"));
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function responseObject(b: any, a: Answer, status: string, created: number, output: unknown[], id = rid("resp_")): Record<string, unknown> {
  return {
    id,
    object: "response",
    created_at: created,
    status,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model: a.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: b.previous_response_id ?? null,
    temperature: b.temperature ?? 1,
    tool_choice: b.tool_choice ?? "auto",
    tools: b.tools ?? [],
    top_p: b.top_p ?? 1,
    truncation: "disabled",
    usage:
      status === "completed"
        ? { input_tokens: a.usage.input_tokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: a.usage.output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: a.usage.input_tokens + a.usage.output_tokens }
        : null,
    metadata: b.metadata ?? {},
  };
}

const msgItemIds = new WeakMap<Answer, string>();
function responseOutput(a: Answer, status: string): unknown[] {
  const out: unknown[] = [];
  if (a.thinking) out.push({ type: "reasoning", id: rid("rs_"), summary: [{ type: "summary_text", text: a.thinking }] });
  if (a.text) {
    let id = msgItemIds.get(a);
    if (!id) msgItemIds.set(a, (id = rid("msg_")));
    out.push({ type: "message", id, status, role: "assistant", content: [{ type: "output_text", text: a.text, annotations: [] }] });
  }
  for (const t of a.tools) out.push({ type: "function_call", id: `fc_${t.id}`, call_id: t.id, name: t.name, arguments: t.json, status });
  return out;
}

/** Split a JSON string into a few pieces, as partial_json / arguments deltas arrive. */
function jsonPieces(json: string): string[] {
  if (json.length <= 4) return [json];
  const out: string[] = [];
  const step = Math.max(3, Math.ceil(json.length / 4));
  for (let i = 0; i < json.length; i += step) out.push(json.slice(i, i + step));
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function streamResponse(kind: string, b: any, s: FakeScript, a: Answer, signal: AbortSignal): Response {
  const events = kind === "messages" ? anthropicEvents(s, a) : kind === "chat" ? chatEvents(b, s, a) : kind === "gemini" ? geminiEvents(s, a) : responsesEvents(b, a);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let n = 0;
      try {
        for (const ev of events) {
          if (signal.aborted) break;
          if (s.stall_after_events !== undefined && n >= s.stall_after_events) {
            await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
            break;
          }
          if (s.event_delay_ms && n > 0) await sleep(s.event_delay_ms);
          controller.enqueue(enc.encode(ev));
          n++;
        }
        controller.close();
      } catch {
        try {
          controller.close();
        } catch {}
      }
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": rid("req_"), "request-id": rid("req_") } });
}

const sse = (event: string | undefined, data: unknown) => `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

function anthropicEvents(s: FakeScript, a: Answer): string[] {
  const ev: string[] = [];
  const id = rid("msg_");
  ev.push(sse("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model: a.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: a.usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }));
  let index = 0;
  if (a.text) {
    ev.push(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }));
    ev.push(sse("ping", { type: "ping" }));
    for (const c of a.chunks) ev.push(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: c } }));
    ev.push(sse("content_block_stop", { type: "content_block_stop", index }));
    index++;
  } else {
    ev.push(sse("ping", { type: "ping" }));
  }
  for (const t of a.tools) {
    ev.push(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: t.id, name: t.name, input: {} } }));
    ev.push(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } }));
    for (const p of jsonPieces(t.json)) ev.push(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: p } }));
    ev.push(sse("content_block_stop", { type: "content_block_stop", index }));
    index++;
  }
  ev.push(sse("message_delta", { type: "message_delta", delta: { stop_reason: s.stop_reason ?? (a.tools.length ? "tool_use" : "end_turn"), stop_sequence: null }, usage: { output_tokens: a.usage.output_tokens } }));
  ev.push(sse("message_stop", { type: "message_stop" }));
  return ev;
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function chatEvents(b: any, s: FakeScript, a: Answer): string[] {
  const id = rid("chatcmpl-");
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = !!b.stream_options?.include_usage;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    sse(undefined, { id, object: "chat.completion.chunk", created, model: a.model, system_fingerprint: "fp_fake", choices, ...(includeUsage ? { usage: null } : {}), ...extra });
  const ev: string[] = [];
  ev.push(chunk([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]));
  if (a.text) for (const c of a.chunks) ev.push(chunk([{ index: 0, delta: { content: c }, logprobs: null, finish_reason: null }]));
  a.tools.forEach((t, i) => {
    ev.push(chunk([{ index: 0, delta: { tool_calls: [{ index: i, id: t.id, type: "function", function: { name: t.name, arguments: "" } }] }, logprobs: null, finish_reason: null }]));
    for (const p of jsonPieces(t.json)) ev.push(chunk([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: p } }] }, logprobs: null, finish_reason: null }]));
  });
  ev.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: s.stop_reason ?? (a.tools.length ? "tool_calls" : "stop") }]));
  if (includeUsage) ev.push(chunk([], { usage: { prompt_tokens: a.usage.input_tokens, completion_tokens: a.usage.output_tokens, total_tokens: a.usage.input_tokens + a.usage.output_tokens } }));
  ev.push("data: [DONE]\n\n");
  return ev;
}

// biome-ignore lint/suspicious/noExplicitAny: request JSON
function responsesEvents(b: any, a: Answer): string[] {
  const created = Math.floor(Date.now() / 1000);
  const id = rid("resp_");
  let sn = 0;
  const ev: string[] = [];
  const push = (type: string, data: Record<string, unknown>) => ev.push(sse(type, { type, sequence_number: sn++, ...data }));
  push("response.created", { response: responseObject(b, a, "in_progress", created, [], id) });
  push("response.in_progress", { response: responseObject(b, a, "in_progress", created, [], id) });
  const final = responseOutput(a, "completed") as Array<Record<string, unknown>>;
  let oi = 0;
  if (a.text) {
    const item = final[0] as Record<string, unknown>;
    const itemId = item.id as string;
    push("response.output_item.added", { output_index: oi, item: { ...item, status: "in_progress", content: [] } });
    push("response.content_part.added", { item_id: itemId, output_index: oi, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    for (const c of a.chunks) push("response.output_text.delta", { item_id: itemId, output_index: oi, content_index: 0, delta: c, logprobs: [] });
    push("response.output_text.done", { item_id: itemId, output_index: oi, content_index: 0, text: a.text, logprobs: [] });
    push("response.content_part.done", { item_id: itemId, output_index: oi, content_index: 0, part: { type: "output_text", text: a.text, annotations: [] } });
    push("response.output_item.done", { output_index: oi, item });
    oi++;
  }
  for (const t of a.tools) {
    const item = final[oi] as Record<string, unknown>;
    push("response.output_item.added", { output_index: oi, item: { ...item, arguments: "", status: "in_progress" } });
    for (const p of jsonPieces(t.json)) push("response.function_call_arguments.delta", { item_id: item.id, output_index: oi, delta: p });
    push("response.function_call_arguments.done", { item_id: item.id, output_index: oi, name: t.name, arguments: t.json });
    push("response.output_item.done", { output_index: oi, item });
    oi++;
  }
  push("response.completed", { response: responseObject(b, a, "completed", created, final, id) });
  return ev;
}

const geminiCalls = (a: Answer) => a.tools.map((t) => ({ functionCall: { name: t.name, args: t.arguments } }));
const geminiIds = new WeakMap<Answer, string>();

function geminiResponse(a: Answer, parts: unknown[], finish?: string): Record<string, unknown> {
  let id = geminiIds.get(a);
  if (!id) geminiIds.set(a, (id = rid("")));
  return {
    candidates: [{ content: { role: "model", parts }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
    ...(finish ? { usageMetadata: { promptTokenCount: a.usage.input_tokens, candidatesTokenCount: a.usage.output_tokens, totalTokenCount: a.usage.input_tokens + a.usage.output_tokens } } : {}),
    modelVersion: a.model,
    responseId: id,
  };
}

function geminiEvents(s: FakeScript, a: Answer): string[] {
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\r\n\r\n`;
  const out = a.chunks.map((c) => ev(geminiResponse(a, [{ text: c }])));
  out.push(ev(geminiResponse(a, geminiCalls(a), s.stop_reason ?? "STOP")));
  return out;
}
