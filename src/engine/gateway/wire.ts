/**
 * What every wire format adapter (openai-chat.ts, openai-responses.ts, anthropic-messages.ts,
 * gemini-generate.ts)
 * provides to the server: read a request into pipeline segments and tool calls, write the
 * pipeline's rewrites back, do the same for a whole response, frame errors the way the
 * client's SDK parses them, and build the streaming transformer for its event grammar.
 */
import type { TextSegment, ToolCall } from "../pipeline/types.ts";
import type { SegmentSet } from "./paths.ts";
import type { StreamHooks, StreamTransformer } from "./stream.ts";
import type { Usage } from "./usage.ts";

export type WireFormat = "openai-chat" | "openai-responses" | "anthropic-messages" | "gemini-generate";
export type Family = "openai" | "anthropic" | "gemini";

// biome-ignore lint/suspicious/noExplicitAny: wire messages are arbitrary JSON, kept as-is
export type Body = Record<string, any>;

export interface ParsedRequest {
  model: string;
  stream: boolean;
  set: SegmentSet;
  tool_calls: ToolCall[];
  tool_schemas: Record<string, { description?: string; inputSchema?: Record<string, unknown> }>;
  /** Characters of prompt text (for the token estimate). */
  prompt_chars: number;
  max_output?: number;
}

export interface ParsedResponse {
  set: SegmentSet;
  tool_calls: ToolCall[];
  usage?: Usage;
}

export type ErrorKind = "auth" | "policy" | "bad_request" | "not_found" | "upstream" | "timeout" | "unavailable" | "internal" | "rate_limit" | "precondition";

export interface WireError {
  status: number;
  kind: ErrorKind;
  message: string;
  /** For policy denials: the step that denied (OpenAI's error.code). */
  code?: string;
}

export interface WireAdapter {
  format: WireFormat;
  family: Family;
  /** Path under the upstream base, e.g. "/v1/messages". */
  upstreamPath: string;
  parseRequest(body: Body): ParsedRequest;
  /**
   * Adjust the upstream request (e.g. ask for streamed usage). Returns facts the stream
   * transformer needs, e.g. whether the client itself asked for usage.
   */
  prepareUpstream(body: Body, stream: boolean): { clientWantsUsage: boolean; /** the body was changed (else the client's bytes go upstream as they came) */ changed?: boolean };
  parseResponse(body: Body): ParsedResponse;
  /** Remove tool calls marked `removed`; add a notice the client can read. */
  stripToolCalls(body: Body, removed: ToolCall[]): void;
  /** A step rewrote a model tool call's arguments (redaction): write them into the response body. */
  setToolArgs(body: Body, call: ToolCall): void;
  errorBody(e: WireError): Body;
  newStream(hooks: StreamHooks, opts: { clientWantsUsage: boolean; model: string }): StreamTransformer;
}

/** The text a stream ends with when policy stops it (every wire format writes the same words). */
export function stoppedNotice(c: { step: string; reason: string }): string {
  return `\n\n[TapPass: response stopped by policy (${c.step}): ${c.reason}]`;
}

export function notice(removed: ToolCall[]): string {
  return removed.map((t) => `[TapPass: tool call ${t.name} removed by policy (${t.removed?.step}): ${t.removed?.reason}]`).join("\n");
}

export type { TextSegment };
