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
 *    gets a broker-performed `initialize` upstream and a synthesised `server/discover`; a
 *    handshake-era client on a stateless-era server (one that refuses `initialize`) gets its
 *    `initialize` answered from the server's `server/discover`, and `_meta` (version,
 *    capabilities, client info) added to every request it sends.
 *  - server → client requests follow the client's era (2026-07-28, basic/patterns/mrtr: servers
 *    MUST NOT send stateless clients requests; they return `input_required` results instead):
 *    a handshake-era server's sampling / elicitation / roots request inside a stateless client's
 *    call becomes an InputRequiredResult for that call (the upstream call stays open; the
 *    client's retry, matched by an unguessable one-time `requestState`, answers the server and
 *    receives the final result); a stateless server's `input_required` result to a handshake-era
 *    client becomes ordinary server → client requests, and the broker retries the call upstream
 *    with the answers. Either way it stays ONE governed call with one audit row.
 */
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  METHOD_NOT_FOUND,
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
import { randomBytes } from "node:crypto";
import {
  discoverFromIdentity,
  identityFromInitialize,
  initializeFromDiscover,
  initializeFromMeta,
  isModernVersion,
  LEGACY_VERSIONS,
  META_CLIENT_CAPABILITIES,
  requestEra,
  toLegacyParams,
  withModernMeta,
} from "./protocol.ts";
import type { CallGate, Channel, ClientPeer, Governor, Tool } from "./types.ts";

/** Error code the broker records for a call the client cancelled (the SDK's RequestCancelled, -32800). */
const REQUEST_CANCELLED = -32800;
/** 2026-07-28: the request needs a client capability the client did not declare. */
const MISSING_CLIENT_CAPABILITY = -32021;
/** Methods whose results may be `input_required` (2026-07-28 multi round-trip requests). */
const INPUT_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);
/** The client capability each server → client request needs. */
const CAPABILITY_OF: Readonly<Record<string, string>> = { "sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots" };
/** Rounds of input a server may ask for in one call before the broker gives up (as the SDK clients do). */
const MAX_INPUT_ROUNDS = 10;
/** How long an upstream call waits for a stateless client to come back with the input its server asked for. */
const INPUT_WAIT_MS = 5 * 60_000;

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
  /** the params as sent upstream (a retry with input responses re-sends them) */
  params?: Record<string, unknown>;
  /** the client capabilities the request declared (stateless era: per request, in `_meta`) */
  clientCaps?: Record<string, unknown>;
  transform?: Transform;
  /** inspects a stateless server's input requests before the broker asks a handshake-era client (tools/call: CallGate.inspectInput) */
  inspectInput?: CallGate["inspectInput"];
  /** broker-internal request */
  resolve?: (res: JsonRpcResponse) => void;
}

/**
 * A handshake-era server's request(s) inside a stateless client's call, handed to the client as an
 * InputRequiredResult; the upstream call (broker id `bid`) waits for the client's retry.
 */
interface InputBridge {
  bid: JsonRpcId;
  channel: Channel;
  method: string;
  name?: unknown;
  /** capability token of the client that made the call: the retry must present the same */
  token?: string;
  /** input key → the server's request (its id, and its method: what the answer is for), handed to the client, awaiting its answer */
  asked: Map<string, { id: JsonRpcId; method: string }>;
  /** server requests that arrived after the InputRequiredResult went out */
  queued: Array<{ id: JsonRpcId; method: string; params?: Record<string, unknown> }>;
  timer: ReturnType<typeof setTimeout>;
}

interface ChannelState {
  peers: Set<ClientPeer>;
  tools?: Map<string, Tool>;
  /** in-flight broker-performed initialize */
  init?: Promise<void>;
  /** in-flight `server/discover` probe */
  probe?: Promise<void>;
  /** a stateless-era server's `server/discover` result (answers handshake-era clients' initialize) */
  discovered?: Record<string, unknown>;
}

export interface BrokerOptions {
  governor: Governor;
  log?: (line: string) => void;
  /** How long a call waits for a stateless client to come back with the input its server asked for (default 5 min). */
  inputWaitMs?: number;
}

export class Broker {
  private nextId = 1;
  private nextToken = 1;
  private readonly pending = new Map<JsonRpcId, Pending>();
  /** key `${clientPeerId}\u0000${clientId}` → broker id (cancellation) */
  private readonly byClient = new Map<string, JsonRpcId>();
  private readonly progress = new Map<string, { peer: ClientPeer; clientToken: string | number; clientId: JsonRpcId }>();
  /**
   * server → client requests in flight, per upstream channel (ids live in each server session's
   * own id space: two sessions of one server both send request 0): id → the peer asked. A
   * channel's entry goes when its last request is answered or cancelled.
   */
  private readonly serverRequests = new Map<Channel, Map<string, { peer: ClientPeer; method: string }>>();
  private readonly channels = new Map<Channel, ChannelState>();
  /** client requests (`${clientPeerId}\u0000${clientId}`) being governed, not yet forwarded */
  private readonly governing = new Set<string>();
  /** ... and those of them the client cancelled meanwhile */
  private readonly cancelledEarly = new Set<string>();
  /** requestState → an upstream call waiting for a stateless client's input */
  private readonly bridges = new Map<string, InputBridge>();
  /** broker id of such a call → its requestState */
  private readonly bridgeOfCall = new Map<JsonRpcId, string>();
  /** broker → client requests (a stateless server's input requests, for a handshake-era client): `${peer}\u0000${id}` */
  private readonly asks = new Map<string, { peer: ClientPeer; resolve: (res: JsonRpcResponse) => void }>();

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

  /** Forget a channel the transport is closing (nothing may be in flight on it). */
  unbind(channel: Channel): void {
    this.channels.delete(channel);
  }

  attach(peer: ClientPeer): void {
    this.bind(peer.channel);
    this.channels.get(peer.channel)!.peers.add(peer);
  }

  detach(peer: ClientPeer): void {
    this.channels.get(peer.channel)?.peers.delete(peer);
    for (const [k, a] of [...this.asks]) {
      if (a.peer !== peer) continue;
      this.asks.delete(k);
      a.resolve(errorResponse(null, INTERNAL_ERROR, "the client disconnected"));
    }
    for (const [id, p] of this.pending) {
      if (p.peer === peer) {
        // tell the server the client is gone
        if (!p.resolve) peer.channel.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "client disconnected" } });
        this.pending.delete(id);
      }
    }
  }

  /**
   * Resolves once none of the peer's requests is being governed or awaits its server (or after
   * `maxMs`): a client that closed its input after its last request still gets the answers —
   * `(echo init; echo call) | tappass mcp proxy …` must not lose the call.
   */
  async settled(peer: ClientPeer, maxMs = 60_000): Promise<void> {
    const prefix = `${peer.id}\u0000`;
    const busy = () => [...this.governing].some((k) => k.startsWith(prefix)) || [...this.pending.values()].some((p) => p.peer === peer);
    const until = Date.now() + maxMs;
    while (busy() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  /** Channel closed: every request still waiting on it fails. */
  channelClosed(channel: Channel, reason: string): void {
    this.serverRequests.delete(channel); // nobody is left to answer them to
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
      const ask = this.asks.get(`${peer.id}\u0000${String(msg.id)}`);
      if (ask) {
        // the client's answer to an input request of a stateless server (the broker asked on its behalf)
        this.asks.delete(`${peer.id}\u0000${String(msg.id)}`);
        ask.resolve(msg);
        return;
      }
      // answer to a server → client request: ids were not remapped (they live in the server's id space)
      const asked = this.takeServerRequest(peer.channel, msg.id);
      void this.answerServer(peer, peer.channel, msg, asked?.method);
    }
  }

  /**
   * A client's answer to a server's request goes to the server through the governor: what the
   * client's user typed into a form, or its model wrote, is scanned like arguments; a withheld
   * answer reaches the server as an error instead (fail closed when it cannot be checked).
   */
  private async answerServer(peer: ClientPeer, ch: Channel, msg: JsonRpcResponse, method: string | undefined): Promise<void> {
    if (!method || isError(msg)) {
      ch.send(msg);
      return;
    }
    const r = await this.checkAnswer(peer, ch.server, method, msg.result);
    ch.send("refused" in r ? errorResponse(msg.id, INTERNAL_ERROR, r.refused) : { ...msg, result: r.result });
  }

  /** A client's answer to `server`'s `method` request, as the governor lets it through (fails closed when it cannot check). */
  private async checkAnswer(peer: ClientPeer, server: string, method: string, result: Record<string, unknown>): Promise<{ result: Record<string, unknown> } | { refused: string }> {
    const govern = this.opts.governor.answer;
    if (!govern) return { result };
    try {
      return await govern.call(this.opts.governor, { server, method, result, session_id: peer.id, token: peer.token });
    } catch (e) {
      return { refused: `TapPass could not check the client's answer to ${method} (${(e as Error).message}); withheld` };
    }
  }

  private async clientRequest(peer: ClientPeer, msg: JsonRpcRequest): Promise<void> {
    const ch = peer.channel;
    const modern = peer.era === "modern";
    const state = paramsOf(msg).requestState;
    if (typeof state === "string" && this.bridges.has(state)) return this.resumeBridge(peer, msg, state);
    if (msg.method === "server/discover") return this.discover(peer, msg);
    if (modern && ch.era !== "modern") await this.ensureUpstreamFor(ch, paramsOf(msg)._meta);
    if (msg.method === "initialize") return this.initialize(peer, msg);
    if (!modern && ch.era === "modern" && (msg.method === "ping" || msg.method === "logging/setLevel")) {
      // gone in 2026-07-28 (no session to ping, log level travels in `_meta`): the broker answers
      peer.send({ jsonrpc: "2.0", id: msg.id, result: {} }, msg.id);
      return;
    }
    if (msg.method === "tools/list") {
      return this.forward(peer, msg, (res) => this.filterList(ch, res));
    }
    if (msg.method === "tools/call") return this.toolsCall(peer, msg);
    return this.forward(peer, msg);
  }

  /**
   * A handshake-era client's `initialize`: forwarded; if the server refuses it and answers
   * `server/discover` with a stateless-era version, the channel is stateless and the broker
   * answers the handshake itself (the client's version, capabilities and info go into the
   * `_meta` of each of its requests from then on).
   */
  private initialize(peer: ClientPeer, msg: JsonRpcRequest): void {
    const ch = peer.channel;
    const params = paramsOf(msg);
    peer.handshake = {
      protocolVersion: typeof params.protocolVersion === "string" ? params.protocolVersion : LEGACY_VERSIONS[0],
      capabilities: isObj(params.capabilities) ? params.capabilities : {},
      clientInfo: isObj(params.clientInfo) ? params.clientInfo : { name: "unknown", version: "0" },
    };
    const answer = (id: JsonRpcId, discovered: Record<string, unknown>): JsonRpcResponse => ({
      jsonrpc: "2.0",
      id,
      result: initializeFromDiscover(discovered, peer.handshake!.protocolVersion),
    });
    const st = this.channels.get(ch)!;
    if (ch.era === "modern" && st.discovered) {
      peer.send(answer(msg.id, st.discovered), msg.id);
      return;
    }
    this.forward(peer, msg, async (res) => {
      if (!isError(res)) {
        ch.identity = identityFromInitialize(res.result);
        if (ch.era === "unknown") ch.era = "legacy";
        return res;
      }
      if (ch.era === "legacy") return res;
      const discovered = await this.probeDiscover(ch, withModernMeta(undefined, peer.handshake!));
      if (!discovered) return res;
      return answer(res.id ?? msg.id, discovered);
    });
  }

  /** Ask the server for `server/discover`; a stateless-era answer makes the channel stateless. */
  private async probeDiscover(ch: Channel, params: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const res = await this.request(ch, "server/discover", params);
    if (isError(res)) return undefined;
    const versions = res.result.supportedVersions;
    if (!Array.isArray(versions) || !versions.some((v) => typeof v === "string" && isModernVersion(v))) return undefined;
    ch.era = "modern";
    this.channels.get(ch)!.discovered = res.result;
    return res.result;
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
    if (peer.era !== "modern" && ch.era === "modern" && (msg.method === "notifications/initialized" || msg.method === "notifications/roots/list_changed")) {
      // a stateless server has no handshake to complete and no session whose roots could change
      return;
    }
    ch.send(peer.era === "modern" && ch.era !== "modern" ? { ...msg, params: toLegacyParams(msg.params) } : msg);
  }

  /** Forward a client request upstream under a broker id; the response comes back through `transform`. */
  private forward(peer: ClientPeer, msg: JsonRpcRequest, transform?: Transform, params?: Record<string, unknown>, inspectInput?: CallGate["inspectInput"]): void {
    const ch = peer.channel;
    const id = this.nextId++;
    const modern = peer.era === "modern" && ch.era !== "modern";
    let p = params ?? msg.params;
    const caps = peer.era === "modern" ? paramsOf(msg)._meta : undefined;
    const clientCaps = isObj(caps) && isObj(caps[META_CLIENT_CAPABILITIES]) ? caps[META_CLIENT_CAPABILITIES] : peer.handshake?.capabilities;
    if (modern) p = toLegacyParams(p);
    else if (peer.era !== "modern" && ch.era === "modern") p = withModernMeta(p, peer.handshake);
    const pend: Pending = { channel: ch, method: msg.method, peer, clientId: msg.id, modern, transform, clientCaps, inspectInput };
    const meta = p && isObj(p._meta) ? p._meta : undefined;
    const clientToken = meta?.progressToken;
    if (typeof clientToken === "string" || typeof clientToken === "number") {
      const token = `tp${this.nextToken++}`;
      pend.progress = { token, clientToken };
      this.progress.set(token, { peer, clientToken, clientId: msg.id });
      p = { ...p, _meta: { ...meta, progressToken: token } };
    }
    pend.params = p;
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
      let call: [JsonRpcId, Pending] | undefined = related !== undefined && relatedPending ? [related, relatedPending] : undefined;
      if (!(call && this.bridgeOfCall.has(call[0])) && call?.[1].peer?.era !== "modern") {
        const peer = call?.[1].peer ?? this.soloPeer(ch);
        if (peer && peer.era !== "modern") {
          // a handshake-era client takes server requests as they are
          let inFlight = this.serverRequests.get(ch);
          if (!inFlight) this.serverRequests.set(ch, (inFlight = new Map()));
          inFlight.set(String(msg.id), { peer, method: msg.method });
          peer.send(msg, call?.[1].clientId);
          return;
        }
        // no stream ties it to a call: on stdio, the one call it can belong to; over HTTP a server
        // relates requests made inside a call, so an unrelated one belongs to none
        if (!ch.relatesMessages) call ??= this.soleInputCall(ch);
      }
      if (call) {
        this.inputFromLegacyServer(ch, msg, call[0], call[1]);
        return;
      }
      ch.send(
        errorResponse(msg.id, METHOD_NOT_FOUND, `${msg.method}: no client can take this request (a stateless client receives server requests only inside one of its calls, as an input_required result)`),
      );
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
        const asked = this.takeServerRequest(ch, params.requestId as JsonRpcId);
        if (asked) asked.peer.send(msg);
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

  /** The server → client request `id` of `ch` in flight, removed (undefined when there is none). */
  private takeServerRequest(ch: Channel, id: JsonRpcId | null | undefined): { peer: ClientPeer; method: string } | undefined {
    const inFlight = this.serverRequests.get(ch);
    const asked = inFlight?.get(String(id));
    if (!inFlight || !asked) return undefined;
    inFlight.delete(String(id));
    if (inFlight.size === 0) this.serverRequests.delete(ch);
    return asked;
  }

  /** The one call on `ch` a server request without a stream (stdio) can belong to: a stateless client's tools/call, prompts/get or resources/read. */
  private soleInputCall(ch: Channel): [JsonRpcId, Pending] | undefined {
    let found: [JsonRpcId, Pending] | undefined;
    for (const [id, p] of this.pending) {
      if (p.channel !== ch || p.resolve || !INPUT_METHODS.has(p.method)) continue;
      if (p.peer?.era !== "modern" && !this.bridgeOfCall.has(id)) continue;
      if (found) return undefined; // ambiguous: refuse rather than guess
      found = [id, p];
    }
    return found;
  }

  private soloPeer(ch: Channel): ClientPeer | undefined {
    const peers = this.channels.get(ch)?.peers;
    if (!peers || peers.size !== 1) return undefined;
    const [only] = peers;
    return only;
  }

  private async complete(p: Pending, res: JsonRpcResponse): Promise<void> {
    if (p.resolve) return p.resolve(res);
    if (p.peer && p.peer.era !== "modern" && p.channel.era === "modern" && !isError(res) && res.result.resultType === "input_required") {
      res = await this.inputForLegacyClient(p, res);
    }
    if (p.progress) this.progress.delete(p.progress.token);
    if (p.peer && p.clientId !== undefined) this.byClient.delete(`${p.peer.id}\u0000${String(p.clientId)}`);
    let out: JsonRpcResponse | undefined = res;
    if (p.transform) out = await p.transform(res);
    if (!out || !p.peer || p.clientId === undefined) return;
    out = { ...out, id: p.clientId } as JsonRpcResponse;
    if (p.modern && !isError(out)) out = { ...out, result: toModernResult(p.method, out.result) };
    p.peer.send(out, p.clientId);
  }

  // ------------------------------------------------------------------ multi round-trip requests (2026-07-28)

  /**
   * A stateless server answered a handshake-era client's call with `input_required`: ask the
   * client each embedded request as an ordinary server → client request, then retry the call
   * upstream with the answers (and the server's requestState), until it completes.
   */
  private async inputForLegacyClient(p: Pending, first: JsonRpcResponse): Promise<JsonRpcResponse> {
    let res = first;
    for (let round = 0; round < MAX_INPUT_ROUNDS; round++) {
      if (isError(res) || res.result.resultType !== "input_required") return res;
      let asked = res.result;
      if (p.inspectInput) {
        const inspected = await p.inspectInput(asked);
        if ("refused" in inspected) return { jsonrpc: "2.0", id: res.id, result: deniedResult(inspected.refused) };
        asked = inspected.result;
      }
      const requests = isObj(asked.inputRequests) ? asked.inputRequests : {};
      const responses: Record<string, unknown> = {};
      for (const [key, r] of Object.entries(requests)) {
        if (!isObj(r) || typeof r.method !== "string") return errorResponse(res.id, INTERNAL_ERROR, `the MCP server sent a malformed input request "${key}"`);
        const need = CAPABILITY_OF[r.method];
        if (need && !isObj(p.peer?.handshake?.capabilities?.[need])) {
          return errorResponse(res.id, MISSING_CLIENT_CAPABILITY, `the MCP server needs the client's "${need}" capability for ${r.method}, which this client did not declare`);
        }
        const answer = await this.ask(p.peer!, r.method, isObj(r.params) ? r.params : undefined, p.clientId);
        if (isError(answer)) return errorResponse(res.id, answer.error.code, `the client did not answer the server's ${r.method}: ${answer.error.message}`);
        const checked = await this.checkAnswer(p.peer!, p.channel.server, r.method, answer.result);
        if ("refused" in checked) return errorResponse(res.id, INTERNAL_ERROR, checked.refused);
        responses[key] = checked.result;
      }
      const params: Record<string, unknown> = { ...(p.params ?? {}) };
      delete params.inputResponses;
      delete params.requestState;
      if (Object.keys(responses).length > 0) params.inputResponses = responses;
      if (typeof res.result.requestState === "string") params.requestState = res.result.requestState;
      res = await this.request(p.channel, p.method, params);
    }
    return isError(res) || res.result.resultType !== "input_required"
      ? res
      : errorResponse(res.id, INTERNAL_ERROR, `the MCP server still asked for input after ${MAX_INPUT_ROUNDS} rounds`);
  }

  /** Send a handshake-era client a request of the broker's own (ids in the broker's space); resolves with its answer. */
  private ask(peer: ClientPeer, method: string, params: Record<string, unknown> | undefined, related?: JsonRpcId): Promise<JsonRpcResponse> {
    const id = `tappass-${this.nextId++}`;
    return new Promise((resolve) => {
      this.asks.set(`${peer.id}\u0000${id}`, { peer, resolve });
      peer.send(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params }, related);
    });
  }

  /**
   * A handshake-era server sent a request (sampling, elicitation, roots) inside a stateless
   * client's call. The client cannot take server requests: it gets an InputRequiredResult for
   * its call instead, and the upstream call waits for the client's retry (resumeBridge). A request
   * arriving while the call already waits is queued for the next round.
   */
  private inputFromLegacyServer(ch: Channel, msg: JsonRpcRequest, bid: JsonRpcId, call: Pending): void {
    const waiting = this.bridgeOfCall.get(bid);
    if (waiting) {
      this.bridges.get(waiting)?.queued.push({ id: msg.id, method: msg.method, params: msg.params });
      return;
    }
    const need = CAPABILITY_OF[msg.method];
    if (!INPUT_METHODS.has(call.method) || (need && !isObj(call.clientCaps?.[need]))) {
      ch.send(errorResponse(msg.id, METHOD_NOT_FOUND, `${msg.method}: the client did not declare the "${need ?? msg.method}" capability for this request`));
      return;
    }
    this.askForInput(ch, bid, call, [{ id: msg.id, method: msg.method, params: msg.params }]);
  }

  /** Answer the client's call with an InputRequiredResult carrying `requests`; the upstream call stays open. */
  private askForInput(ch: Channel, bid: JsonRpcId, call: Pending, requests: InputBridge["queued"]): void {
    const peer = call.peer;
    const clientId = call.clientId;
    if (!peer || clientId === undefined) return;
    const token = randomBytes(24).toString("base64url"); // one-time and unguessable: the retry must present it
    const inputRequests: Record<string, unknown> = {};
    const asked = new Map<string, { id: JsonRpcId; method: string }>();
    requests.forEach((r, i) => {
      const key = `input-${i + 1}`;
      asked.set(key, { id: r.id, method: r.method });
      inputRequests[key] = r.params === undefined ? { method: r.method } : { method: r.method, params: r.params };
    });
    const timer = setTimeout(() => this.abandonInput(token, "the client did not come back with the input the server asked for"), this.opts.inputWaitMs ?? INPUT_WAIT_MS);
    (timer as { unref?: () => void }).unref?.();
    this.bridges.set(token, { bid, channel: ch, method: call.method, name: call.params?.name, token: peer.token, asked, queued: [], timer });
    this.bridgeOfCall.set(bid, token);
    // detach the call from this client request (answered now; a stateless HTTP exchange ends here)
    this.byClient.delete(`${peer.id}\u0000${String(clientId)}`);
    if (call.progress) this.progress.delete(call.progress.token);
    call.peer = undefined;
    call.clientId = undefined;
    peer.send({ jsonrpc: "2.0", id: clientId, result: { resultType: "input_required", inputRequests, requestState: token } }, clientId);
  }

  /** The stateless client's retry with `inputResponses`: answer the server, and the call's result becomes this request's. */
  private resumeBridge(peer: ClientPeer, msg: JsonRpcRequest, token: string): void {
    const b = this.bridges.get(token)!;
    const params = paramsOf(msg);
    if (msg.method !== b.method || (b.name !== undefined && params.name !== b.name) || (b.token !== undefined && peer.token !== b.token) || peer.channel !== b.channel) {
      peer.send(errorResponse(msg.id, INVALID_PARAMS, "requestState does not belong to this request"), msg.id);
      return;
    }
    const responses = isObj(params.inputResponses) ? params.inputResponses : {};
    const missing = [...b.asked.keys()].filter((k) => !isObj(responses[k]));
    if (missing.length > 0) {
      peer.send(errorResponse(msg.id, INVALID_PARAMS, `inputResponses lacks ${missing.join(", ")}`), msg.id);
      return;
    }
    const call = this.pending.get(b.bid);
    clearTimeout(b.timer);
    this.bridges.delete(token);
    this.bridgeOfCall.delete(b.bid);
    if (!call) {
      peer.send(errorResponse(msg.id, INTERNAL_ERROR, "the call this input was for has already ended"), msg.id);
      return;
    }
    for (const [key, q] of b.asked) void this.answerServer(peer, b.channel, { jsonrpc: "2.0", id: q.id, result: responses[key] as Record<string, unknown> }, q.method);
    call.peer = peer;
    call.clientId = msg.id;
    const meta = isObj(params._meta) ? params._meta : {};
    if (isObj(meta[META_CLIENT_CAPABILITIES])) call.clientCaps = meta[META_CLIENT_CAPABILITIES];
    this.byClient.set(`${peer.id}\u0000${String(msg.id)}`, b.bid);
    const ct = meta.progressToken;
    if (call.progress && (typeof ct === "string" || typeof ct === "number")) {
      call.progress.clientToken = ct;
      this.progress.set(call.progress.token, { peer, clientToken: ct, clientId: msg.id });
    }
    if (b.queued.length > 0) this.askForInput(b.channel, b.bid, call, b.queued);
  }

  /** A stateless client never came back: the server's requests fail, the call is cancelled upstream and settled (audited). */
  private abandonInput(token: string, reason: string): void {
    const b = this.bridges.get(token);
    if (!b) return;
    this.bridges.delete(token);
    this.bridgeOfCall.delete(b.bid);
    for (const q of [...b.asked.values(), ...b.queued]) b.channel.send(errorResponse(q.id, INTERNAL_ERROR, reason));
    b.channel.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: b.bid, reason } });
    const call = this.pending.get(b.bid);
    if (!call) return;
    this.pending.delete(b.bid);
    void Promise.resolve(call.transform?.(errorResponse(b.bid, REQUEST_CANCELLED, reason))).catch((e) => this.log(`mcp broker: settling ${call.method} failed: ${(e as Error).stack ?? e}`));
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

  /**
   * Before a stateless-era client's first request on a channel of unknown era: a server that
   * answers `server/discover` in that era is used as is; any other gets the handshake.
   */
  private async ensureUpstreamFor(ch: Channel, meta: unknown): Promise<void> {
    if (ch.era === "unknown" && !ch.identity) {
      const st = this.channels.get(ch)!;
      st.probe ??= this.probeDiscover(ch, isObj(meta) ? { _meta: meta } : {}).then(() => undefined);
      await st.probe;
      if ((ch.era as Channel["era"]) === "modern") return;
    }
    await this.ensureInitialized(ch, meta);
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
    // a stateless server needs `_meta` on this request too: the client's own (without its progress
    // token, which belongs to the call), or, for a handshake-era client, what it declared in initialize
    let base: Record<string, unknown> = {};
    if (ch.era === "modern") {
      if (peer.era === "modern" && isObj(meta)) {
        const { progressToken: _p, ...rest } = meta;
        base = { _meta: rest };
      } else base = withModernMeta(undefined, peer.handshake);
    }
    for (let page = 0; page < 1000; page++) {
      const params: Record<string, unknown> = { ...base };
      if (cursor) params.cursor = cursor;
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
    // a stateless client's retry carries its answers to the server's input requests: governed too
    const inputResponses = isObj(params.inputResponses) ? params.inputResponses : undefined;
    const key = `${peer.id}\u0000${String(msg.id)}`;
    this.governing.add(key);
    let gate: CallGate;
    try {
      // a definition already listed is used as is (no extra turn through the microtask queue)
      const tool = this.channels.get(peer.channel)?.tools?.get(name) ?? (await this.toolDef(peer, name, params._meta));
      try {
        gate = await this.opts.governor.call({ server: peer.channel.server, name, args, tool, session_id: peer.id, token: peer.token, inputResponses });
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
      gate.args === args && gate.inputResponses === inputResponses ? params : { ...params, arguments: gate.args, ...(gate.inputResponses ? { inputResponses: gate.inputResponses } : {}) },
      gate.inspectInput,
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
