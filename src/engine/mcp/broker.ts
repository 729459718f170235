/**
 * Message routing between MCP clients (ClientPeer) and servers (Channel), transport-agnostic.
 *
 *  - client → server requests get broker ids on the channel (one channel may serve several
 *    clients); responses are mapped back to the client's id and routed to that client;
 *    progress tokens and cancellations are mapped the same way.
 *  - server → client requests, notifications and responses are routed to the right client
 *    (the one whose request stream carried them, or every client of that channel).
 *  - tools/list results are filtered by the Governor, every page; tools/call runs the Governor
 *    (pipeline) before and after; a refusal is an isError tool result the model can read.
 *  - era bridging: a stateless-era client (server/discover, `_meta`) on a handshake-era server
 *    gets a broker-performed `initialize` upstream and a synthesised `server/discover`.
 */
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isError,
  isNotification,
  isObj,
  isRequest,
  isResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  paramsOf,
} from "./jsonrpc.ts";
import { discoverFromIdentity, identityFromInitialize, initializeFromMeta, requestEra, toLegacyParams } from "./protocol.ts";
import type { CallGate, Channel, ClientPeer, Governor, Tool } from "./types.ts";

/** Error code the broker records for a call the client cancelled (the SDK's RequestCancelled, -32800). */
const REQUEST_CANCELLED = -32800;

type Transform = (res: JsonRpcResponse) => Promise<JsonRpcResponse | undefined> | JsonRpcResponse | undefined;

interface Pending {
  channel: Channel;
  method: string;
  peer?: ClientPeer;
  clientId?: JsonRpcId;
  /** broker progress token → client's token */
  progress?: { token: string; clientToken: string | number };
  /** translate a handshake-era result for a stateless-era client */
  modern?: boolean;
  transform?: Transform;
  /** broker-internal request */
  resolve?: (res: JsonRpcResponse) => void;
}

interface ChannelState {
  peers: Set<ClientPeer>;
  tools?: Map<string, Tool>;
  /** in-flight broker-performed initialize */
  init?: Promise<void>;
}

export interface BrokerOptions {
  governor: Governor;
  log?: (line: string) => void;
}

export class Broker {
  private nextId = 1;
  private nextToken = 1;
  private readonly pending = new Map<JsonRpcId, Pending>();
  /** key `${clientPeerId}\u0000${clientId}` → broker id (cancellation) */
  private readonly byClient = new Map<string, JsonRpcId>();
  private readonly progress = new Map<string, { peer: ClientPeer; clientToken: string | number; clientId: JsonRpcId }>();
  /** server → client requests in flight: `${channel server}\u0000${id}` → peer */
  private readonly serverRequests = new Map<string, ClientPeer>();
  private readonly channels = new Map<Channel, ChannelState>();
  /** client requests (`${clientPeerId}\u0000${clientId}`) being governed, not yet forwarded */
  private readonly governing = new Set<string>();
  /** ... and those of them the client cancelled meanwhile */
  private readonly cancelledEarly = new Set<string>();

  constructor(private readonly opts: BrokerOptions) {}

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Connect a channel's upstream messages to the broker. */
  bind(channel: Channel): void {
    if (this.channels.has(channel)) return;
    this.channels.set(channel, { peers: new Set() });
    channel.onmessage = (msg, related) => this.fromUpstream(channel, msg, related);
  }

  attach(peer: ClientPeer): void {
    this.bind(peer.channel);
    this.channels.get(peer.channel)!.peers.add(peer);
  }

  detach(peer: ClientPeer): void {
    this.channels.get(peer.channel)?.peers.delete(peer);
    for (const [id, p] of this.pending) {
      if (p.peer === peer) {
        // tell the server the client is gone
        if (!p.resolve) peer.channel.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "client disconnected" } });
        this.pending.delete(id);
      }
    }
  }

  /** Channel closed: every request still waiting on it fails. */
  channelClosed(channel: Channel, reason: string): void {
    for (const [id, p] of [...this.pending]) {
      if (p.channel !== channel) continue;
      this.pending.delete(id);
      void this.complete(p, errorResponse(id, INTERNAL_ERROR, `MCP server closed: ${reason}`));
    }
  }

  // ------------------------------------------------------------------ client → server

  fromClient(peer: ClientPeer, msg: JsonRpcMessage): void {
    if (isRequest(msg)) {
      peer.era ??= requestEra(msg);
      void this.clientRequest(peer, msg).catch((e) => {
        this.log(`mcp broker: ${msg.method} failed: ${(e as Error).stack ?? e}`);
        peer.send(errorResponse(msg.id, INTERNAL_ERROR, `TapPass broker error: ${(e as Error).message}`), msg.id);
      });
    } else if (isNotification(msg)) {
      this.clientNotification(peer, msg);
    } else if (isResponse(msg)) {
      // answer to a server → client request: ids were not remapped (they live in the server's id space)
      this.serverRequests.delete(`${peer.channel.server}\u0000${msg.id}`);
      peer.channel.send(msg);
    }
  }

  private async clientRequest(peer: ClientPeer, msg: JsonRpcRequest): Promise<void> {
    const ch = peer.channel;
    const modern = peer.era === "modern";
    if (msg.method === "server/discover") return this.discover(peer, msg);
    if (modern && ch.era !== "modern") await this.ensureInitialized(ch, paramsOf(msg)._meta);

    if (msg.method === "tools/list") {
      return this.forward(peer, msg, (res) => this.filterList(ch, res));
    }
    if (msg.method === "tools/call") return this.toolsCall(peer, msg);
    if (msg.method === "initialize") {
      return this.forward(peer, msg, (res) => {
        if (!isError(res)) ch.identity = identityFromInitialize(res.result);
        return res;
      });
    }
    return this.forward(peer, msg);
  }

  private clientNotification(peer: ClientPeer, msg: JsonRpcNotification): void {
    const ch = peer.channel;
    if (msg.method === "notifications/cancelled") {
      const rid = paramsOf(msg).requestId;
      const key = `${peer.id}\u0000${String(rid)}`;
      const bid = this.byClient.get(key);
      if (bid === undefined) {
        // still being governed (not sent upstream yet): it never will be
        if (this.governing.has(key)) this.cancelledEarly.add(key);
        return; // else already answered, or refused by the broker
      }
      ch.send({ ...msg, params: { ...paramsOf(msg), requestId: bid } });
      // the client has given up on it and the server should not answer: settle it here (the
      // transform finishes the call's audit row), drop it, and drop any late answer
      const p = this.pending.get(bid);
      if (p && !p.resolve) {
        this.pending.delete(bid);
        this.byClient.delete(key);
        if (p.progress) this.progress.delete(p.progress.token);
        const reason = typeof paramsOf(msg).reason === "string" ? `: ${paramsOf(msg).reason as string}` : "";
        const settle = p.transform?.(errorResponse(bid, REQUEST_CANCELLED, `request cancelled by the client${reason}`));
        void Promise.resolve(settle).catch((e) => this.log(`mcp broker: settling cancelled ${p.method} failed: ${(e as Error).stack ?? e}`));
      }
      return;
    }
    if (msg.method === "notifications/initialized" && peer.era !== "legacy" && ch.identity && ch.era !== "modern") {
      // the broker already completed the handshake for this channel
      return;
    }
    ch.send(peer.era === "modern" && ch.era !== "modern" ? { ...msg, params: toLegacyParams(msg.params) } : msg);
  }

  /** Forward a client request upstream under a broker id; the response comes back through `transform`. */
  private forward(peer: ClientPeer, msg: JsonRpcRequest, transform?: Transform, params?: Record<string, unknown>): void {
    const ch = peer.channel;
    const id = this.nextId++;
    const modern = peer.era === "modern" && ch.era !== "modern";
    let p = params ?? msg.params;
    if (modern) p = toLegacyParams(p);
    const pend: Pending = { channel: ch, method: msg.method, peer, clientId: msg.id, modern, transform };
    const meta = p && isObj(p._meta) ? p._meta : undefined;
    const clientToken = meta?.progressToken;
    if (typeof clientToken === "string" || typeof clientToken === "number") {
      const token = `tp${this.nextToken++}`;
      pend.progress = { token, clientToken };
      this.progress.set(token, { peer, clientToken, clientId: msg.id });
      p = { ...p, _meta: { ...meta, progressToken: token } };
    }
    this.pending.set(id, pend);
    this.byClient.set(`${peer.id}\u0000${String(msg.id)}`, id);
    ch.send(p === undefined ? { jsonrpc: "2.0", id, method: msg.method } : { jsonrpc: "2.0", id, method: msg.method, params: p });
  }

  /** A request the broker itself sends upstream (handshake, fetching tool definitions). */
  request(ch: Channel, method: string, params?: Record<string, unknown>): Promise<JsonRpcResponse> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { channel: ch, method, resolve });
      ch.send(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    });
  }

  // ------------------------------------------------------------------ server → client

  private fromUpstream(ch: Channel, msg: JsonRpcMessage, related?: JsonRpcId): void {
    if (isResponse(msg)) {
      const p = msg.id === null ? undefined : this.pending.get(msg.id);
      if (!p) {
        this.log(`mcp broker: response for unknown id ${String(msg.id)} from ${ch.server} dropped`);
        return;
      }
      this.pending.delete(msg.id!);
      void this.complete(p, msg).catch((e) => this.log(`mcp broker: completing ${p.method} failed: ${(e as Error).stack ?? e}`));
      return;
    }
    const st = this.channels.get(ch);
    const relatedPending = related === undefined ? undefined : this.pending.get(related);
    if (isRequest(msg)) {
      const peer = relatedPending?.peer ?? this.soloPeer(ch);
      if (!peer) {
        ch.send(errorResponse(msg.id, -32601, "no client can take this request (stateless clients receive no server requests)"));
        return;
      }
      this.serverRequests.set(`${ch.server}\u0000${msg.id}`, peer);
      peer.send(msg, relatedPending?.clientId);
      return;
    }
    if (isNotification(msg)) {
      const params = paramsOf(msg);
      if (msg.method === "notifications/progress") {
        const token = params.progressToken;
        const owner = typeof token === "string" ? this.progress.get(token) : undefined;
        if (owner) {
          owner.peer.send({ ...msg, params: { ...params, progressToken: owner.clientToken } }, owner.clientId);
          return;
        }
      }
      if (msg.method === "notifications/cancelled") {
        const peer = this.serverRequests.get(`${ch.server}\u0000${String(params.requestId)}`);
        if (peer) {
          this.serverRequests.delete(`${ch.server}\u0000${String(params.requestId)}`);
          peer.send(msg);
        }
        return;
      }
      if (msg.method === "notifications/tools/list_changed" && st) st.tools = undefined; // the next list is re-filtered
      if (relatedPending?.peer) {
        relatedPending.peer.send(msg, relatedPending.clientId);
        return;
      }
      for (const peer of st?.peers ?? []) peer.send(msg);
    }
  }

  private soloPeer(ch: Channel): ClientPeer | undefined {
    const peers = this.channels.get(ch)?.peers;
    if (!peers || peers.size !== 1) return undefined;
    const [only] = peers;
    return only;
  }

  private async complete(p: Pending, res: JsonRpcResponse): Promise<void> {
    if (p.resolve) return p.resolve(res);
    if (p.progress) this.progress.delete(p.progress.token);
    if (p.peer && p.clientId !== undefined) this.byClient.delete(`${p.peer.id}\u0000${String(p.clientId)}`);
    let out: JsonRpcResponse | undefined = res;
    if (p.transform) out = await p.transform(res);
    if (!out || !p.peer || p.clientId === undefined) return;
    out = { ...out, id: p.clientId } as JsonRpcResponse;
    if (p.modern && !isError(out)) out = { ...out, result: toModernResult(p.method, out.result) };
    p.peer.send(out, p.clientId);
  }

  // ------------------------------------------------------------------ eras

  /** `server/discover`: forwarded to a stateless-era server; synthesised from a handshake for a handshake-era one. */
  private async discover(peer: ClientPeer, msg: JsonRpcRequest): Promise<void> {
    const ch = peer.channel;
    const meta = paramsOf(msg)._meta;
    if (ch.era !== "legacy") {
      if (ch.era === "modern") return this.forward(peer, msg);
      // unknown: probe upstream with the client's own request
      const res = await this.request(ch, "server/discover", msg.params);
      if (!isError(res)) {
        ch.era = "modern";
        peer.send({ ...res, id: msg.id }, msg.id);
        return;
      }
      ch.era = "legacy";
    }
    await this.ensureInitialized(ch, meta);
    peer.send({ jsonrpc: "2.0", id: msg.id, result: discoverFromIdentity(ch.identity!) }, msg.id);
  }

  /** Perform the handshake upstream on behalf of stateless-era clients (once per channel). */
  async ensureInitialized(ch: Channel, meta: unknown): Promise<void> {
    if (ch.identity) return;
    const st = this.channels.get(ch)!;
    st.init ??= (async () => {
      const init = initializeFromMeta(0, isObj(meta) ? meta : undefined);
      const res = await this.request(ch, "initialize", init.params);
      if (isError(res)) {
        st.init = undefined;
        throw new Error(`upstream initialize failed: ${res.error.message}`);
      }
      ch.identity = identityFromInitialize(res.result);
      if (ch.era === "unknown") ch.era = "legacy";
      ch.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    })();
    await st.init;
  }

  // ------------------------------------------------------------------ governance

  private filterList(ch: Channel, res: JsonRpcResponse): JsonRpcResponse {
    if (isError(res)) return res;
    const tools = Array.isArray(res.result.tools) ? (res.result.tools as Tool[]).filter((t) => isObj(t) && typeof t.name === "string") : [];
    const st = this.channels.get(ch)!;
    st.tools ??= new Map();
    for (const t of tools) st.tools.set(t.name, t);
    const result: Record<string, unknown> = { ...res.result, tools: this.opts.governor.filterTools(tools, ch.server) };
    // a filtered list reflects policy and approvals now: no client or shared cache may keep it
    if ("ttlMs" in result) result.ttlMs = 0;
    if ("cacheScope" in result) result.cacheScope = "private";
    return { ...res, result };
  }

  /** The server's definition of a tool: from earlier lists, else fetched (every page). */
  private async toolDef(peer: ClientPeer, name: string, meta: unknown): Promise<Tool | undefined> {
    const ch = peer.channel;
    const st = this.channels.get(ch)!;
    const hit = st.tools?.get(name);
    if (hit) return hit;
    const all = new Map<string, Tool>();
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const params: Record<string, unknown> = {};
      if (cursor) params.cursor = cursor;
      if (ch.era === "modern" && isObj(meta)) params._meta = meta;
      const res = await this.request(ch, "tools/list", params);
      if (isError(res)) break;
      for (const t of (Array.isArray(res.result.tools) ? res.result.tools : []) as Tool[]) if (isObj(t) && typeof t.name === "string") all.set(t.name, t);
      cursor = typeof res.result.nextCursor === "string" && res.result.nextCursor ? res.result.nextCursor : undefined;
      if (!cursor) break;
    }
    st.tools = all;
    return all.get(name);
  }

  private async toolsCall(peer: ClientPeer, msg: JsonRpcRequest): Promise<void> {
    const params = paramsOf(msg);
    const name = params.name;
    if (typeof name !== "string") {
      peer.send(errorResponse(msg.id, INVALID_PARAMS, "tools/call needs params.name"), msg.id);
      return;
    }
    const args = isObj(params.arguments) ? params.arguments : {};
    const key = `${peer.id}\u0000${String(msg.id)}`;
    this.governing.add(key);
    let gate: CallGate;
    try {
      const tool = await this.toolDef(peer, name, params._meta);
      try {
        gate = await this.opts.governor.call({ server: peer.channel.server, name, args, tool, session_id: peer.id, token: peer.token });
      } catch (e) {
        // fail closed: a governor that cannot decide refuses
        gate = { denied: deniedResult(`TapPass could not evaluate this call (${(e as Error).message}); it was blocked.`), args, after: async (r) => r, fail: async () => {} };
      }
    } catch (e) {
      this.cancelledEarly.delete(key);
      throw e;
    } finally {
      this.governing.delete(key);
    }
    if (this.cancelledEarly.delete(key)) {
      // cancelled while being governed: never sent upstream, no answer (the client has moved on)
      if (!gate.denied) await gate.fail({ code: REQUEST_CANCELLED, message: "request cancelled by the client before it was sent upstream" }, { forwarded: false });
      return;
    }
    if (gate.denied) {
      const result = peer.era === "modern" ? { resultType: "complete", ...gate.denied } : gate.denied;
      peer.send({ jsonrpc: "2.0", id: msg.id, result }, msg.id);
      return;
    }
    this.forward(
      peer,
      msg,
      async (res) => {
        if (isError(res)) {
          await gate.fail(res.error);
          return res;
        }
        return { ...res, result: await gate.after(res.result) };
      },
      gate.args === args ? params : { ...params, arguments: gate.args },
    );
  }
}

const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

/** A handshake-era result as a stateless-era client expects it (resultType; cache fields on cacheable results). */
export function toModernResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { resultType: "complete", ...result };
  if (CACHEABLE.has(method)) {
    if (typeof out.ttlMs !== "number") out.ttlMs = 0;
    if (out.cacheScope !== "public" && out.cacheScope !== "private") out.cacheScope = "private";
  }
  return out;
}

/** A tool result that tells the model, in words, that TapPass refused the call. */
export function deniedResult(reason: string): Record<string, unknown> {
  return { content: [{ type: "text", text: reason }], isError: true };
}
