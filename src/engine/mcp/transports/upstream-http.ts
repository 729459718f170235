/**
 * Channels to a Streamable HTTP MCP server:
 *  - HttpSessionChannel: the handshake era (2025-03-26 … 2025-11-25): `initialize` opens a
 *    session (`Mcp-Session-Id`), later POSTs carry it and `MCP-Protocol-Version`; a GET stream
 *    carries server-initiated messages; DELETE ends the session.
 *  - HttpStatelessChannel: the stateless era (2026-07-28): each request is its own POST with
 *    `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`.
 * A POST's answer is JSON or an SSE stream; messages on it are tagged with the request id they
 * belong to, so the broker routes them to the client whose request it was.
 * A request in the stateless era (its `_meta` names 2026-07-28 or later) always goes out as a
 * stateless POST with its standard headers, on either channel (the broker talks to a server that
 * refused the handshake through the session channel it first tried), and is cancelled the way
 * that era cancels over HTTP: by closing its response stream.
 */
import {
  errorResponse,
  INTERNAL_ERROR,
  isRequest,
  isResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcRequest,
  isError,
  parseFrame,
} from "../jsonrpc.ts";
import { H_METHOD, H_NAME, H_SESSION, H_VERSION, isModernVersion, MODERN_VERSION, metaVersion, nameOf } from "../protocol.ts";
import type { Channel } from "../types.ts";
import { readSse, type SseCursor } from "./sse.ts";

const ACCEPT = "application/json, text/event-stream";

/** Whether a URL's host is this host (127.0.0.1, [::1] or localhost): all the broker forwards to. */
export function isLoopbackUrl(u: URL): boolean {
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return host === "127.0.0.1" || host === "::1" || host === "localhost";
}

/** Loopback only: the broker never talks to the network beyond this host. */
export function assertLoopbackUrl(url: string): URL {
  const u = new URL(url);
  if (!isLoopbackUrl(u)) throw new Error(`upstream ${url} is not on this host (127.0.0.1, [::1] or localhost)`);
  return u;
}

abstract class HttpChannelBase implements Channel {
  era: Channel["era"] = "unknown";
  readonly relatesMessages = true;
  identity: Channel["identity"];
  onmessage: Channel["onmessage"] = () => {};
  protected closed = false;
  protected readonly aborts = new Set<AbortController>();
  /** in-flight requests by id: a stateless-era cancellation aborts the POST */
  private readonly inflight = new Map<JsonRpcId, AbortController>();
  private readonly cancelled = new Set<JsonRpcId>();

  constructor(
    readonly url: string,
    readonly server: string,
    protected readonly log: (line: string) => void = () => {},
  ) {}

  abstract send(msg: JsonRpcMessage): void;
  abstract close(): Promise<void>;

  /** A request is in flight on this channel. */
  get busy(): boolean {
    return this.inflight.size > 0;
  }

  /** POST one message and feed whatever comes back to onmessage. Returns the response (headers read). */
  protected async post(msg: JsonRpcMessage, headers: Record<string, string>): Promise<Response | undefined> {
    const related: JsonRpcId | undefined = isRequest(msg) ? msg.id : undefined;
    const ac = new AbortController();
    this.aborts.add(ac);
    if (related !== undefined) this.inflight.set(related, ac);
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: ACCEPT, ...headers },
        body: JSON.stringify(msg),
        signal: ac.signal,
      });
      await this.consume(res, related);
      return res;
    } catch (e) {
      const cancelled = related !== undefined && this.cancelled.delete(related);
      if (related !== undefined && !this.closed && !cancelled) this.onmessage(errorResponse(related, INTERNAL_ERROR, `MCP server ${this.url} unreachable: ${(e as Error).message}`));
      return undefined;
    } finally {
      this.aborts.delete(ac);
      if (related !== undefined) this.inflight.delete(related);
    }
  }

  /** POST a stateless-era message: its standard headers, no session; `notifications/cancelled` closes the request's stream instead. */
  protected sendModern(msg: JsonRpcMessage): void {
    if ("method" in msg && !isRequest(msg) && msg.method === "notifications/cancelled") {
      const rid = (msg.params as { requestId?: JsonRpcId } | undefined)?.requestId;
      const ac = rid === undefined ? undefined : this.inflight.get(rid);
      if (ac && rid !== undefined) {
        this.cancelled.add(rid);
        ac.abort();
      }
      return;
    }
    const h: Record<string, string> = { [H_VERSION]: ("method" in msg ? metaVersion(msg) : undefined) ?? MODERN_VERSION };
    if ("method" in msg) {
      h[H_METHOD] = msg.method;
      const name = nameOf(msg);
      if (name !== undefined) h[H_NAME] = encodeHeader(name);
    }
    void this.post(msg, h);
  }

  protected deliver(m: JsonRpcMessage, related: JsonRpcId | undefined): void {
    this.onmessage(m, related);
  }

  protected async consume(res: Response, related: JsonRpcId | undefined): Promise<void> {
    const type = res.headers.get("content-type") ?? "";
    if (res.status === 202 || res.status === 204) {
      await res.body?.cancel();
      return;
    }
    if (type.includes("text/event-stream") && res.body) {
      const cursor: SseCursor = {};
      let answered = false;
      const onData = (data: string) => {
        const { messages, error } = parseFrame(data);
        if (error) this.log(`mcp broker: ${this.server} sent a bad SSE event (${error})`);
        for (const m of messages) {
          if (related !== undefined && isResponse(m) && m.id === related) answered = true;
          this.deliver(m, related);
        }
      };
      await readSse(res.body, onData, cursor);
      if (related === undefined || answered || this.closed) return;
      // the server closed the request's stream before answering (SEP-1699 polling): resume it
      // with GET + Last-Event-ID after the server's retry delay, else the client would wait forever
      for (let attempt = 0; attempt < 5 && cursor.lastEventId !== undefined && !answered && !this.closed; attempt++) {
        await new Promise((r) => setTimeout(r, Math.min(cursor.retryMs ?? 100, 5000)));
        if (!(await this.resumeStream(cursor, onData))) break;
      }
      if (!answered && !this.closed) {
        this.onmessage(errorResponse(related, INTERNAL_ERROR, `MCP server ${this.server} closed the response stream before answering`), related);
      }
      return;
    }
    const text = await res.text();
    if (type.includes("application/json") && text.trim()) {
      const { messages, error } = parseFrame(text);
      if (!error && messages.length > 0) {
        for (const m of messages) this.deliver(m, related);
        return;
      }
    }
    if (related !== undefined) {
      this.onmessage(errorResponse(related, INTERNAL_ERROR, `MCP server answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`));
    }
  }

  /** Headers a resumption GET carries (the session's). */
  protected resumeHeaders(): Record<string, string> {
    return {};
  }

  /** GET the stream again from cursor.lastEventId; false when the server will not resume it. */
  private async resumeStream(cursor: SseCursor, onData: (data: string) => void): Promise<boolean> {
    const ac = new AbortController();
    this.aborts.add(ac);
    try {
      const res = await fetch(this.url, {
        method: "GET",
        headers: { accept: "text/event-stream", ...this.resumeHeaders(), "last-event-id": cursor.lastEventId! },
        signal: ac.signal,
      });
      if (!res.ok || !(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
        await res.body?.cancel();
        return false;
      }
      await readSse(res.body, onData, cursor);
      return true;
    } catch (e) {
      if (!this.closed) this.log(`mcp broker: resuming a stream from ${this.server} failed: ${(e as Error).message}`);
      return false;
    } finally {
      this.aborts.delete(ac);
    }
  }
}

export class HttpSessionChannel extends HttpChannelBase {
  sessionId?: string;
  protocolVersion?: string;
  private ready: Promise<void> = Promise.resolve();
  private getStarted = false;

  send(msg: JsonRpcMessage): void {
    if (this.closed) {
      if (isRequest(msg)) this.onmessage(errorResponse(msg.id, INTERNAL_ERROR, "MCP session closed"));
      return;
    }
    if (isRequest(msg) && msg.method === "initialize") {
      // everything after the handshake waits for the session id
      this.ready = this.ready.then(() => this.initialize(msg));
      return;
    }
    if ("method" in msg && (this.era === "modern" || isModernVersion(metaVersion(msg)))) {
      void this.ready.then(() => this.sendModern(msg));
      return;
    }
    void this.ready.then(() => this.post(msg, this.headers()).then((res) => this.afterPost(msg, res)));
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.sessionId) h[H_SESSION] = this.sessionId;
    if (this.protocolVersion) h[H_VERSION] = this.protocolVersion;
    return h;
  }

  protected override resumeHeaders(): Record<string, string> {
    return this.headers();
  }

  private initId?: JsonRpcId;

  private async initialize(msg: JsonRpcRequest): Promise<void> {
    this.initId = msg.id;
    const res = await this.post(msg, {});
    const sid = res?.headers.get(H_SESSION);
    if (sid) this.sessionId = sid;
  }

  /** Learn the negotiated version from the initialize result as it passes. */
  protected override deliver(m: JsonRpcMessage, related: JsonRpcId | undefined): void {
    if (related !== undefined && related === this.initId && "result" in m && typeof m.result.protocolVersion === "string") {
      this.protocolVersion = m.result.protocolVersion;
    }
    this.onmessage(m, related);
  }

  private afterPost(msg: JsonRpcMessage, res: Response | undefined): void {
    if (!res) return;
    if (res.status === 404 && this.sessionId) this.log(`mcp broker: ${this.server} session ${this.sessionId} expired`);
    if (!isRequest(msg) && "method" in msg && msg.method === "notifications/initialized" && !this.getStarted) {
      this.getStarted = true;
      void this.openGetStream();
    }
  }

  /** The standalone stream for server-initiated requests and notifications (optional for servers). */
  private async openGetStream(): Promise<void> {
    const ac = new AbortController();
    this.aborts.add(ac);
    try {
      const res = await fetch(this.url, { method: "GET", headers: { accept: "text/event-stream", ...this.headers() }, signal: ac.signal });
      if (!res.ok || !(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
        await res.body?.cancel();
        return;
      }
      await readSse(res.body, (data) => {
        const { messages } = parseFrame(data);
        for (const m of messages) this.onmessage(m);
      });
    } catch (e) {
      if (!this.closed) this.log(`mcp broker: GET stream to ${this.server} ended: ${(e as Error).message}`);
    } finally {
      this.aborts.delete(ac);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ac of this.aborts) ac.abort();
    if (this.sessionId) {
      await fetch(this.url, { method: "DELETE", headers: this.headers() }).then((r) => r.body?.cancel(), () => {});
    }
  }
}

export class HttpStatelessChannel extends HttpChannelBase {
  override era: Channel["era"] = "modern";

  send(msg: JsonRpcMessage): void {
    if (this.closed) return;
    this.sendModern(msg);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.aborts) ac.abort();
  }
}

/** Header values must be printable ASCII; others are sent base64 with the `=?base64?…?=` sentinel. */
export function encodeHeader(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) && v.trim() === v ? v : `=?base64?${Buffer.from(v, "utf8").toString("base64")}?=`;
}
export function decodeHeader(v: string): string {
  const m = /^=\?base64\?(.*)\?=$/.exec(v);
  return m ? Buffer.from(m[1]!, "base64").toString("utf8") : v;
}

/** Does the server at `url` speak the stateless era? (POST server/discover; anything but a result says no.) */
export async function probeModern(url: string, timeoutMs = 5000): Promise<boolean> {
  const msg = {
    jsonrpc: "2.0",
    id: "tappass-probe",
    method: "server/discover",
    params: { _meta: { "io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {} } },
  };
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT, [H_VERSION]: MODERN_VERSION, [H_METHOD]: "server/discover" },
      body: JSON.stringify(msg),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return false;
    }
    let found: JsonRpcMessage | undefined;
    const type = res.headers.get("content-type") ?? "";
    if (type.includes("text/event-stream") && res.body) {
      await readSse(res.body, (d) => {
        const { messages } = parseFrame(d);
        found ??= messages.find((m) => "id" in m && m.id === "tappass-probe");
      });
    } else {
      found = parseFrame(await res.text()).messages[0];
    }
    if (!found || isError(found as never) || !("result" in found)) return false;
    const versions = (found as { result: { supportedVersions?: unknown } }).result.supportedVersions;
    return Array.isArray(versions) && versions.some((v) => typeof v === "string" && v >= MODERN_VERSION);
  } catch {
    return false;
  }
}
