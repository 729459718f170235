/**
 * JSON-RPC 2.0 as MCP uses it: the message shapes, guards and error codes the broker routes on.
 * The broker passes messages through as raw objects (unknown fields kept), so new protocol
 * features flow through without the broker knowing them.
 */
export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResult {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: Record<string, unknown>;
}
export interface JsonRpcError {
  jsonrpc: "2.0";
  id: JsonRpcId | null;
  error: { code: number; message: string; data?: unknown };
}
export type JsonRpcResponse = JsonRpcResult | JsonRpcError;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** 2026-07-28: HTTP headers disagree with the body (HTTP 400). */
export const HEADER_MISMATCH = -32020;
/** 2026-07-28: the requested protocol version is not supported. */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const isRequest = (m: JsonRpcMessage): m is JsonRpcRequest => "method" in m && "id" in m && m.id !== undefined && m.id !== null;
export const isNotification = (m: JsonRpcMessage): m is JsonRpcNotification => "method" in m && !("id" in m && m.id !== undefined && m.id !== null);
export const isResponse = (m: JsonRpcMessage): m is JsonRpcResponse => !("method" in m) && ("result" in m || "error" in m);
export const isError = (m: JsonRpcMessage): m is JsonRpcError => isResponse(m) && "error" in m;

/** Validate the envelope of one decoded message; returns an error string when it is not JSON-RPC 2.0. */
export function checkMessage(v: unknown): string | undefined {
  if (!isObj(v)) return "a JSON-RPC message must be an object";
  if (v.jsonrpc !== "2.0") return 'jsonrpc must be "2.0"';
  if ("method" in v) {
    if (typeof v.method !== "string") return "method must be a string";
    if ("params" in v && v.params !== undefined && !isObj(v.params) && !Array.isArray(v.params)) return "params must be an object";
    if ("id" in v && v.id !== null && typeof v.id !== "string" && typeof v.id !== "number") return "id must be a string or a number";
    return undefined;
  }
  if ("result" in v || "error" in v) return undefined;
  return "not a request, notification or response";
}

/**
 * Parse one frame (a line on stdio, an HTTP body, an SSE data field): one message or a batch.
 * Its messages, or what is wrong with it: `code` is PARSE_ERROR for text that is not
 * JSON, INVALID_REQUEST for JSON that is not a valid message — and `id` that message's id when
 * it has one, so the answer reaches the request that waits for it (JSON-RPC 2.0, section 5).
 */
export function parseFrame(text: string): { messages: JsonRpcMessage[]; error?: string; code?: number; id?: JsonRpcId | null } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { messages: [], error: `invalid JSON: ${(e as Error).message}`, code: PARSE_ERROR, id: null };
  }
  const list = Array.isArray(v) ? v : [v];
  const messages: JsonRpcMessage[] = [];
  for (const m of list) {
    const bad = checkMessage(m);
    if (bad) {
      const id = isObj(m) && (typeof m.id === "string" || typeof m.id === "number") ? m.id : null;
      return { messages: [], error: bad, code: INVALID_REQUEST, id };
    }
    messages.push(m as JsonRpcMessage);
  }
  return { messages };
}

export const errorResponse = (id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcError => ({
  jsonrpc: "2.0",
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

export const resultResponse = (id: JsonRpcId, result: Record<string, unknown>): JsonRpcResult => ({ jsonrpc: "2.0", id, result });

export const paramsOf = (m: { params?: unknown }): Obj => (isObj(m.params) ? m.params : {});
export { isObj };
