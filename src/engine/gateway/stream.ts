/**
 * Streaming plumbing shared by the wire formats: the hooks a transformer calls (a text guard
 * per run of text, the final after_call over the whole answer), and `relay`, which reads the
 * upstream SSE body, feeds each event through the transformer, and writes the re-framed events
 * to the client. When the transformer has emitted its terminal events (normal end or a policy
 * cut) the upstream read is aborted; when the upstream fails mid-stream the transformer closes
 * the client stream in its own grammar.
 */
import type { ToolCall } from "../pipeline/types.ts";
import { type SseEvent, SseParser } from "./sse.ts";
import type { TextGuard } from "./stream-guard.ts";
import type { UpstreamFailure, UpstreamResponse } from "./upstreams.ts";
import type { Usage } from "./usage.ts";

export interface StreamedText {
  /** Where the text sits in the final response, e.g. "content.0.text". */
  path: string;
  text: string;
  kind?: "response" | "tool_args";
}

export interface StreamSummary {
  texts: StreamedText[];
  /** Tool calls assembled from deltas (the pipeline may mark some `removed`). */
  tool_calls: ToolCall[];
  usage?: Usage;
  /** Set when a guard cut the stream. */
  cut?: { step: string; reason: string };
}

export interface FinalDecision {
  /** The call as a whole is denied: drop everything still held, close with a refusal. */
  deny?: { step: string; reason: string };
}

export interface StreamHooks {
  /** A fresh guard for one run of text. `signed` text (thinking) can't be rewritten: rewrites cut. */
  guard(opts?: { signed?: boolean }): TextGuard;
  /** The upstream finished (or was cut): run the response-side pipeline over the whole answer. */
  finalize(summary: StreamSummary): Promise<FinalDecision>;
}

export interface StreamTransformer {
  /** One upstream event in; SSE frames for the client out. */
  onEvent(ev: SseEvent): Promise<string[]>;
  /** The upstream body ended, or failed (err). Frames that close the client stream cleanly. */
  onEnd(err?: UpstreamFailure | Error): Promise<string[]>;
  /** True once the terminal events were emitted; nothing more is read from upstream. */
  readonly done: boolean;
}

const enc = new TextEncoder();

/**
 * Relay an upstream SSE body to the client through `t`. `onClose` runs exactly once, after the
 * last frame (or when the client goes away).
 */
export function relay(up: UpstreamResponse, t: StreamTransformer, onClose: (info: { clientGone: boolean; error?: Error }) => Promise<void> | void): ReadableStream<Uint8Array> {
  const parser = new SseParser();
  let closed = false;
  const close = async (info: { clientGone: boolean; error?: Error }) => {
    if (closed) return;
    closed = true;
    try {
      await onClose(info);
    } catch {
      /* the audit path reports its own failures */
    }
  };
  const iterator = up.body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (t.done) {
            up.abort();
            controller.close();
            await close({ clientGone: false });
            return;
          }
          let next: IteratorResult<Uint8Array>;
          try {
            next = await iterator.next();
          } catch (e) {
            const frames = await t.onEnd(e as Error);
            if (frames.length) controller.enqueue(enc.encode(frames.join("")));
            controller.close();
            await close({ clientGone: false, error: e as Error });
            return;
          }
          if (next.done) {
            const frames: string[] = [];
            for (const ev of parser.end()) frames.push(...(await t.onEvent(ev)));
            if (!t.done) frames.push(...(await t.onEnd()));
            if (frames.length) controller.enqueue(enc.encode(frames.join("")));
            controller.close();
            await close({ clientGone: false });
            return;
          }
          // frames go out as soon as an event yields them, so the first text is not held behind
          // the inspection of every later event that arrived in the same read
          let sent = false;
          for (const ev of parser.push(next.value)) {
            const frames = await t.onEvent(ev);
            if (frames.length) {
              controller.enqueue(enc.encode(frames.join("")));
              sent = true;
            }
            if (t.done) break;
          }
          if (sent) return; // let the client pull again (back-pressure)
        }
      } catch (e) {
        up.abort();
        try {
          controller.error(e);
        } catch {}
        await close({ clientGone: false, error: e as Error });
      }
    },
    async cancel() {
      up.abort();
      await close({ clientGone: true });
    },
  });
}

export function parseJson(data: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
