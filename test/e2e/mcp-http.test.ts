/**
 * The Streamable HTTP broker (library API startHttpBroker) end to end, and both protocol eras
 * through both transports: the SDK v1 client (handshake era) and the v2 client pinned to
 * 2026-07-28 (server/discover, `_meta`, Mcp-Method / Mcp-Name headers) in front of real servers
 * that only speak the handshake era (the paginating fixture, server-everything).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListToolsResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { Client as Client2026, StreamableHTTPClientTransport as Http2026 } from "@modelcontextprotocol/client";
import { StdioClientTransport as Stdio2026 } from "@modelcontextprotocol/client/stdio";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { issueToken } from "../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../src/engine/install.ts";
import { type HttpBrokerHandle, startHttpBroker } from "../../src/engine/mcp/index.ts";
import { openState } from "../../src/engine/store/state.ts";
import { root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

const fx = join(root, "test", "fixtures", "mcp");
const bun = process.execPath;
let home: { home: string; cleanup: () => void };
let upstream: ReturnType<typeof Bun.spawn>;
let broker: HttpBrokerHandle;

beforeAll(async () => {
  home = tempHome();
  await initInstall({ home: home.home });
  upstream = Bun.spawn([bun, join(fx, "paged-server.ts"), "--http", "0"], { stdout: "pipe", stderr: "inherit" });
  const reader = (upstream.stdout as ReadableStream<Uint8Array>).getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  const keys = loadKeys(home.home);
  broker = await startHttpBroker({ envelope: signedEnvelope(testPayload(), keys), db: openState(home.home), keys, upstream: `http://127.0.0.1:${port}/mcp`, server: "paged", log: () => {} });
});
afterAll(async () => {
  await broker.close();
  upstream.kill();
  home.cleanup();
});

const bearer = async (sid = crypto.randomUUID()) => `Bearer ${await issueToken(loadKeys(home.home), { agent: "mailer", session_id: sid, ttlSeconds: 300 })}`;
const textOf = (r: unknown) => ((r as { content: Array<{ text?: string }> }).content ?? []).map((b) => b.text ?? "").join("\n");
const allowed = ["http_get", "read_file", "search_docs", "send_email"];

test("http, handshake era: every page filtered, denied call readable, allowed call and injection check work", async () => {
  const c = new Client({ name: "e2e", version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } }));
  try {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await c.request({ method: "tools/list", params: cursor ? { cursor } : {} }, ListToolsResultSchema);
      names.push(...r.tools.map((t) => t.name));
      cursor = r.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(names.sort()).toEqual(allowed);
    const denied = await c.callTool({ name: "transfer_funds", arguments: { iban: "X", amount: 5 } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain('forbids the capability "payments"');
    const ok = await c.callTool({ name: "search_docs", arguments: { query: "x" } });
    expect(textOf(ok)).toBe("3 results for x");
    const evil = await c.callTool({ name: "http_get", arguments: { url: "evil" } });
    expect(evil.isError).toBe(true);
    expect(textOf(evil)).toContain("withheld");
  } finally {
    await c.close();
  }
});

test("http, handshake era: a call without a capability token is refused in words", async () => {
  const c = new Client({ name: "e2e", version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(broker.url)));
  try {
    const r = await c.callTool({ name: "search_docs", arguments: { query: "x" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("capability token");
  } finally {
    await c.close();
  }
});

test("http, 2026-07-28 client on a handshake-era server: discover answered by the broker, list filtered, calls governed", async () => {
  const c = new Client2026({ name: "modern", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await c.connect(new Http2026(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } }));
  try {
    expect(c.getServerVersion()?.name).toBe("paged-fixture");
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await c.listTools(cursor ? { cursor } : {});
      names.push(...r.tools.map((t) => t.name));
      cursor = r.nextCursor;
    } while (cursor);
    expect(names.sort()).toEqual(allowed);
    expect(textOf(await c.callTool({ name: "read_file", arguments: { path: "a.txt" } }))).toBe("contents of a.txt");
    const r = await c.callTool({ name: "delete_records", arguments: { table: "t" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("tools.deny");
  } finally {
    await c.close();
  }
});

test("stdio, 2026-07-28 client on a handshake-era server (server-everything): discover bridged, tools governed", async () => {
  const t = new Stdio2026({
    command: bun,
    args: [join(fx, "broker-stdio.ts"), "--", join(root, "node_modules", ".bin", "mcp-server-everything"), "stdio"],
    env: { ...(process.env as Record<string, string>), TAPPASS_HOME: home.home, MCP_TEST_POLICY: JSON.stringify({ tools: { allow: ["get-sum", "echo"] } }) },
    stderr: "pipe",
  });
  const c = new Client2026({ name: "modern", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await c.connect(t);
  try {
    const names = (await c.listTools()).tools.map((x) => x.name).sort();
    expect(names).toEqual(["echo", "get-sum"]);
    expect(textOf(await c.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }))).toContain("5");
    const r = await c.callTool({ name: "get-env", arguments: {} });
    expect(r.isError).toBe(true);
  } finally {
    await c.close();
  }
});

test("http: a non-loopback Origin gets 403; stateless headers that disagree with the body get 400 / -32020", async () => {
  const evil = await fetch(broker.url, { method: "POST", headers: { origin: "https://evil.example", "content-type": "application/json" }, body: "{}" });
  expect(evil.status).toBe(403);
  const body = {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "delete_records", arguments: {}, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
  };
  const lie = await fetch(broker.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "search_docs" },
    body: JSON.stringify(body),
  });
  expect(lie.status).toBe(400);
  expect(((await lie.json()) as { error: { code: number } }).error.code).toBe(-32020);
});

test("http, raw 2026-07-28 JSON-RPC: server/discover is answered from the upstream handshake", async () => {
  const res = await fetch(broker.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover" },
    body: JSON.stringify({ jsonrpc: "2.0", id: "d1", method: "server/discover", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } }),
  });
  expect(res.status).toBe(200);
  const j = (await res.json()) as { id: string; result: Record<string, unknown> };
  expect(j.id).toBe("d1");
  expect(j.result).toMatchObject({ resultType: "complete", supportedVersions: ["2026-07-28"], serverInfo: { name: "paged-fixture" } });
});
