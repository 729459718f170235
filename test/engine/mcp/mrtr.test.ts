/**
 * 2026-07-28 multi round-trip requests at the broker, with a stateless client in front of a
 * handshake-era server that asks the client something in the middle of a call: the client gets
 * an InputRequiredResult (never a request), its retry must carry the one-time requestState for
 * THIS call, the server gets the answer under its own request id, the final result goes to the
 * retry, and it all stays one governed call with one audit row. A client that never comes back
 * does not leave the server waiting forever. Real Broker, Governor and pipeline; in-memory upstream.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readRows } from "../../../src/engine/audit/read.ts";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../../src/engine/install.ts";
import { Broker } from "../../../src/engine/mcp/broker.ts";
import { createGovernor } from "../../../src/engine/mcp/govern.ts";
import type { JsonRpcMessage } from "../../../src/engine/mcp/jsonrpc.ts";
import type { Channel, ClientPeer, Tool } from "../../../src/engine/mcp/types.ts";
import { createPipeline } from "../../../src/engine/pipeline/index.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { closeAllState, openState } from "../../../src/engine/store/state.ts";
import { signedEnvelope, testPayload } from "../../helpers/policy.ts";
import { tempHome } from "../../helpers/home.ts";

let h: { home: string; cleanup: () => void };
let db: Db;
beforeEach(async () => {
  h = tempHome();
  await initInstall({ home: h.home });
  db = openState(h.home);
});
afterEach(() => {
  closeAllState();
  h.cleanup();
});

const search: Tool = { name: "search_docs", description: "Search the documentation", inputSchema: { type: "object", properties: { query: { type: "string" } } } };
const META = (caps: Record<string, unknown>) => ({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": caps });
const ELICIT = { mode: "form", message: "Really search?", requestedSchema: { type: "object", properties: { ok: { type: "boolean" } } } };

async function setup(inputWaitMs?: number, era: "modern" | "legacy" = "modern") {
  const keys = loadKeys(h.home);
  const envelope = signedEnvelope(testPayload(), keys);
  const p = envelope.payload;
  const pipeline = createPipeline({ envelope, db, keys });
  const token = await issueToken(keys, { agent: p.agent, session_id: "client-1", sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 });
  const governor = createGovernor({ pipeline, db, token: async () => token });
  const upstream: JsonRpcMessage[] = [];
  // a handshake-era server: on tools/call it first asks the client (elicitation/create, on stdio: no stream to relate it to)
  const calls: Array<{ id: string | number }> = [];
  const channel: Channel = {
    server: "paged",
    era: "legacy",
    identity: { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "legacy", version: "1" } },
    onmessage: () => {},
    send(m) {
      upstream.push(m);
      if ("method" in m && "id" in m && m.method === "tools/list") queueMicrotask(() => channel.onmessage({ jsonrpc: "2.0", id: m.id, result: { tools: [search] } }));
      if ("method" in m && "id" in m && m.method === "tools/call") {
        calls.push({ id: m.id });
        queueMicrotask(() => channel.onmessage({ jsonrpc: "2.0", id: `srv-${calls.length}`, method: "elicitation/create", params: ELICIT }));
      }
    },
    close: async () => {},
  };
  const broker = new Broker({ governor, inputWaitMs });
  const toClient: JsonRpcMessage[] = [];
  const peer: ClientPeer = { id: "client-1", era, channel, send: (m) => toClient.push(m) };
  broker.attach(peer);
  broker.fromClient(peer, { jsonrpc: "2.0", id: "l", method: "tools/list", params: { _meta: META({}) } });
  await tick();
  /** the server finishes its call (after the client answered) */
  const finish = (text: string) => channel.onmessage({ jsonrpc: "2.0", id: calls.at(-1)!.id, result: { content: [{ type: "text", text }] } });
  return { broker, peer, channel, upstream, toClient, finish, flush: () => governor.flush() };
}
const tick = () => new Promise((r) => setTimeout(r, 30));
/** Wait until `cond` holds (the first governed call of a process compiles validators and detectors). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
const byId = (msgs: JsonRpcMessage[], id: string | number) => msgs.filter((m) => "id" in m && m.id === id && !("method" in m)) as Array<{ result?: Record<string, unknown>; error?: { code: number; message: string } }>;
const state = (b: Broker) => {
  const x = b as unknown as Record<string, Map<unknown, unknown>>;
  return Object.fromEntries(["pending", "byClient", "progress", "serverRequests", "bridges", "bridgeOfCall", "asks"].map((k) => [k, x[k]?.size]));
};
const empty = { pending: 0, byClient: 0, progress: 0, serverRequests: 0, bridges: 0, bridgeOfCall: 0, asks: 0 };

test("a server's request inside a stateless client's call: input_required, a checked retry, the answer upstream, the result to the retry, one audit row", async () => {
  const s = await setup();
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: META({ elicitation: {} }) } });
  await until(() => byId(s.toClient, 1).length > 0);
  const [first] = byId(s.toClient, 1);
  expect(first?.result).toMatchObject({ resultType: "input_required", inputRequests: { "input-1": { method: "elicitation/create", params: ELICIT } } });
  const state1 = first!.result!.requestState as string;
  expect(state1).toMatch(/^[A-Za-z0-9_-]{32}$/);
  // no request ever reached the stateless client
  expect(s.toClient.filter((m) => "method" in m)).toEqual([]);

  // a retry for another tool, or without the answer, is refused and changes nothing
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "read_file", arguments: {}, requestState: state1, inputResponses: {}, _meta: META({}) } });
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, requestState: state1, inputResponses: {}, _meta: META({}) } });
  await tick();
  expect(byId(s.toClient, 2)[0]?.error).toMatchObject({ code: -32602, message: expect.stringContaining("does not belong") });
  expect(byId(s.toClient, 3)[0]?.error).toMatchObject({ code: -32602, message: expect.stringContaining("input-1") });

  // the real retry: the server gets the answer under ITS id; the final result goes to the retry
  const answer = { action: "accept", content: { ok: true } };
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, requestState: state1, inputResponses: { "input-1": answer }, _meta: META({ elicitation: {} }) } });
  await tick();
  expect(s.upstream.filter((m) => !("method" in m))).toEqual([{ jsonrpc: "2.0", id: "srv-1", result: answer }]);
  expect(s.upstream.filter((m) => "method" in m && m.method === "tools/call")).toHaveLength(1); // the retry was not sent again
  s.finish("3 results for q");
  await until(() => byId(s.toClient, 4).length > 0);
  await s.flush();
  expect(byId(s.toClient, 4)[0]?.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "3 results for q" }] });
  const rows = readRows(db).filter((r) => r.surface === "mcp" && r.meta.tool === "search_docs");
  expect(rows).toHaveLength(1);
  // the requestState is one-time
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, requestState: state1, inputResponses: { "input-1": answer }, _meta: META({ elicitation: {} }) } });
  await until(() => byId(s.toClient, 5).length > 0);
  expect(s.upstream.filter((m) => "method" in m && m.method === "tools/call")).toHaveLength(2); // a new, separately governed call
  expect(byId(s.toClient, 5)[0]?.result).toMatchObject({ resultType: "input_required" });
  expect(byId(s.toClient, 5)[0]?.result?.requestState).not.toBe(state1);
});

test("the client's answer is scanned on its way to the server: a credential in it reaches the server as an error, never as the answer", async () => {
  const s = await setup();
  const SECRET = "ghp_Q8m2ZxV7nL4kR9tY1bC6dF3hJ5wE0aS8uP2i";
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: META({ elicitation: {} }) } });
  await until(() => byId(s.toClient, 1).length > 0);
  const token = byId(s.toClient, 1)[0]!.result!.requestState as string;
  const answer = { action: "accept", content: { ok: true, note: `here is my token ${SECRET}` } };
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, requestState: token, inputResponses: { "input-1": answer }, _meta: META({ elicitation: {} }) } });
  await until(() => s.upstream.some((m) => "id" in m && m.id === "srv-1" && !("method" in m)));
  const toServer = s.upstream.filter((m) => "id" in m && m.id === "srv-1" && !("method" in m));
  expect(toServer).toHaveLength(1);
  expect(toServer[0]).toMatchObject({ error: { code: -32603, message: expect.stringContaining("TapPass withheld the client's answer to elicitation/create") } });
  expect(JSON.stringify(s.upstream)).not.toContain(SECRET);
  await s.flush();
  const rows = readRows(db).filter((r) => r.surface === "mcp" && r.meta.answer_to === "elicitation/create");
  expect(rows).toHaveLength(1);
  expect(rows[0]!.decision).toBe("deny");
  expect(JSON.stringify(rows[0])).not.toContain(SECRET);
});

test("a handshake-era client's answer to a server's request is scanned too: a clean answer goes through, a credential becomes an error", async () => {
  const s = await setup(undefined, "legacy");
  const SECRET = "ghp_Q8m2ZxV7nL4kR9tY1bC6dF3hJ5wE0aS8uP2i";
  for (const [n, note] of [[1, "all good"], [2, `use ${SECRET}`]] as const) {
    s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: n, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" } } });
    // the handshake-era client gets the server's request as it is, under the server's id
    await until(() => s.toClient.some((m) => "method" in m && m.method === "elicitation/create" && "id" in m && m.id === `srv-${n}`));
    s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: `srv-${n}`, result: { action: "accept", content: { ok: true, note } } });
    await until(() => s.upstream.some((m) => "id" in m && m.id === `srv-${n}` && !("method" in m)));
  }
  const answers = s.upstream.filter((m) => "id" in m && !("method" in m));
  expect(answers[0]).toEqual({ jsonrpc: "2.0", id: "srv-1", result: { action: "accept", content: { ok: true, note: "all good" } } });
  expect(answers[1]).toMatchObject({ id: "srv-2", error: { message: expect.stringContaining("TapPass withheld the client's answer to elicitation/create") } });
  expect(JSON.stringify(s.upstream)).not.toContain(SECRET);
});

test("a client without the capability: the server's request is refused upstream, nothing reaches the client", async () => {
  const s = await setup();
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: META({}) } });
  await until(() => s.upstream.some((m) => "id" in m && m.id === "srv-1"));
  expect(s.upstream.find((m) => "id" in m && m.id === "srv-1" && "error" in m)).toMatchObject({ error: { code: -32601, message: expect.stringContaining("elicitation") } });
  expect(byId(s.toClient, 1)).toEqual([]);
  s.finish("done without asking");
  await until(() => byId(s.toClient, 1).length > 0);
  expect(byId(s.toClient, 1)[0]?.result).toMatchObject({ content: [{ type: "text", text: "done without asking" }] });
});

test("a client that never comes back: the server's request fails, the call is cancelled upstream and audited, no state left", async () => {
  const s = await setup(60);
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: META({ elicitation: {} }) } });
  await until(() => byId(s.toClient, 1).length > 0);
  expect(byId(s.toClient, 1)[0]?.result?.resultType).toBe("input_required");
  await new Promise((r) => setTimeout(r, 120));
  await s.flush();
  expect(s.upstream.find((m) => "id" in m && m.id === "srv-1" && "error" in m)).toBeDefined();
  expect(s.upstream.find((m) => "method" in m && m.method === "notifications/cancelled")).toBeDefined();
  const row = readRows(db).filter((r) => r.surface === "mcp").at(-1)!;
  expect(row.meta).toMatchObject({ tool: "search_docs", cancelled_by_client: true });
  expect(state(s.broker)).toEqual(empty);
});
