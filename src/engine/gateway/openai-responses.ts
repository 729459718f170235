/**
 * OpenAI Responses (`POST /v1/responses`). Request text: `instructions` (system), `input` as a
 * string or as items — messages by role, function_call items (earlier tool calls, whose JSON
 * arguments' string leaves are tool args) and function_call_output items (tool output).
 * Streams: every text delta event (output_text, refusal, reasoning text) passes the guard,
 * its `.done` event carries the released text; function_call items are held whole and
 * released after the response-side check; `response.completed` is rebuilt to match what the
 * client saw. A cut closes the open part and item and ends with `response.incomplete`
 * (incomplete_details.reason = content_filter).
 */
import type { ToolCall } from "../pipeline/types.ts";
import { openaiErrorBody } from "./openai-chat.ts";
import { argsOut, parseArgs, SegmentSet, stringLeaves } from "./paths.ts";
import type { SseEvent } from "./sse.ts";
import { sseFrame } from "./sse.ts";
import { parseJson, type StreamedText, type StreamHooks, type StreamTransformer } from "./stream.ts";
import type { TextGuard } from "./stream-guard.ts";
import type { Usage } from "./usage.ts";
import { type Body, notice, stoppedNotice, type ParsedRequest, type ParsedResponse, type WireAdapter } from "./wire.ts";

const TOOL_ITEMS = new Set(["function_call", "custom_tool_call"]);

export const openaiResponses: WireAdapter = {
  format: "openai-responses",
  family: "openai",
  upstreamPath: "/v1/responses",

  parseRequest(body: Body): ParsedRequest {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    let chars = 0;
    const add = (path: string, kind: "prompt" | "system" | "tool_output" | "tool_args", text: string, role: string) => {
      chars += text.length;
      set.add({ path, kind, text, role });
    };
    if (typeof body.instructions === "string") add("instructions", "system", body.instructions, "system");
    if (typeof body.input === "string") add("input", "prompt", body.input, "user");
    else if (Array.isArray(body.input)) {
      (body.input as Body[]).forEach((it, i) => {
        if (!it || typeof it !== "object") return;
        if (it.type === "function_call" || it.type === "custom_tool_call") {
          const args = it.type === "custom_tool_call" ? { input: it.input } : parseArgs(it.arguments);
          tool_calls.push({ id: it.call_id ?? it.id, name: String(it.name ?? ""), arguments: args, origin: "history" });
          if (typeof it.arguments === "string") for (const leaf of stringLeaves(args, `input.${i}.arguments.@json`)) add(leaf.path, "tool_args", leaf.text, "assistant");
          else if (typeof it.input === "string") add(`input.${i}.input`, "tool_args", it.input, "assistant");
          return;
        }
        if (it.type === "function_call_output" || it.type === "custom_tool_call_output") {
          if (typeof it.output === "string") add(`input.${i}.output`, "tool_output", it.output, "tool");
          else if (Array.isArray(it.output)) {
            it.output.forEach((p: Body, j: number) => {
              if (typeof p?.text === "string") add(`input.${i}.output.${j}.text`, "tool_output", p.text, "tool");
            });
          }
          return;
        }
        if (it.type !== undefined && it.type !== "message") return;
        const role = typeof it.role === "string" ? it.role : "user";
        const kind = role === "system" || role === "developer" ? "system" : "prompt";
        if (typeof it.content === "string") add(`input.${i}.content`, kind, it.content, role);
        else if (Array.isArray(it.content)) it.content.forEach((p: Body, j: number) => {
        if (typeof p?.text === "string") add(`input.${i}.content.${j}.text`, kind, p.text, role);
      });
      });
    }
    const tool_schemas: ParsedRequest["tool_schemas"] = {};
    if (Array.isArray(body.tools)) for (const t of body.tools) if (t?.type === "function" && typeof t.name === "string") tool_schemas[t.name] = { description: t.description, inputSchema: t.parameters };
    return {
      model: typeof body.model === "string" ? body.model : "",
      stream: body.stream === true,
      set,
      tool_calls,
      tool_schemas,
      prompt_chars: chars,
      max_output: typeof body.max_output_tokens === "number" ? body.max_output_tokens : undefined,
    };
  },

  prepareUpstream() {
    return { clientWantsUsage: true };
  },

  parseResponse(body: Body): ParsedResponse {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    const output: Body[] = Array.isArray(body.output) ? body.output : [];
    output.forEach((it, j) => {
      if (it?.type === "message" && Array.isArray(it.content)) {
        it.content.forEach((p: Body, k: number) => {
          if (typeof p?.text === "string") set.add({ path: `output.${j}.content.${k}.text`, kind: "response", role: "assistant", text: p.text });
          else if (typeof p?.refusal === "string") set.add({ path: `output.${j}.content.${k}.refusal`, kind: "response", role: "assistant", text: p.refusal });
        });
      } else if (it?.type === "reasoning") {
        // the reasoning summary (and, where a provider returns it, the reasoning text) reaches the client
        for (const part of ["summary", "content"] as const) {
          if (!Array.isArray(it[part])) continue;
          it[part].forEach((p: Body, k: number) => {
            if (typeof p?.text === "string") set.add({ path: `output.${j}.${part}.${k}.text`, kind: "response", role: "assistant", text: p.text });
          });
        }
      } else if (TOOL_ITEMS.has(it?.type)) {
        const args = it.type === "custom_tool_call" ? { input: it.input } : parseArgs(it.arguments);
        tool_calls.push({ id: it.call_id ?? it.id, name: String(it.name ?? ""), arguments: args, origin: "model" });
      }
    });
    const u = body.usage;
    return { set, tool_calls, usage: u ? { input_tokens: u.input_tokens ?? 0, output_tokens: u.output_tokens ?? 0 } : undefined };
  },

  stripToolCalls(body: Body, removed: ToolCall[]): void {
    if (removed.length === 0 || !Array.isArray(body.output)) return;
    const ids = new Set(removed.map((t) => t.id));
    body.output = body.output.filter((it: Body) => !(TOOL_ITEMS.has(it?.type) && ids.has(it.call_id ?? it.id)));
    body.output.push(noticeItem(notice(removed)));
  },

  setToolArgs(body: Body, t: ToolCall): void {
    for (const it of body.output ?? []) if (it?.type === "function_call" && (it.call_id ?? it.id) === t.id) it.arguments = JSON.stringify(t.arguments);
  },

  errorBody: openaiErrorBody,

  newStream(hooks: StreamHooks): StreamTransformer {
    return new ResponsesStream(hooks);
  },
};

function noticeItem(text: string): Body {
  return { type: "message", id: `msg_tappass_${Date.now().toString(36)}`, status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] };
}

const TEXT_DELTAS: Record<string, { done: string; field: string }> = {
  "response.output_text.delta": { done: "response.output_text.done", field: "text" },
  "response.refusal.delta": { done: "response.refusal.done", field: "refusal" },
  "response.reasoning_summary_text.delta": { done: "response.reasoning_summary_text.done", field: "text" },
  "response.reasoning_text.delta": { done: "response.reasoning_text.done", field: "text" },
};
const TEXT_DONES = new Map(Object.entries(TEXT_DELTAS).map(([delta, v]) => [v.done, { delta, field: v.field }]));

interface Held {
  events: Body[];
  item: Body;
  args: string;
  call?: ToolCall;
}

interface Run {
  guard: TextGuard;
  delta: string;
  base: Body;
  open: boolean;
}

class ResponsesStream implements StreamTransformer {
  done = false;
  private seq = 0;
  private outIndex = new Map<number, number>();
  private nextOut = 0;
  private held = new Map<number, Held>();
  private runs = new Map<string, Run>();
  /** What the client has seen, by client output index (to rebuild the final response). */
  private emitted: Body[] = [];
  private response: Body = {};
  private usage: Usage | undefined;

  constructor(private readonly hooks: StreamHooks) {}

  private frame(d: Body): string {
    const type = String(d.type);
    return sseFrame({ ...d, sequence_number: this.seq++ }, type);
  }

  private mapIndex(upstream: number): number {
    let i = this.outIndex.get(upstream);
    if (i === undefined) this.outIndex.set(upstream, (i = this.nextOut++));
    return i;
  }

  private runKey(d: Body, deltaType: string): string {
    return `${d.output_index}:${d.content_index ?? d.summary_index ?? 0}:${deltaType}`;
  }

  async onEvent(ev: SseEvent): Promise<string[]> {
    if (this.done) return [];
    const d = parseJson(ev.data) as Body | undefined;
    if (!d) return [];
    const type = String(d.type ?? ev.event ?? "");
    const oi = typeof d.output_index === "number" ? d.output_index : undefined;

    if (type === "response.created" || type === "response.in_progress" || type === "response.queued") {
      this.response = d.response ?? {};
      return [this.frame(d)];
    }
    if (type === "response.completed") {
      this.response = d.response ?? this.response;
      const u = this.response.usage;
      if (u) this.usage = { input_tokens: u.input_tokens ?? 0, output_tokens: u.output_tokens ?? 0 };
      return this.finish();
    }
    if (type === "response.failed" || type === "response.incomplete" || type === "error") {
      this.done = true;
      const msg = d.response?.error?.message ?? d.message ?? type;
      await this.hooks.finalize(this.summary({ step: "upstream", reason: String(msg) }));
      return [this.frame(d)];
    }
    if (oi !== undefined && (this.held.has(oi) || (type === "response.output_item.added" && TOOL_ITEMS.has(d.item?.type)))) {
      let h = this.held.get(oi);
      if (!h) this.held.set(oi, (h = { events: [], item: d.item, args: "" }));
      if (type === "response.function_call_arguments.delta" || type === "response.custom_tool_call_input.delta") h.args += String(d.delta ?? "");
      if (type === "response.function_call_arguments.done") h.args = String(d.arguments ?? h.args);
      if (type === "response.custom_tool_call_input.done") h.args = String(d.input ?? h.args);
      if (type === "response.output_item.done") h.item = d.item;
      h.events.push(d);
      return [];
    }
    const out = oi !== undefined ? { ...d, output_index: this.mapIndex(oi) } : d;
    if (type === "response.output_item.added") this.emitted[out.output_index] = structuredClone({ ...d.item, content: d.item?.content ?? [] });
    if (type === "response.content_part.added") {
      const it = this.emitted[out.output_index];
      if (it && Array.isArray(it.content)) it.content[d.content_index] = structuredClone(d.part);
    }
    const td = TEXT_DELTAS[type];
    if (td && typeof d.delta === "string") {
      const key = this.runKey(d, type);
      let run = this.runs.get(key);
      if (!run) this.runs.set(key, (run = { guard: this.hooks.guard({ signed: type.includes("reasoning") }), delta: type, base: out, open: true }));
      const r = await run.guard.push(d.delta);
      if (r.cut) return this.cut(r.cut);
      if (!r.release) return [];
      this.appendEmitted(out, td.field, r.release);
      return [this.frame({ ...out, delta: r.release })];
    }
    const tdone = TEXT_DONES.get(type);
    if (tdone) {
      const key = this.runKey(d, tdone.delta);
      const run = this.runs.get(key);
      if (!run) return [this.frame(out)];
      const frames: string[] = [];
      const r = await run.guard.flush();
      if (r.cut) return this.cut(r.cut);
      run.open = false;
      if (r.release) {
        this.appendEmitted(out, tdone.field, r.release);
        frames.push(this.frame({ ...run.base, delta: r.release }));
      }
      frames.push(this.frame({ ...out, [tdone.field]: run.guard.out }));
      return frames;
    }
    if (type === "response.content_part.done" && d.part) {
      const run = this.runs.get(this.runKey(d, "response.output_text.delta")) ?? this.runs.get(this.runKey(d, "response.refusal.delta"));
      const part = { ...d.part };
      if (run && typeof part.text === "string") part.text = run.guard.out;
      if (run && typeof part.refusal === "string") part.refusal = run.guard.out;
      return [this.frame({ ...out, part })];
    }
    if (type === "response.output_item.done" && d.item) {
      const item = this.rewriteItem(oi as number, d.item);
      this.emitted[out.output_index] = item;
      return [this.frame({ ...out, item })];
    }
    return [this.frame(out)];
  }

  private appendEmitted(out: Body, field: string, text: string): void {
    const part = this.emitted[out.output_index]?.content?.[out.content_index];
    if (part && typeof part[field] === "string") part[field] += text;
  }

  /** A message item with its texts replaced by what the guards released. */
  private rewriteItem(upstreamIndex: number, item: Body): Body {
    if (!Array.isArray(item.content)) return item;
    const content = item.content.map((p: Body, k: number) => {
      const run = this.runs.get(`${upstreamIndex}:${k}:response.output_text.delta`) ?? this.runs.get(`${upstreamIndex}:${k}:response.refusal.delta`);
      if (!run) return p;
      if (typeof p.text === "string") return { ...p, text: run.guard.out };
      if (typeof p.refusal === "string") return { ...p, refusal: run.guard.out };
      return p;
    });
    return { ...item, content };
  }

  async onEnd(err?: Error): Promise<string[]> {
    if (this.done) return [];
    this.done = true;
    const reason = err ? err.message : "the upstream closed the stream before response.completed";
    await this.hooks.finalize(this.summary({ step: "upstream", reason }));
    const code = err && /did not answer|silent|timed out/.test(err.message) ? "timeout" : "upstream_error";
    return [this.frame({ type: "error", code, message: `TapPass gateway: ${reason}`, param: null })];
  }

  private summary(cut?: { step: string; reason: string }) {
    const texts: StreamedText[] = [];
    for (const [key, run] of this.runs) {
      const [o, c] = key.split(":");
      texts.push({ path: `output.${o}.content.${c}.text`, text: run.guard.raw + run.guard.held });
    }
    const tool_calls: ToolCall[] = [];
    for (const [_o, h] of this.held) {
      const args = h.item?.type === "custom_tool_call" ? { input: h.args } : parseArgs(h.args);
      h.call ??= { id: h.item?.call_id ?? h.item?.id, name: String(h.item?.name ?? ""), arguments: args, origin: "model" };
      tool_calls.push(h.call);
    }
    return { texts, tool_calls, usage: this.usage, ...(cut ? { cut } : {}) };
  }

  private async cut(c: { step: string; reason: string }): Promise<string[]> {
    this.done = true;
    await this.hooks.finalize(this.summary(c));
    return this.refusal(c);
  }

  private refusal(c: { step: string; reason: string }): string[] {
    const frames: string[] = [];
    const text = stoppedNotice(c);
    const open = [...this.runs.values()].find((r) => r.open && r.delta === "response.output_text.delta");
    if (open) {
      const b = open.base;
      open.open = false;
      this.appendEmitted(b, "text", text);
      const full = `${open.guard.out}${text}`;
      frames.push(this.frame({ ...b, delta: text }));
      frames.push(this.frame({ type: "response.output_text.done", item_id: b.item_id, output_index: b.output_index, content_index: b.content_index, text: full, logprobs: [] }));
      frames.push(this.frame({ type: "response.content_part.done", item_id: b.item_id, output_index: b.output_index, content_index: b.content_index, part: { type: "output_text", text: full, annotations: [] } }));
      const item = { ...(this.emitted[b.output_index] ?? {}), status: "incomplete" };
      this.emitted[b.output_index] = item;
      frames.push(this.frame({ type: "response.output_item.done", output_index: b.output_index, item }));
    } else {
      frames.push(...this.noticeFrames(text.trim(), "incomplete"));
    }
    const response = { ...this.response, status: "incomplete", incomplete_details: { reason: "content_filter" }, output: this.emitted.filter(Boolean), usage: this.usage ? usageBody(this.usage) : (this.response.usage ?? null) };
    frames.push(this.frame({ type: "response.incomplete", response }));
    return frames;
  }

  private noticeFrames(text: string, status: string): string[] {
    const item = noticeItem(text);
    item.status = status;
    const idx = this.nextOut++;
    this.emitted[idx] = item;
    const part = item.content[0];
    return [
      this.frame({ type: "response.output_item.added", output_index: idx, item: { ...item, status: "in_progress", content: [] } }),
      this.frame({ type: "response.content_part.added", item_id: item.id, output_index: idx, content_index: 0, part: { ...part, text: "" } }),
      this.frame({ type: "response.output_text.delta", item_id: item.id, output_index: idx, content_index: 0, delta: text, logprobs: [] }),
      this.frame({ type: "response.output_text.done", item_id: item.id, output_index: idx, content_index: 0, text, logprobs: [] }),
      this.frame({ type: "response.content_part.done", item_id: item.id, output_index: idx, content_index: 0, part }),
      this.frame({ type: "response.output_item.done", output_index: idx, item }),
    ];
  }

  private async finish(): Promise<string[]> {
    const frames: string[] = [];
    for (const run of this.runs.values()) {
      if (!run.open) continue;
      const r = await run.guard.flush();
      if (r.cut) return this.cut(r.cut);
      run.open = false;
      if (r.release) frames.push(this.frame({ ...run.base, delta: r.release }));
    }
    const decision = await this.hooks.finalize(this.summary());
    this.done = true;
    if (decision.deny) return [...frames, ...this.refusal(decision.deny)];
    const removed: ToolCall[] = [];
    for (const [o, h] of this.held) {
      if (h.call?.removed) {
        removed.push(h.call);
        continue;
      }
      const idx = this.mapIndex(o);
      const args = h.call && h.item?.type === "function_call" ? argsOut(h.args, h.call) : h.args;
      const fix = (x: Body): Body => (args === h.args ? x : { ...x, ...(typeof x.arguments === "string" ? { arguments: args } : {}), ...(x.type === "response.function_call_arguments.delta" ? { delta: "" } : {}) });
      const item = fix({ ...h.item });
      this.emitted[idx] = item;
      for (const e of h.events) frames.push(this.frame(fix({ ...e, output_index: idx, ...(e.item ? { item: fix({ ...e.item }) } : {}) })));
    }
    if (removed.length) frames.push(...this.noticeFrames(notice(removed), "completed"));
    const response = { ...this.response, output: this.emitted.filter(Boolean) };
    frames.push(this.frame({ type: "response.completed", response }));
    return frames;
  }
}

function usageBody(u: Usage): Body {
  return { input_tokens: u.input_tokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input_tokens + u.output_tokens };
}
