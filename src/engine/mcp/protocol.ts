/**
 * MCP protocol eras and what the broker needs to know about each.
 *
 *  - handshake era (2024-11-05 … 2025-11-25): `initialize` → result → `notifications/initialized`;
 *    over HTTP a session (`Mcp-Session-Id`) and `MCP-Protocol-Version` on later requests.
 *  - stateless era (2026-07-28): no handshake; every request carries its protocol version and
 *    client capabilities in `params._meta`; `server/discover` returns supported versions,
 *    capabilities and server info; results carry `resultType`; over HTTP each request has
 *    `MCP-Protocol-Version`, `Mcp-Method` and (tools/call, prompts/get, resources/read) `Mcp-Name`.
 *
 * When the upstream speaks only the handshake era and the client the stateless one, the broker
 * performs the handshake upstream itself and answers `server/discover` from its result.
 */
import { isObj, type JsonRpcRequest } from "./jsonrpc.ts";

export type Era = "legacy" | "modern";

export const MODERN_VERSION = "2026-07-28";
export const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const;
export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0];
export const SUPPORTED_VERSIONS = [MODERN_VERSION, ...LEGACY_VERSIONS];

export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";
export const META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
export const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

export const H_SESSION = "mcp-session-id";
export const H_VERSION = "mcp-protocol-version";
export const H_METHOD = "mcp-method";
export const H_NAME = "mcp-name";

/** The body field each name-bearing method's `Mcp-Name` header mirrors. */
export const NAME_SOURCE: ReadonlyMap<string, string> = new Map([
  ["tools/call", "name"],
  ["prompts/get", "name"],
  ["resources/read", "uri"],
  ["tasks/get", "taskId"],
  ["tasks/update", "taskId"],
  ["tasks/cancel", "taskId"],
]);

export const BROKER_INFO = { name: "tappass-mcp-broker", version: "0.1.0" };

/** The protocol version a request declares in `_meta` (stateless era), if any. */
export function metaVersion(msg: { params?: unknown }): string | undefined {
  const meta = isObj(msg.params) && isObj(msg.params._meta) ? msg.params._meta : undefined;
  const v = meta?.[META_PROTOCOL_VERSION];
  return typeof v === "string" ? v : undefined;
}

export function isModernVersion(v: string | undefined): boolean {
  return typeof v === "string" && v >= MODERN_VERSION;
}

/** The era of a request from a client: `initialize` is the handshake era; `_meta` version ≥ 2026-07-28 the stateless one. */
export function requestEra(msg: JsonRpcRequest): Era | undefined {
  if (msg.method === "initialize") return "legacy";
  if (msg.method === "server/discover") return "modern";
  return isModernVersion(metaVersion(msg)) ? "modern" : undefined;
}

/** The `Mcp-Name` value a request must carry (undefined when its method has none). */
export function nameOf(msg: { method: string; params?: unknown }): string | undefined {
  const key = NAME_SOURCE.get(msg.method);
  if (!key || !isObj(msg.params)) return undefined;
  const v = msg.params[key];
  return typeof v === "string" ? v : undefined;
}

/** What the handshake-era `initialize` returned, kept to answer `server/discover`. */
export interface ServerIdentity {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: Record<string, unknown>;
  instructions?: string;
}

/** An `initialize` request the broker sends upstream on behalf of a stateless-era client. */
export function initializeFromMeta(id: string | number, meta: Record<string, unknown> | undefined): JsonRpcRequest {
  const caps = meta && isObj(meta[META_CLIENT_CAPABILITIES]) ? meta[META_CLIENT_CAPABILITIES] : {};
  const info = meta && isObj(meta[META_CLIENT_INFO]) ? meta[META_CLIENT_INFO] : { name: "tappass-broker-client", version: "0.1.0" };
  return { jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: LATEST_LEGACY_VERSION, capabilities: caps, clientInfo: info } };
}

/** The `server/discover` result the broker synthesises from an upstream handshake. */
export function discoverFromIdentity(ident: ServerIdentity): Record<string, unknown> {
  return {
    resultType: "complete",
    supportedVersions: [MODERN_VERSION],
    capabilities: ident.capabilities,
    serverInfo: ident.serverInfo,
    ...(ident.instructions ? { instructions: ident.instructions } : {}),
    _meta: { [META_SERVER_INFO]: ident.serverInfo },
  };
}

export function identityFromInitialize(result: Record<string, unknown>): ServerIdentity {
  return {
    protocolVersion: typeof result.protocolVersion === "string" ? result.protocolVersion : LATEST_LEGACY_VERSION,
    capabilities: isObj(result.capabilities) ? result.capabilities : {},
    serverInfo: isObj(result.serverInfo) ? result.serverInfo : { name: "unknown", version: "0" },
    instructions: typeof result.instructions === "string" ? result.instructions : undefined,
  };
}

/**
 * Params for a stateless-era server on behalf of a handshake-era client: `_meta` carries the
 * version, and the capabilities and client info the client declared in its `initialize`.
 */
export function withModernMeta(params: Record<string, unknown> | undefined, hs: { capabilities: Record<string, unknown>; clientInfo: Record<string, unknown> } | undefined): Record<string, unknown> {
  const meta = params && isObj(params._meta) ? params._meta : {};
  return {
    ...(params ?? {}),
    _meta: { ...meta, [META_PROTOCOL_VERSION]: MODERN_VERSION, [META_CLIENT_CAPABILITIES]: hs?.capabilities ?? {}, ...(hs ? { [META_CLIENT_INFO]: hs.clientInfo } : {}) },
  };
}

/** The `initialize` result the broker gives a handshake-era client of a stateless-era server (from its `server/discover`). */
export function initializeFromDiscover(d: Record<string, unknown>, requested: string): Record<string, unknown> {
  const meta = isObj(d._meta) ? d._meta : {};
  const info = isObj(meta[META_SERVER_INFO]) ? meta[META_SERVER_INFO] : isObj(d.serverInfo) ? d.serverInfo : { name: "unknown", version: "0" };
  return {
    protocolVersion: (LEGACY_VERSIONS as readonly string[]).includes(requested) ? requested : LATEST_LEGACY_VERSION,
    capabilities: isObj(d.capabilities) ? d.capabilities : {},
    serverInfo: info,
    ...(typeof d.instructions === "string" ? { instructions: d.instructions } : {}),
  };
}

/** Strip the stateless-era `_meta` keys before a request goes to a handshake-era server. */
export function toLegacyParams(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!params || !isObj(params._meta)) return params;
  const { [META_PROTOCOL_VERSION]: _v, [META_CLIENT_CAPABILITIES]: _c, [META_CLIENT_INFO]: _i, ...rest } = params._meta;
  const out = { ...params };
  if (Object.keys(rest).length === 0) delete out._meta;
  else out._meta = rest;
  return out;
}
