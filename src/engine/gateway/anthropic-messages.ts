/**
 * Anthropic Messages (`POST /v1/messages`, any query string such as `?beta=true`).
 * Request text: `system` (string or text blocks), every message's text blocks (a
 * `role: "system"` entry inside `messages`, as Claude Code sends, counts as system text),
 * tool_result content (tool output: where indirect injection arrives) and the string leaves
 * of earlier tool_use inputs. Streams are re-framed event by event: text deltas pass the
 * guard, tool_use blocks are assembled from input_json_delta and released only after the
 * response-side pipeline has checked them, message_delta/message_stop close the stream.
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
  policy: "permission_error",
  bad_request: "invalid_request_error",
  not_found: "not_found_error",
  upstream: "api_error",
  timeout: "timeout_error",
  unavailable: "overloaded_error",
  precondition: "api_error",
  internal: "api_error",
  rate_limit: "rate_limit_error",
};

function textOfBlocks(v: unknown): string {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) return "";
  return v.map((b) => (b && typeof b === "object" && typeof (b as { text?: unknown }).text === "string" ? (b as { text: string }).text : "")).join("");
}

export const anthropicMessages: WireAdapter = {
  format: "anthropic-messages",
  family: "anthropic",
  upstreamPath: "/v1/messages",

  parseRequest(body: Body): ParsedRequest {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    let chars = 0;
    const addText = (path: string, kind: "prompt" | "system" | "tool_output" | "tool_args", text: string, role?: string) => {
      chars += text.length;
      set.add({ path, kind, text, ...(role ? { role } : {}) });
    };
    if (typeof body.system === "string") addText("system", "system", body.system, "system");
    else if (Array.isArray(body.system)) {
      body.system.forEach((b: Body, i: number) => {
        if (b?.type === "text" && typeof b.text === "string") addText(`system.${i}.text`, "system", b.text, "system");
      });
    }
    const msgs: Body[] = Array.isArray(body.messages) ? body.messages : [];
    msgs.forEach((m, i) => {
      const role = typeof m?.role === "string" ? m.role : "user";
      const kind = role === "system" ? "system" : "prompt";
      if (typeof m?.content === "string") {
        addText(`messages.${i}.content`, kind, m.content, role);
        return;
      }
      if (!Array.isArray(m?.content)) return;
      m.content.forEach((b: Body, j: number) => {
        const base = `messages.${i}.content.${j}`;
        if (b?.type === "text" && typeof b.text === "string") addText(`${base}.text`, kind, b.text, role);
        else if (b?.type === "tool_use") {
          tool_calls.push({ id: b.id, name: String(b.name ?? ""), arguments: parseArgs(b.input), origin: "history" });
          for (const leaf of stringLeaves(b.input, `${base}.input`)) addText(leaf.path, "tool_args", leaf.text, role);
        } else if (b?.type === "tool_result") {
          if (typeof b.content === "string") addText(`${base}.content`, "tool_output", b.content, "tool");
          else if (Array.isArray(b.content)) {
            b.content.forEach((c: Body, k: number) => {
              if (c?.type === "text" && typeof c.text === "string") addText(`${base}.content.${k}.text`, "tool_output", c.text, "tool");
            });
          }
        } else if (b?.type === "document" && b.source?.type === "text" && typeof b.source.data === "string") {
          addText(`${base}.source.data`, "tool_output", b.source.data, role);
        }
      });
    });
    const tool_schemas: ParsedRequest["tool_schemas"] = {};
    if (Array.isArray(body.tools)) for (const t of body.tools) if (t && typeof t.name === "string") tool_schemas[t.name] = { description: t.description, inputSchema: t.input_schema };
    return {
      model: typeof body.model === "string" ? body.model : "",
      stream: body.stream === true,
      set,
      tool_calls,
      tool_schemas,
      prompt_chars: chars,
      max_output: typeof body.max_tokens === "number" ? body.max_tokens : undefined,
    };
  },

  prepareUpstream() {
    return { clientWantsUsage: true };
  },

  parseResponse(body: Body): ParsedResponse {
    const set = new SegmentSet();
    const tool_calls: ToolCall[] = [];
    const content: Body[] = Array.isArray(body.content) ? body.content : [];
    content.forEach((b, j) => {
      if (b?.type === "text" && typeof b.text === "string") set.add({ path: `content.${j}.text`, kind: "response", role: "assistant", text: b.text });
      else if (b?.type === "thinking" && typeof b.thinking === "string") set.add({ path: `content.${j}.thinking`, kind: "response", role: "assistant", text: b.thinking });
      else if (b?.type === "tool_use") {
        tool_calls.push({ id: b.id, name: String(b.name ?? ""), arguments: parseArgs(b.input), origin: "model" });
      }
    });
    const u = body.usage;
    const usage: Usage | undefined = u ? { input_tokens: (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0), output_tokens: u.output_tokens ?? 0 } : undefined;
    return { set, tool_calls, usage };
  },

  stripToolCalls(body: Body, removed: ToolCall[]): void {
    if (removed.length === 0 || !Array.isArray(body.content)) return;
    const ids = new Set(removed.map((t) => t.id));
    body.content = body.content.filter((b: Body) => !(b?.type === "tool_use" && ids.has(b.id)));
    body.content.push({ type: "text", text: notice(removed) });
    if (body.stop_reason === "tool_use" && !body.content.some((b: Body) => b?.type === "tool_use")) body.stop_reason = "end_turn";
  },

  setToolArgs(body: Body, t: ToolCall): void {
    for (const b of body.content ?? []) if (b?.type === "tool_use" && b.id === t.id) b.input = t.arguments;
  },

  errorBody(e: WireError): Body {
    return { type: "error", error: { type: ERROR_TYPE[e.kind], message: e.message } };
  },

  newStream(hooks: StreamHooks): StreamTransformer {
    return new AnthropicStream(hooks);
  },
};

interface Block {
  type: string;
  /** Index the client sees (blocks may be dropped, so indexes are re-numbered). */
  out?: number;
  guard?: TextGuard;
  tool?: { start: Body; json: string; call: ToolCall };
}

class AnthropicStream implements StreamTransformer {
  done = false;
  private blocks = new Map<number, Block>();
  private nextOut = 0;
  private openText: number | undefined;
  private heldTools: number[] = [];
  private messageDelta: Body | undefined;
  private usage: Usage = { input_tokens: 0, output_tokens: 0 };
  private sawUsage = false;
  private started = false;
  private texts: Array<{ key: number; guard: TextGuard }> = [];

  constructor(private readonly hooks: StreamHooks) {}

  async onEvent(ev: SseEvent): Promise<string[]> {
    if (this.done) return [];
    const d = parseJson(ev.data);
    if (!d) return [];
    const type = String(d.type ?? ev.event ?? "");
    switch (type) {
      case "message_start": {
        this.started = true;
        const u = (d.message as Body | undefined)?.usage;
        if (u) this.addUsage(u);
        return [sseFrame(d, "message_start")];
      }
      case "ping":
        return [sseFrame(d, "ping")];
      case "content_block_start": {
        const index = Number(d.index);
        const cb = (d.content_block ?? {}) as Body;
        const block: Block = { type: String(cb.type) };
        this.blocks.set(index, block);
        if (cb.type === "tool_use") {
          block.tool = { start: cb, json: "", call: { id: cb.id, name: String(cb.name ?? ""), arguments: {}, origin: "model" } };
          this.heldTools.push(index);
          return [];
        }
        block.out = this.nextOut++;
        const out: string[] = [];
        if (cb.type === "text" || cb.type === "thinking") {
          block.guard = this.hooks.guard({ signed: cb.type === "thinking" });
          this.texts.push({ key: index, guard: block.guard });
          this.openText = index;
          const initial = typeof cb.text === "string" ? cb.text : typeof cb.thinking === "string" ? cb.thinking : "";
          out.push(sseFrame({ ...d, index: block.out, content_block: cb.type === "text" ? { ...cb, text: "" } : { ...cb, thinking: "" } }, "content_block_start"));
          if (initial) return [...out, ...(await this.text(block, initial, cb.type === "text" ? "text_delta" : "thinking_delta"))];
          return out;
        }
        return [sseFrame({ ...d, index: block.out }, "content_block_start")];
      }
      case "content_block_delta": {
        const index = Number(d.index);
        const block = this.blocks.get(index);
        const delta = (d.delta ?? {}) as Body;
        if (!block) return [];
        if (block.tool) {
          if (delta.type === "input_json_delta" && typeof delta.partial_json === "string") block.tool.json += delta.partial_json;
          return [];
        }
        if (block.guard && delta.type === "text_delta" && typeof delta.text === "string") return this.text(block, delta.text, "text_delta");
        if (block.guard && delta.type === "thinking_delta" && typeof delta.thinking === "string") return this.text(block, delta.thinking, "thinking_delta");
        return [sseFrame({ ...d, index: block.out }, "content_block_delta")];
      }
      case "content_block_stop": {
        const index = Number(d.index);
        const block = this.blocks.get(index);
        if (!block || block.tool) return [];
        const out: string[] = [];
        if (block.guard) {
          const r = await block.guard.flush();
          if (r.cut) return this.cut(r.cut);
          if (r.release) out.push(this.deltaFrame(block, r.release, block.type === "thinking" ? "thinking_delta" : "text_delta"));
          if (this.openText === index) this.openText = undefined;
        }
        out.push(sseFrame({ ...d, index: block.out }, "content_block_stop"));
        return out;
      }
      case "message_delta": {
        if (d.usage) this.addUsage(d.usage as Body);
        this.messageDelta = d;
        return [];
      }
      case "message_stop":
        return this.finish();
      case "error":
        this.done = true;
        await this.hooks.finalize(this.summary({ step: "upstream", reason: String((d.error as Body | undefined)?.message ?? "upstream error") }));
        return [sseFrame(d, "error")];
      default:
        return [sseFrame(d, ev.event ?? type)];
    }
  }

  async onEnd(err?: Error): Promise<string[]> {
    if (this.done) return [];
    if (!err && this.messageDelta) return this.finish();
    this.done = true;
    const reason = err ? err.message : "the upstream closed the stream before message_stop";
    await this.hooks.finalize(this.summary({ step: "upstream", reason }));
    const frames = this.closeOpenText();
    return [...frames, sseFrame({ type: "error", error: { type: err && /did not answer|silent|timed out/.test(err.message) ? "timeout_error" : "api_error", message: `TapPass gateway: ${reason}` } }, "error")];
  }

  private addUsage(u: Body): void {
    this.sawUsage = true;
    const input = (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
    if (input > this.usage.input_tokens) this.usage.input_tokens = input;
    if (typeof u.output_tokens === "number" && u.output_tokens > this.usage.output_tokens) this.usage.output_tokens = u.output_tokens;
  }

  private deltaFrame(block: Block, text: string, kind: "text_delta" | "thinking_delta"): string {
    const delta = kind === "text_delta" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text };
    return sseFrame({ type: "content_block_delta", index: block.out, delta }, "content_block_delta");
  }

  private async text(block: Block, text: string, kind: "text_delta" | "thinking_delta"): Promise<string[]> {
    const r = await (block.guard as TextGuard).push(text);
    if (r.cut) return this.cut(r.cut);
    return r.release ? [this.deltaFrame(block, r.release, kind)] : [];
  }

  private summary(cut?: { step: string; reason: string }) {
    const texts: StreamedText[] = this.texts.map(({ key, guard }) => ({ path: `content.${key}.text`, text: guard.raw + guard.held }));
    const tool_calls: ToolCall[] = [];
    for (const i of this.heldTools) {
      const t = (this.blocks.get(i) as Block).tool as NonNullable<Block["tool"]>;
      t.call.arguments = parseArgs(t.json);
      tool_calls.push(t.call);
    }
    return { texts, tool_calls, usage: this.sawUsage ? { ...this.usage } : undefined, ...(cut ? { cut } : {}) };
  }

  private closeOpenText(extra?: string): string[] {
    const out: string[] = [];
    if (this.openText !== undefined) {
      const b = this.blocks.get(this.openText) as Block;
      if (extra && b.type === "text") out.push(this.deltaFrame(b, extra, "text_delta"));
      out.push(sseFrame({ type: "content_block_stop", index: b.out }, "content_block_stop"));
      this.openText = undefined;
    } else if (extra) {
      const idx = this.nextOut++;
      out.push(sseFrame({ type: "content_block_start", index: idx, content_block: { type: "text", text: "" } }, "content_block_start"));
      out.push(sseFrame({ type: "content_block_delta", index: idx, delta: { type: "text_delta", text: extra } }, "content_block_delta"));
      out.push(sseFrame({ type: "content_block_stop", index: idx }, "content_block_stop"));
    }
    return out;
  }

  /** A guard fired: close what is open, say why, end the message as a refusal. */
  private async cut(c: { step: string; reason: string }): Promise<string[]> {
    this.done = true;
    await this.hooks.finalize(this.summary(c));
    const out = this.started ? [] : [sseFrame({ type: "message_start", message: { id: "msg_tappass", type: "message", role: "assistant", model: "", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } }, "message_start")];
    out.push(...this.closeOpenText(stoppedNotice(c)));
    out.push(sseFrame({ type: "message_delta", delta: { stop_reason: "refusal", stop_sequence: null }, usage: { output_tokens: this.usage.output_tokens } }, "message_delta"));
    out.push(sseFrame({ type: "message_stop" }, "message_stop"));
    return out;
  }

  /** message_stop: flush text, check the whole answer, release allowed tool_use blocks, close. */
  private async finish(): Promise<string[]> {
    const out: string[] = [];
    for (const { guard } of this.texts) {
      const r = await guard.flush();
      if (r.cut) return this.cut(r.cut);
    }
    out.push(...this.closeOpenText());
    const summary = this.summary();
    const decision = await this.hooks.finalize(summary);
    this.done = true;
    if (decision.deny) {
      out.push(...this.closeOpenText(stoppedNotice(decision.deny)));
      out.push(sseFrame({ type: "message_delta", delta: { stop_reason: "refusal", stop_sequence: null }, usage: { output_tokens: this.usage.output_tokens } }, "message_delta"));
      out.push(sseFrame({ type: "message_stop" }, "message_stop"));
      return out;
    }
    const removed = summary.tool_calls.filter((t) => t.removed);
    let released = 0;
    for (const i of this.heldTools) {
      const b = this.blocks.get(i) as Block;
      const t = b.tool as NonNullable<Block["tool"]>;
      if (t.call.removed) continue;
      const idx = this.nextOut++;
      released++;
      out.push(sseFrame({ type: "content_block_start", index: idx, content_block: { ...t.start, input: {} } }, "content_block_start"));
      out.push(sseFrame({ type: "content_block_delta", index: idx, delta: { type: "input_json_delta", partial_json: argsOut(t.json, t.call) } }, "content_block_delta"));
      out.push(sseFrame({ type: "content_block_stop", index: idx }, "content_block_stop"));
    }
    if (removed.length) out.push(...this.closeOpenText(notice(removed)));
    const md = (this.messageDelta ?? { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: this.usage.output_tokens } }) as Body;
    if (removed.length && released === 0 && md.delta?.stop_reason === "tool_use") md.delta = { ...md.delta, stop_reason: "end_turn" };
    out.push(sseFrame(md, "message_delta"));
    out.push(sseFrame({ type: "message_stop" }, "message_stop"));
    return out;
  }
}

export { textOfBlocks };
