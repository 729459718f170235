/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`), also what OpenAI-compatible servers
 * speak. Request text: message content (string or text parts) by role — system/developer are
 * system text, tool/function results are tool output — and the string leaves of earlier
 * assistant tool_calls' JSON arguments. Streams: content deltas pass the guard per choice,
 * tool_calls deltas are assembled per index and released (one chunk per call, arguments
 * whole) only after the response-side check; the finish chunk, the usage chunk (requested
 * from the upstream for budgets, passed on only if the client asked) and [DONE] close it.
 */
import type { ToolCall } from "../pipeline/types.ts";
import { argsOut, parseArgs, SegmentSet, stringLeaves } from "./paths.ts";
import type { SseEvent } from "./sse.ts";
import { sseFrame } from "./sse.ts";
import { parseJson, type StreamedText, type StreamHooks, type StreamTransformer } from "./stream.ts";
import type { TextGuard } from "./stream-guard.ts";
import type { Usage } from "./usage.ts";
import { type Body, notice, stoppedNotice, type ParsedRequest, type ParsedResponse, type WireAdapter, type WireError } from "./wire.ts";

const ERROR_TYPE: Record<WireError["kind"], string> = {
  auth: "authentication_error",
  policy: "policy_denied",
  bad_request: "invalid_request_error",
  not_found: "not_found_error",
  upstream: "upstream_error",
  timeout: "timeout",
  unavailable: "service_unavailable",
  internal: "server_error",
  rate_limit: "rate_limit_exceeded",
  precondition: "gateway_not_configured",
};

export function openaiErrorBody(e: WireError): Body {
  return { error: { type: ERROR_TYPE[e.kind], code: e.code ?? null, message: e.message, param: null } };
}

export const openaiChat: WireAdapter = {
  format: "openai-chat",
  family: "openai",
  upstreamPath: "/v1/chat/completions",

  parseRequest(body: Body): ParsedRequest {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    let chars = 0;
    const add = (path: string, kind: "prompt" | "system" | "tool_output" | "tool_args", text: string, role: string) => {
      chars += text.length;
      set.add({ path, kind, text, role });
    };
    const msgs: Body[] = Array.isArray(body.messages) ? body.messages : [];
    msgs.forEach((m, i) => {
      const role = typeof m?.role === "string" ? m.role : "user";
      const kind = role === "system" || role === "developer" ? "system" : role === "tool" || role === "function" ? "tool_output" : "prompt";
      if (typeof m?.content === "string") add(`messages.${i}.content`, kind, m.content, role);
      else if (Array.isArray(m?.content)) {
        m.content.forEach((p: Body, j: number) => {
          if (typeof p?.text === "string" && (p.type === "text" || p.type === "input_text")) add(`messages.${i}.content.${j}.text`, kind, p.text, role);
        });
      }
      if (Array.isArray(m?.tool_calls)) {
        m.tool_calls.forEach((tc: Body, j: number) => {
          const fn = tc?.function ?? {};
          const args = parseArgs(fn.arguments);
          tool_calls.push({ id: tc?.id, name: String(fn.name ?? ""), arguments: args, origin: "history" });
          if (typeof fn.arguments === "string") for (const leaf of stringLeaves(args, `messages.${i}.tool_calls.${j}.function.arguments.@json`)) add(leaf.path, "tool_args", leaf.text, role);
        });
      }
    });
    const tool_schemas: ParsedRequest["tool_schemas"] = {};
    if (Array.isArray(body.tools)) for (const t of body.tools) if (t?.function?.name) tool_schemas[t.function.name] = { description: t.function.description, inputSchema: t.function.parameters };
    const max = typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : typeof body.max_tokens === "number" ? body.max_tokens : undefined;
    return { model: typeof body.model === "string" ? body.model : "", stream: body.stream === true, set, tool_calls, tool_schemas, prompt_chars: chars, max_output: max };
  },

  prepareUpstream(body: Body, stream: boolean) {
    if (!stream) return { clientWantsUsage: true };
    const wants = body.stream_options?.include_usage === true;
    if (!wants) body.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
    return { clientWantsUsage: wants, changed: !wants };
  },

  parseResponse(body: Body): ParsedResponse {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    const choices: Body[] = Array.isArray(body.choices) ? body.choices : [];
    choices.forEach((c, k) => {
      const m = c?.message ?? {};
      if (typeof m.content === "string") set.add({ path: `choices.${k}.message.content`, kind: "response", role: "assistant", text: m.content });
      if (typeof m.refusal === "string") set.add({ path: `choices.${k}.message.refusal`, kind: "response", role: "assistant", text: m.refusal });
      if (Array.isArray(m.tool_calls)) {
        m.tool_calls.forEach((tc: Body, _j: number) => {
          const args = parseArgs(tc?.function?.arguments);
          tool_calls.push({ id: tc?.id, name: String(tc?.function?.name ?? ""), arguments: args, origin: "model" });
        });
      }
    });
    const u = body.usage;
    return { set, tool_calls, usage: u ? { input_tokens: u.prompt_tokens ?? 0, output_tokens: u.completion_tokens ?? 0 } : undefined };
  },

  stripToolCalls(body: Body, removed: ToolCall[]): void {
    if (removed.length === 0 || !Array.isArray(body.choices)) return;
    const ids = new Set(removed.map((t) => t.id));
    for (const c of body.choices as Body[]) {
      const m = c?.message;
      if (!m || !Array.isArray(m.tool_calls)) continue;
      const before = m.tool_calls.length;
      m.tool_calls = m.tool_calls.filter((tc: Body) => !ids.has(tc?.id));
      if (m.tool_calls.length === before) continue;
      const gone = removed.filter((t) => !m.tool_calls.some((tc: Body) => tc?.id === t.id));
      m.content = `${typeof m.content === "string" && m.content ? `${m.content}\n\n` : ""}${notice(gone)}`;
      if (m.tool_calls.length === 0) {
        delete m.tool_calls;
        if (c.finish_reason === "tool_calls") c.finish_reason = "stop";
      }
    }
  },

  setToolArgs(body: Body, t: ToolCall): void {
    for (const c of body.choices ?? []) for (const tc of c?.message?.tool_calls ?? []) if (tc?.id === t.id) tc.function.arguments = JSON.stringify(t.arguments);
  },

  errorBody: openaiErrorBody,

  newStream(hooks: StreamHooks, opts: { clientWantsUsage: boolean }): StreamTransformer {
    return new ChatStream(hooks, opts.clientWantsUsage);
  },
};

interface Choice {
  guard: TextGuard;
  tools: Map<number, { id?: string; name: string; args: string; type: string; call?: ToolCall }>;
  finish?: Body;
}

class ChatStream implements StreamTransformer {
  done = false;
  private choices = new Map<number, Choice>();
  private template: Body = {};
  private usageChunk: Body | undefined;
  private usage: Usage | undefined;

  constructor(
    private readonly hooks: StreamHooks,
    private readonly clientWantsUsage: boolean,
  ) {}

  private choice(i: number): Choice {
    let c = this.choices.get(i);
    if (!c) this.choices.set(i, (c = { guard: this.hooks.guard(), tools: new Map() }));
    return c;
  }

  private chunk(choices: unknown[], extra: Body = {}): string {
    const { choices: _c, usage: _u, ...rest } = this.template;
    return sseFrame({ ...rest, choices, ...(this.clientWantsUsage ? { usage: null } : {}), ...extra });
  }

  async onEvent(ev: SseEvent): Promise<string[]> {
    if (this.done) return [];
    if (ev.data.trim() === "[DONE]") return this.finish();
    const d = parseJson(ev.data);
    if (!d) return [];
    if (d.error) {
      this.done = true;
      await this.hooks.finalize(this.summary({ step: "upstream", reason: String((d.error as Body).message ?? "upstream error") }));
      return [sseFrame(d), "data: [DONE]\n\n"];
    }
    this.template = d;
    if (d.usage && typeof d.usage === "object") {
      const u = d.usage as Body;
      this.usage = { input_tokens: u.prompt_tokens ?? 0, output_tokens: u.completion_tokens ?? 0 };
    }
    const choices = Array.isArray(d.choices) ? (d.choices as Body[]) : [];
    if (choices.length === 0) {
      if (d.usage) this.usageChunk = d;
      return [];
    }
    const outChoices: Body[] = [];
    for (const ch of choices) {
      const idx = Number(ch.index ?? 0);
      const c = this.choice(idx);
      const delta = { ...(ch.delta ?? {}) } as Body;
      if (Array.isArray(delta.tool_calls)) {
        for (const tc of delta.tool_calls as Body[]) {
          const ti = Number(tc.index ?? 0);
          let t = c.tools.get(ti);
          if (!t) c.tools.set(ti, (t = { name: "", args: "", type: "function" }));
          if (tc.id) t.id = tc.id;
          if (tc.type) t.type = tc.type;
          if (tc.function?.name) t.name += tc.function.name;
          if (typeof tc.function?.arguments === "string") t.args += tc.function.arguments;
        }
        delete delta.tool_calls;
      }
      if (typeof delta.content === "string" && delta.content.length > 0) {
        const r = await c.guard.push(delta.content);
        if (r.cut) return this.cut(r.cut);
        if (r.release) delta.content = r.release;
        else delete delta.content;
      }
      if (ch.finish_reason) {
        c.finish = { ...ch, delta: {} };
        const r = await c.guard.flush();
        if (r.cut) return this.cut(r.cut);
        if (r.release) delta.content = (typeof delta.content === "string" ? delta.content : "") + r.release;
        if (Object.keys(delta).length > 0) outChoices.push({ ...ch, delta, finish_reason: null });
        continue;
      }
      if (Object.keys(delta).length > 0 || ch.logprobs) outChoices.push({ ...ch, delta });
    }
    if (d.usage) this.usageChunk = d;
    if (outChoices.length === 0) return [];
    const { usage: _u, ...rest } = d;
    return [sseFrame({ ...rest, choices: outChoices, ...(this.clientWantsUsage ? { usage: null } : {}) })];
  }

  async onEnd(err?: Error): Promise<string[]> {
    if (this.done) return [];
    if (!err && [...this.choices.values()].some((c) => c.finish)) return this.finish();
    this.done = true;
    const reason = err ? err.message : "the upstream closed the stream before it finished";
    await this.hooks.finalize(this.summary({ step: "upstream", reason }));
    const type = err && /did not answer|silent|timed out/.test(err.message) ? "timeout" : "upstream_error";
    return [sseFrame({ error: { type, code: null, message: `TapPass gateway: ${reason}`, param: null } }), "data: [DONE]\n\n"];
  }

  private summary(cut?: { step: string; reason: string }) {
    const texts: StreamedText[] = [];
    const tool_calls: ToolCall[] = [];
    for (const [k, c] of this.choices) {
      texts.push({ path: `choices.${k}.message.content`, text: c.guard.raw + c.guard.held });
      for (const [_j, t] of c.tools) {
        t.call ??= { id: t.id, name: t.name, arguments: parseArgs(t.args), origin: "model" };
        tool_calls.push(t.call);
      }
    }
    return { texts, tool_calls, usage: this.usage, ...(cut ? { cut } : {}) };
  }

  private async cut(c: { step: string; reason: string }): Promise<string[]> {
    this.done = true;
    await this.hooks.finalize(this.summary(c));
    return this.refusal(c);
  }

  private refusal(c: { step: string; reason: string }): string[] {
    const idxs = this.choices.size ? [...this.choices.keys()] : [0];
    const out = [
      this.chunk(idxs.map((i) => ({ index: i, delta: { content: stoppedNotice(c) }, logprobs: null, finish_reason: null }))),
      this.chunk(idxs.map((i) => ({ index: i, delta: {}, logprobs: null, finish_reason: "content_filter" }))),
    ];
    if (this.clientWantsUsage && this.usage) out.push(this.chunk([], { usage: { prompt_tokens: this.usage.input_tokens, completion_tokens: this.usage.output_tokens, total_tokens: this.usage.input_tokens + this.usage.output_tokens } }));
    out.push("data: [DONE]\n\n");
    return out;
  }

  private async finish(): Promise<string[]> {
    const out: string[] = [];
    for (const [i, c] of this.choices) {
      if (c.finish) continue;
      const r = await c.guard.flush();
      if (r.cut) return this.cut(r.cut);
      if (r.release) out.push(this.chunk([{ index: i, delta: { content: r.release }, logprobs: null, finish_reason: null }]));
    }
    const summary = this.summary();
    const decision = await this.hooks.finalize(summary);
    this.done = true;
    if (decision.deny) return [...out, ...this.refusal(decision.deny)];
    for (const [i, c] of this.choices) {
      const kept = [...c.tools.values()].filter((t) => !t.call?.removed);
      const removed = [...c.tools.values()].filter((t) => t.call?.removed).map((t) => t.call as ToolCall);
      kept.forEach((t, n) => {
        out.push(this.chunk([{ index: i, delta: { tool_calls: [{ index: n, id: t.id, type: t.type, function: { name: t.name, arguments: t.call ? argsOut(t.args, t.call) : t.args } }] }, logprobs: null, finish_reason: null }]));
      });
      if (removed.length) out.push(this.chunk([{ index: i, delta: { content: `${c.guard.out ? "\n\n" : ""}${notice(removed)}` }, logprobs: null, finish_reason: null }]));
      const fin = { ...(c.finish ?? { index: i, delta: {}, logprobs: null, finish_reason: "stop" }) };
      if (removed.length && kept.length === 0 && fin.finish_reason === "tool_calls") fin.finish_reason = "stop";
      out.push(this.chunk([fin]));
    }
    if (this.clientWantsUsage && this.usageChunk) out.push(sseFrame(this.usageChunk));
    out.push("data: [DONE]\n\n");
    return out;
  }
}
