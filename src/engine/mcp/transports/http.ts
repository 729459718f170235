/**
 * The client-facing Streamable HTTP endpoint of the broker, on 127.0.0.1 only.
 *
 *  - Origin / Host validation: a browser page on another origin (DNS rebinding) gets 403.
 *  - handshake era: `initialize` opens a broker session (its own `Mcp-Session-Id`) backed by
 *    its own upstream session; POST answers are SSE streams (or JSON when SSE is not accepted)
 *    that carry the request's related messages; GET is the session's stream for the rest;
 *    DELETE ends the session upstream too.
 *  - stateless era (2026-07-28): each POST stands alone; `MCP-Protocol-Version`, `Mcp-Method`
 *    and `Mcp-Name` must match the body (400 / -32020 otherwise, so nothing can route on a
 *    header that disagrees with what is governed). A stateless server upstream gets the request
 *    as is; a handshake-era one is reached through a broker-owned session per agent session (the
 *    `sid` of the client's capability token; ids remapped), so what such a server keeps per
 *    session (roots, subscriptions, log level) is never shared between two agent sessions.
 */
import { randomUUID } from "node:crypto";
import type { Broker } from "../broker.ts";
import { sessionOfToken } from "../govern.ts";
import {
  errorResponse,
  HEADER_MISMATCH,
  INVALID_REQUEST,
  isRequest,
  isResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  PARSE_ERROR,
  parseFrame,
  UNSUPPORTED_PROTOCOL_VERSION,
} from "../jsonrpc.ts";
import { H_METHOD, H_NAME, H_SESSION, H_VERSION, isModernVersion, metaVersion, nameOf, SUPPORTED_VERSIONS } from "../protocol.ts";
import type { Channel, ClientPeer } from "../types.ts";
import { SseWriter } from "./sse.ts";
import { decodeHeader, HttpSessionChannel, HttpStatelessChannel, probeModern } from "./upstream-http.ts";

export interface HttpServeOptions {
  broker: Broker;
  upstream: string;
  /** Name of the upstream for policy and audit. */
  server: string;
  port?: number;
  /** Path of the MCP endpoint (default /mcp; "/" is accepted too). */
  path?: string;
  log?: (line: string) => void;
}

export interface HttpBrokerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
/** Upstream sessions kept for stateless clients of a handshake-era server (one per agent session). */
const MAX_UPSTREAM_SESSIONS = 256;

/** Origin must be absent or a loopback origin; Host must name a loopback address. */
export function checkOrigin(req: Request): string | undefined {
  const origin = req.headers.get("origin");
  if (origin && origin !== "null") {
    try {
      const u = new URL(origin);
      if (!LOOPBACK_HOSTS.has(u.hostname)) return `origin ${origin} is not allowed`;
    } catch {
      return `origin ${origin} is not a URL`;
    }
  } else if (origin === "null") return "origin null is not allowed";
  const host = (req.headers.get("host") ?? "").replace(/:\d+$/, "");
  if (host && !LOOPBACK_HOSTS.has(host)) return `host ${host} is not allowed`;
  return undefined;
}

interface Exchange {
  /** client request ids in this POST still waiting for their response */
  waiting: Set<string>;
  sse?: SseWriter;
  /** JSON mode: responses collected until all arrived */
  collected: JsonRpcMessage[];
  done: () => void;
}

class HttpPeer implements ClientPeer {
  readonly exchanges = new Map<string, Exchange>();
  getStream?: SseWriter;
  backlog: JsonRpcMessage[] = [];
  token?: string;
  lastSeen = Date.now();

  constructor(
    readonly id: string,
    public channel: Channel,
    public era?: ClientPeer["era"],
  ) {}

  send(msg: JsonRpcMessage, related?: JsonRpcId): void {
    const key = isResponse(msg) ? String(msg.id) : related !== undefined ? String(related) : undefined;
    const ex = key !== undefined ? this.exchanges.get(key) : undefined;
    if (ex) {
      if (ex.sse) ex.sse.send(msg);
      else if (isResponse(msg)) ex.collected.push(msg);
      if (isResponse(msg)) {
        ex.waiting.delete(key!);
        this.exchanges.delete(key!);
        if (ex.waiting.size === 0) ex.done();
      }
      return;
    }
    if (this.getStream && !this.getStream.closed) {
      this.getStream.send(msg);
      return;
    }
    if (this.backlog.length < 1000) this.backlog.push(msg);
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export function serveHttp(o: HttpServeOptions): HttpBrokerHandle {
  const log = o.log ?? (() => {});
  const path = o.path ?? "/mcp";
  const sessions = new Map<string, HttpPeer>();
  let upstreamModern: Promise<boolean> | undefined;
  /** broker-owned upstream sessions for stateless clients of a handshake-era server, by agent session (LRU) */
  const legacyFor = new Map<string, HttpSessionChannel>();
  let stateless: HttpStatelessChannel | undefined;

  const isModernUpstream = () => {
    upstreamModern ??= probeModern(o.upstream).then((m) => {
      if (!m) upstreamModern = undefined; // probe again next time (the server may come up later, or stay legacy)
      return m;
    });
    return upstreamModern;
  };

  /**
   * The channel for stateless-era clients: the server itself if it is stateless, else the
   * broker-owned session of the client's agent session (the token's `sid`, read unverified: it
   * only picks the session, and the pipeline verifies the token on every call).
   */
  const modernChannel = async (token: string | undefined): Promise<Channel> => {
    if (await isModernUpstream()) {
      stateless ??= new HttpStatelessChannel(o.upstream, o.server, log);
      o.broker.bind(stateless);
      return stateless;
    }
    const key = (token && sessionOfToken(token)) || "";
    let ch = legacyFor.get(key);
    if (ch) legacyFor.delete(key); // most recently used last
    else {
      ch = new HttpSessionChannel(o.upstream, o.server, log);
      ch.era = "legacy";
      o.broker.bind(ch);
      // bounded: past the cap, the least recently used idle session ends
      if (legacyFor.size >= MAX_UPSTREAM_SESSIONS) {
        for (const [k, old] of legacyFor) {
          if (old.busy) continue;
          legacyFor.delete(k);
          o.broker.unbind(old);
          void old.close();
          break;
        }
      }
    }
    legacyFor.set(key, ch);
    return ch;
  };

  async function post(req: Request): Promise<Response> {
    const text = await req.text();
    const { messages, error, code, id } = parseFrame(text);
    if (error) return json(400, errorResponse(id ?? null, code ?? PARSE_ERROR, error));
    if (messages.length === 0) return json(400, errorResponse(null, INVALID_REQUEST, "empty batch"));
    const sid = req.headers.get(H_SESSION);
    let peer: HttpPeer | undefined;
    let ephemeral = false;

    if (sid) {
      peer = sessions.get(sid);
      if (!peer) return json(404, errorResponse(null, INVALID_REQUEST, "unknown or expired session; initialize again"));
      const hv = req.headers.get(H_VERSION);
      if (hv && !SUPPORTED_VERSIONS.includes(hv)) return json(400, errorResponse(null, INVALID_REQUEST, `unsupported MCP-Protocol-Version ${hv}`));
    } else if (messages.some((m) => isRequest(m) && m.method === "initialize")) {
      if (messages.length !== 1) return json(400, errorResponse(null, INVALID_REQUEST, "initialize must be sent alone"));
      const id = randomUUID();
      const channel = new HttpSessionChannel(o.upstream, o.server, log);
      peer = new HttpPeer(id, channel, "legacy");
      sessions.set(id, peer);
      o.broker.attach(peer);
    } else {
      const first = messages[0]!;
      const hv = req.headers.get(H_VERSION) ?? undefined;
      const bodyVersion = "method" in first ? metaVersion(first) : undefined;
      const modern = isModernVersion(hv) || isModernVersion(bodyVersion) || ("method" in first && first.method === "server/discover");
      if (!modern) return json(400, errorResponse(null, INVALID_REQUEST, `no valid ${H_SESSION}: send initialize first`));
      const bad = checkModernHeaders(req, messages);
      if (bad) return json(400, errorResponse("id" in first ? (first.id ?? null) : null, bad.code, bad.message));
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
      peer = new HttpPeer(`stateless-${randomUUID()}`, await modernChannel(bearer), "modern");
      ephemeral = true;
      o.broker.attach(peer);
    }
    peer.lastSeen = Date.now();
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
    if (auth) peer.token = auth[1];

    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const m of messages) o.broker.fromClient(peer, m);
      if (ephemeral) o.broker.detach(peer);
      return new Response(null, { status: 202 });
    }
    const wantsSse = (req.headers.get("accept") ?? "").includes("text/event-stream");
    let finish!: () => void;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const ex: Exchange = { waiting: new Set(requests.map((r) => String(r.id))), collected: [], done: () => finish() };
    if (wantsSse) ex.sse = new SseWriter();
    for (const r of requests) peer.exchanges.set(String(r.id), ex);
    const p = peer;
    void finished.then(() => {
      ex.sse?.close();
      if (ephemeral) o.broker.detach(p);
    });
    if (ex.sse) {
      ex.sse.onclose = () => {
        for (const k of ex.waiting) p.exchanges.delete(k);
      };
    }
    for (const m of messages) o.broker.fromClient(peer, m);

    const headers: Record<string, string> = {};
    if (!ephemeral) headers[H_SESSION] = peer.id;
    if (ex.sse) return new Response(ex.sse.stream, { status: 200, headers: { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" } });
    await finished;
    const body = messages.length === 1 && !Array.isArray(JSON.parse(text)) ? ex.collected[0] : ex.collected;
    return json(200, body, headers);
  }

  function get(req: Request): Response {
    const sid = req.headers.get(H_SESSION);
    if (!sid) return new Response("GET needs an Mcp-Session-Id (stateless clients have no server stream)", { status: 405, headers: { allow: "POST" } });
    const peer = sessions.get(sid);
    if (!peer) return json(404, errorResponse(null, INVALID_REQUEST, "unknown or expired session"));
    if (!(req.headers.get("accept") ?? "").includes("text/event-stream")) return new Response("GET must accept text/event-stream", { status: 406 });
    peer.getStream?.close();
    const w = new SseWriter();
    peer.getStream = w;
    for (const m of peer.backlog.splice(0)) w.send(m);
    return new Response(w.stream, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache", [H_SESSION]: sid } });
  }

  async function del(req: Request): Promise<Response> {
    const sid = req.headers.get(H_SESSION);
    const peer = sid ? sessions.get(sid) : undefined;
    if (!peer || !sid) return json(404, errorResponse(null, INVALID_REQUEST, "unknown session"));
    sessions.delete(sid);
    o.broker.detach(peer);
    peer.getStream?.close();
    await peer.channel.close();
    return new Response(null, { status: 200 });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: o.port ?? 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== path && url.pathname !== "/") return new Response("not found", { status: 404 });
      const bad = checkOrigin(req);
      if (bad) return json(403, errorResponse(null, INVALID_REQUEST, `forbidden: ${bad}`));
      try {
        if (req.method === "POST") return await post(req);
        if (req.method === "GET") return get(req);
        if (req.method === "DELETE") return await del(req);
        return new Response(null, { status: 405, headers: { allow: "GET, POST, DELETE" } });
      } catch (e) {
        log(`mcp broker: ${req.method} failed: ${(e as Error).stack ?? e}`);
        return json(500, errorResponse(null, -32603, `TapPass broker error: ${(e as Error).message}`));
      }
    },
  });
  const keepAlive = setInterval(() => {
    for (const p of sessions.values()) p.getStream?.ping();
  }, 15_000);
  keepAlive.unref?.();

  return {
    url: `http://127.0.0.1:${server.port}${path}`,
    port: server.port as number,
    async close() {
      clearInterval(keepAlive);
      for (const p of sessions.values()) {
        p.getStream?.close();
        await p.channel.close();
      }
      sessions.clear();
      for (const ch of legacyFor.values()) await ch.close();
      legacyFor.clear();
      await stateless?.close();
      await server.stop(true);
    },
  };
}

/** 2026-07-28 standard headers must agree with the body. */
function checkModernHeaders(req: Request, messages: JsonRpcMessage[]): { code: number; message: string } | undefined {
  if (messages.length !== 1) return { code: INVALID_REQUEST, message: "stateless requests are sent one per POST" };
  const m = messages[0]!;
  if (!("method" in m)) return undefined;
  const hv = req.headers.get(H_VERSION);
  const bv = metaVersion(m);
  if (isRequest(m) && !hv) return { code: HEADER_MISMATCH, message: `missing ${H_VERSION} header` };
  if (hv && bv && hv !== bv) return { code: HEADER_MISMATCH, message: `${H_VERSION} header ${hv} does not match _meta ${bv}` };
  if (hv && !SUPPORTED_VERSIONS.includes(hv)) return { code: UNSUPPORTED_PROTOCOL_VERSION, message: `unsupported protocol version ${hv}` };
  const hm = req.headers.get(H_METHOD);
  if (isRequest(m) && !hm) return { code: HEADER_MISMATCH, message: `missing ${H_METHOD} header` };
  if (hm && hm !== m.method) return { code: HEADER_MISMATCH, message: `${H_METHOD} header ${hm} does not match body method ${m.method}` };
  const bodyName = nameOf(m);
  const hn = req.headers.get(H_NAME);
  if (bodyName !== undefined && isRequest(m) && hn === null) return { code: HEADER_MISMATCH, message: `missing ${H_NAME} header` };
  if (hn !== null && decodeHeader(hn) !== bodyName) return { code: HEADER_MISMATCH, message: `${H_NAME} header does not match the body` };
  return undefined;
}
