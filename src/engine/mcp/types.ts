/**
 * The broker's moving parts: a Channel is one connection to an MCP server (a child process
 * over stdio, an HTTP session, stateless HTTP); a ClientPeer is one client connected to the
 * broker; the Governor decides what a client may see and call (./govern.ts).
 */
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.ts";
import type { Era, ServerIdentity } from "./protocol.ts";

export interface Channel {
  /** The server's name for policy, discovery and audit (registered name, or serverInfo.name). */
  server: string;
  /** What the upstream speaks, once known. */
  era: Era | "unknown";
  /** Set when the handshake-era `initialize` has completed on this channel (by a client or the broker). */
  identity?: ServerIdentity;
  /** Messages arrive tagged with the request whose stream carried them (HTTP); on stdio nothing is. */
  readonly relatesMessages?: boolean;
  /** Deliver a message upstream. Failures come back as error responses through onmessage. */
  send(msg: JsonRpcMessage): void;
  /** Set by the broker. `related`: the upstream request id whose response stream carried this message. */
  onmessage: (msg: JsonRpcMessage, related?: JsonRpcId) => void;
  close(): Promise<void>;
}

export interface ClientPeer {
  readonly id: string;
  /** The era the client speaks (from its first request). */
  era?: Era;
  channel: Channel;
  /** Capability token the client presented (HTTP Authorization: Bearer). */
  token?: string;
  /** What a handshake-era client declared in `initialize` (sent as `_meta` to a stateless-era server). */
  handshake?: { protocolVersion: string; capabilities: Record<string, unknown>; clientInfo: Record<string, unknown> };
  /** Deliver to the client; `related` is the client request this message belongs to. */
  send(msg: JsonRpcMessage, related?: JsonRpcId): void;
}

export interface Tool {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The governed side of one tools/call. */
export interface CallGate {
  /** Set when the call is refused: the isError tool result the client gets instead. */
  denied?: Record<string, unknown>;
  /** The arguments to forward (rewritten when a step redacted them). */
  args: Record<string, unknown>;
  /** The input responses to forward, likewise (when the call carried any). */
  inputResponses?: Record<string, unknown>;
  /** Inspect the result (indirect injection, secrets, PII); returns what the client gets. Writes the audit row. */
  after(result: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * The call failed upstream (JSON-RPC error), or the client cancelled it (code -32800; `forwarded`
   * says whether it had reached the server): write the audit row with that outcome.
   */
  fail(error: { code: number; message: string }, opts?: { forwarded?: boolean }): Promise<void>;
  /**
   * A stateless-era server answered with `input_required` and the broker will ask a handshake-era
   * client each embedded request itself: the requests (a sampling prompt for the client's model,
   * an elicitation message for its user) are server output, inspected like a result (indirect
   * injection, secrets, PII restored from this call's placeholders) in a governed exchange with
   * an audit row of its own. The result to ask from, or why it is withheld (the call is then
   * denied: after() answers with the refusal and the call's row records it).
   */
  inspectInput?(result: Record<string, unknown>): Promise<{ result: Record<string, unknown> } | { refused: string }>;
}

export interface CallRequest {
  server: string;
  name: string;
  args: Record<string, unknown>;
  /** The tool as the server advertises it (undefined when it does not list it). */
  tool: Tool | undefined;
  session_id: string;
  /** Capability token presented by the client, if any. */
  token?: string;
  /**
   * A stateless client's answers to the server's input requests (2026-07-28 retry): what its user
   * typed or its model wrote, going to the server — scanned like the arguments.
   */
  inputResponses?: Record<string, unknown>;
}

export interface Governor {
  /** The tools a client may see: the same decision that gates calls, applied to one page of tools/list. */
  filterTools(tools: Tool[], server: string): Tool[];
  /** Gate one tools/call (before_call; the returned gate runs after_call). */
  call(req: CallRequest): Promise<CallGate>;
  /**
   * A client's answer to a server's request (an elicitation's form, a sampling result, roots) on
   * its way to the server: scanned like arguments (secrets, PII…), audited when it carries text.
   * The answer to send (redactions written back), or why it is withheld.
   */
  answer?(req: AnswerRequest): Promise<{ result: Record<string, unknown> } | { refused: string }>;
}

export interface AnswerRequest {
  server: string;
  /** The server's request the answer is for (elicitation/create, sampling/createMessage, roots/list). */
  method: string;
  result: Record<string, unknown>;
  session_id: string;
  token?: string;
}
