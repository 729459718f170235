/**
 * Gemini `generateContent` (`POST /v1beta/models/{model}:generateContent`), its streaming twin
 * `:streamGenerateContent?alt=sse` and `:countTokens` — what Gemini CLI and the Google Gen AI
 * SDKs speak when `GOOGLE_GEMINI_BASE_URL` points at the gateway. The model and whether the call
 * streams come from the path, so an adapter is made per request (`geminiRoute`).
 *
 * Request text: `contents[].parts[].text` (user and model turns), `systemInstruction` text,
 * string leaves of `functionResponse.response` (tool output) and of earlier `functionCall.args`.
 * Responses: text parts per candidate pass the stream guard; `functionCall` parts are held until
 * the response-side check and released whole (thought signatures kept), or removed with a notice.
 * Stream events carry no terminator: the upstream closing the body ends the stream.
 */
import type { ToolCall } from "../pipeline/types.ts";
import { SegmentSet, stringLeaves } from "./paths.ts";
import type { SseEvent } from "./sse.ts";
import { parseJson, type StreamedText, type StreamHooks, type StreamTransformer } from "./stream.ts";
import type { TextGuard } from "./stream-guard.ts";
import type { Usage } from "./usage.ts";
import { type Body, notice, stoppedNotice, type ParsedRequest, type ParsedResponse, type WireAdapter, type WireError } from "./wire.ts";

const STATUS: Record<WireError["kind"], string> = {
  auth: "UNAUTHENTICATED",
  policy: "PERMISSION_DENIED",
  bad_request: "INVALID_ARGUMENT",
  not_found: "NOT_FOUND",
  upstream: "UNAVAILABLE",
  timeout: "DEADLINE_EXCEEDED",
  unavailable: "UNAVAILABLE",
  internal: "INTERNAL",
  rate_limit: "RESOURCE_EXHAUSTED",
  precondition: "FAILED_PRECONDITION",
};

export function geminiErrorBody(e: WireError): Body {
  return { error: { code: e.status, message: e.message, status: STATUS[e.kind], ...(e.code ? { details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: e.code, domain: "tappass" }] } : {}) } };
}

type Action = "generateContent" | "streamGenerateContent" | "countTokens";
const PATH = /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

const LIST = /^\/(v1beta|v1|v1alpha)\/models$/;

/** `GET /v1beta/models` (Gemini's model listing): its API version and an adapter for its errors, or undefined. */
export function geminiListRoute(path: string): { version: string; adapter: WireAdapter } | undefined {
  const m = LIST.exec(path);
  return m ? { version: m[1] as string, adapter: geminiAdapter("_", "generateContent", m[1] as string) } : undefined;
}

/** A Gemini `models` entry for a model id the policy names. */
export const geminiModelEntry = (id: string) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"] });

/**
 * The adapter for a Gemini model path; undefined when the path is not one; an error for a stream
 * asked for as a JSON array (the gateway relays SSE only, as Gemini CLI and the SDKs ask).
 */
export function geminiRoute(path: string, search: URLSearchParams): { adapter: WireAdapter; error?: WireError } | undefined {
  const m = PATH.exec(path);
  if (!m) return undefined;
  const [, version, model, action] = m as unknown as [string, string, string, Action];
  const adapter = geminiAdapter(decodeURIComponent(model), action, version);
  if (action === "streamGenerateContent" && search.get("alt") !== "sse") {
    return { adapter, error: { status: 400, kind: "bad_request", message: "TapPass gateway: streamGenerateContent is relayed as server-sent events only; add ?alt=sse" } };
  }
  return { adapter };
}

const usageOf = (u: Body | undefined): Usage | undefined =>
  u && typeof u === "object" ? { input_tokens: Number(u.promptTokenCount ?? 0), output_tokens: Number(u.candidatesTokenCount ?? 0) + Number(u.thoughtsTokenCount ?? 0) } : undefined;

/** Gemini `parameters` use OpenAPI-style upper-case types ("OBJECT"); JSON Schema wants lower case. */
function lowerTypes(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(lowerTypes);
  if (!s || typeof s !== "object") return s;
  const out: Body = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === "type" && typeof v === "string" ? v.toLowerCase() : lowerTypes(v);
  return out;
}

/** A model function call's id: its own, else where it sits (candidate.part). */
const callId = (fc: Body, k: number, j: number) => (typeof fc.id === "string" && fc.id ? fc.id : `gemini-call-${k}-${j}`);

function geminiAdapter(model: string, action: Action, version: string): WireAdapter {
  const stream = action === "streamGenerateContent";
  return {
    format: "gemini-generate",
    family: "gemini",
    upstreamPath: `/${version}/models/${encodeURIComponent(model)}:${action}${stream ? "?alt=sse" : ""}`,

    parseRequest(body: Body): ParsedRequest {
      const set = new SegmentSet();
      const tool_calls: ToolCall[] = [];
      let chars = 0;
      const add = (path: string, kind: "prompt" | "system" | "tool_output" | "tool_args", text: string, role: string) => {
        chars += text.length;
        set.add({ path, kind, text, role });
      };
      const sys = body.systemInstruction;
      if (typeof sys === "string") add("systemInstruction", "system", sys, "system");
      else if (Array.isArray(sys?.parts)) sys.parts.forEach((p: Body, j: number) => typeof p?.text === "string" && add(`systemInstruction.parts.${j}.text`, "system", p.text, "system"));
      const contents: Body[] = Array.isArray(body.contents) ? body.contents : [];
      contents.forEach((c, i) => {
        const role = c?.role === "model" ? "assistant" : "user";
        const parts: Body[] = Array.isArray(c?.parts) ? c.parts : [];
        parts.forEach((p, j) => {
          const at = `contents.${i}.parts.${j}`;
          if (typeof p?.text === "string") add(`${at}.text`, "prompt", p.text, role);
          if (p?.functionCall && typeof p.functionCall === "object") {
            const fc = p.functionCall as Body;
            tool_calls.push({ id: callId(fc, i, j), name: String(fc.name ?? ""), arguments: fc.args && typeof fc.args === "object" ? fc.args : {}, origin: "history" });
            for (const leaf of stringLeaves(fc.args, `${at}.functionCall.args`)) add(leaf.path, "tool_args", leaf.text, role);
          }
          if (p?.functionResponse && typeof p.functionResponse === "object") {
            for (const leaf of stringLeaves((p.functionResponse as Body).response, `${at}.functionResponse.response`)) add(leaf.path, "tool_output", leaf.text, "tool");
          }
        });
      });
      const tool_schemas: ParsedRequest["tool_schemas"] = {};
      for (const t of Array.isArray(body.tools) ? (body.tools as Body[]) : []) {
        for (const f of Array.isArray(t?.functionDeclarations) ? (t.functionDeclarations as Body[]) : []) {
          if (typeof f?.name !== "string") continue;
          const schema = f.parametersJsonSchema ?? (f.parameters ? lowerTypes(f.parameters) : undefined);
          tool_schemas[f.name] = { description: f.description, inputSchema: schema as Record<string, unknown> | undefined };
        }
      }
      const max = body.generationConfig?.maxOutputTokens;
      return { model, stream, set, tool_calls, tool_schemas, prompt_chars: chars, max_output: typeof max === "number" ? max : action === "countTokens" ? 0 : undefined };
    },

    prepareUpstream() {
      return { clientWantsUsage: true }; // Gemini always reports usageMetadata
    },

    parseResponse(body: Body): ParsedResponse {
      const set = new SegmentSet();
      const tool_calls: ToolCall[] = [];
      const cands: Body[] = Array.isArray(body.candidates) ? body.candidates : [];
      cands.forEach((c, k) => {
        const parts: Body[] = Array.isArray(c?.content?.parts) ? c.content.parts : [];
        parts.forEach((p, j) => {
          if (typeof p?.text === "string") set.add({ path: `candidates.${k}.content.parts.${j}.text`, kind: "response", role: "assistant", text: p.text });
          if (p?.functionCall && typeof p.functionCall === "object") {
            const fc = p.functionCall as Body;
            tool_calls.push({ id: callId(fc, k, j), name: String(fc.name ?? ""), arguments: fc.args && typeof fc.args === "object" ? fc.args : {}, origin: "model" });
          }
        });
      });
      return { set, tool_calls, usage: usageOf(body.usageMetadata) };
    },

    stripToolCalls(body: Body, removed: ToolCall[]): void {
      if (removed.length === 0 || !Array.isArray(body.candidates)) return;
      const ids = new Set(removed.map((t) => t.id));
      (body.candidates as Body[]).forEach((c, k) => {
        const parts: Body[] = Array.isArray(c?.content?.parts) ? c.content.parts : [];
        const gone = parts.filter((p, j) => p?.functionCall && ids.has(callId(p.functionCall, k, j)));
        if (gone.length === 0) return;
        const kept = parts.filter((p) => !gone.includes(p));
        const goneIds = new Set(gone.map((p) => callId(p.functionCall, k, parts.indexOf(p))));
        const calls = removed.filter((t) => t.id !== undefined && goneIds.has(t.id));
        c.content.parts = [...kept, { text: `${kept.some((p) => typeof p?.text === "string" && p.text) ? "\n\n" : ""}${notice(calls)}` }];
      });
    },

    setToolArgs(body: Body, t: ToolCall): void {
      (body.candidates ?? []).forEach((c: Body, k: number) => {
        (c?.content?.parts ?? []).forEach((p: Body, j: number) => {
          if (p?.functionCall && callId(p.functionCall, k, j) === t.id) p.functionCall.args = t.arguments;
        });
      });
    },

    errorBody: geminiErrorBody,

    newStream(hooks: StreamHooks): StreamTransformer {
      return new GeminiStream(hooks);
    },
  };
}

interface Candidate {
  guard: TextGuard;
  thoughts: TextGuard;
  /** A thought signature that came on a text part, carried to the next part sent. */
  signature?: string;
  calls: Array<{ part: Body; call: ToolCall }>;
  finish?: string;
  extra: Body;
}

/** The client-side stream: SSE `data:` events, each a GenerateContentResponse. */
class GeminiStream implements StreamTransformer {
  done = false;
  private cands = new Map<number, Candidate>();
  private template: Body = {};
  private usage: Body | undefined;

  constructor(private readonly hooks: StreamHooks) {}

  private cand(i: number): Candidate {
    let c = this.cands.get(i);
    if (!c) this.cands.set(i, (c = { guard: this.hooks.guard(), thoughts: this.hooks.guard(), calls: [], extra: {} }));
    return c;
  }

  private event(candidates: Body[], extra: Body = {}): string {
    const { candidates: _c, usageMetadata: _u, ...rest } = this.template;
    return `data: ${JSON.stringify({ candidates, ...rest, ...extra })}\r\n\r\n`;
  }

  private textPart(c: Candidate, text: string, thought = false): Body {
    const p: Body = thought ? { text, thought: true } : { text };
    if (c.signature && !thought) {
      p.thoughtSignature = c.signature;
      c.signature = undefined;
    }
    return p;
  }

  async onEvent(ev: SseEvent): Promise<string[]> {
    if (this.done) return [];
    const d = parseJson(ev.data);
    if (!d) return [];
    if (d.error) {
      this.done = true;
      await this.hooks.finalize(this.summary({ step: "upstream", reason: String((d.error as Body).message ?? "upstream error") }));
      return [`data: ${JSON.stringify(d)}\r\n\r\n`];
    }
    const { candidates, usageMetadata, ...rest } = d as Body;
    this.template = { ...this.template, ...rest };
    if (usageMetadata) this.usage = usageMetadata;
    const out: Body[] = [];
    for (const cd of Array.isArray(candidates) ? (candidates as Body[]) : []) {
      const idx = Number(cd.index ?? 0);
      const c = this.cand(idx);
      const parts: Body[] = [];
      for (const p of Array.isArray(cd.content?.parts) ? (cd.content.parts as Body[]) : []) {
        if (p?.functionCall && typeof p.functionCall === "object") {
          const fc = p.functionCall as Body;
          c.calls.push({ part: p, call: { id: callId(fc, idx, c.calls.length), name: String(fc.name ?? ""), arguments: fc.args && typeof fc.args === "object" ? fc.args : {}, origin: "model" } });
          continue;
        }
        if (typeof p?.text === "string") {
          if (typeof p.thoughtSignature === "string" && !p.thought) c.signature = p.thoughtSignature;
          const g = p.thought ? c.thoughts : c.guard;
          const r = await g.push(p.text);
          if (r.cut) return this.cut(r.cut);
          if (r.release) parts.push(this.textPart(c, r.release, !!p.thought));
          continue;
        }
        parts.push(p); // inline data, code execution parts: passed on as they are
      }
      const { content: _ct, finishReason, index: _i, ...candExtra } = cd;
      if (finishReason) {
        c.finish = String(finishReason);
        c.extra = candExtra;
        for (const g of [c.thoughts, c.guard]) {
          const r = await g.flush();
          if (r.cut) return this.cut(r.cut);
          if (r.release) parts.push(this.textPart(c, r.release, g === c.thoughts));
        }
      }
      if (parts.length) out.push({ content: { role: "model", parts }, index: idx });
    }
    return out.length ? [this.event(out)] : [];
  }

  async onEnd(err?: Error): Promise<string[]> {
    if (this.done) return [];
    if (!err) return this.finish();
    this.done = true;
    await this.hooks.finalize(this.summary({ step: "upstream", reason: err.message }));
    const timeout = /did not answer|silent|timed out/.test(err.message);
    return [`data: ${JSON.stringify(geminiErrorBody({ status: timeout ? 504 : 502, kind: timeout ? "timeout" : "upstream", message: `TapPass gateway: ${err.message}` }))}\r\n\r\n`];
  }

  private summary(cut?: { step: string; reason: string }) {
    const texts: StreamedText[] = [];
    const tool_calls: ToolCall[] = [];
    for (const [k, c] of this.cands) {
      texts.push({ path: `candidates.${k}.content.parts.0.text`, text: c.guard.raw + c.guard.held });
      if (c.thoughts.raw || c.thoughts.held) texts.push({ path: `candidates.${k}.content.thoughts`, text: c.thoughts.raw + c.thoughts.held });
      for (const x of c.calls) tool_calls.push(x.call);
    }
    return { texts, tool_calls, usage: usageOf(this.usage), ...(cut ? { cut } : {}) };
  }

  private async cut(c: { step: string; reason: string }): Promise<string[]> {
    this.done = true;
    await this.hooks.finalize(this.summary(c));
    return this.refusal(c);
  }

  private refusal(c: { step: string; reason: string }): string[] {
    const idxs = this.cands.size ? [...this.cands.keys()] : [0];
    const text = stoppedNotice(c);
    return [this.event(idxs.map((i) => ({ content: { role: "model", parts: [{ text }] }, finishReason: "SAFETY", index: i })), this.usage ? { usageMetadata: this.usage } : {})];
  }

  private async finish(): Promise<string[]> {
    const out: string[] = [];
    for (const [i, c] of this.cands) {
      if (c.finish) continue;
      for (const g of [c.thoughts, c.guard]) {
        const r = await g.flush();
        if (r.cut) return this.cut(r.cut);
        if (r.release) out.push(this.event([{ content: { role: "model", parts: [this.textPart(c, r.release, g === c.thoughts)] }, index: i }]));
      }
    }
    const decision = await this.hooks.finalize(this.summary());
    this.done = true;
    if (decision.deny) return [...out, ...this.refusal(decision.deny)];
    const last: Body[] = [];
    for (const [i, c] of this.cands) {
      const parts: Body[] = [];
      const removed: ToolCall[] = [];
      for (const x of c.calls) {
        if (x.call.removed) removed.push(x.call);
        else parts.push({ ...x.part, functionCall: { ...x.part.functionCall, args: x.call.arguments } });
      }
      if (removed.length) parts.push({ text: `${c.guard.out ? "\n\n" : ""}${notice(removed)}` });
      if (c.signature) parts.push({ text: "", thoughtSignature: c.signature });
      last.push({ ...(parts.length ? { content: { role: "model", parts } } : {}), finishReason: c.finish ?? "STOP", index: i, ...c.extra });
    }
    if (last.length === 0) last.push({ finishReason: "STOP", index: 0 });
    out.push(this.event(last, this.usage ? { usageMetadata: this.usage } : {}));
    return out;
  }
}
