/**
 * A client cancels a tools/call while the broker is still deciding on it (notifications/cancelled
 * arrives during the policy check): the call is never sent upstream, the client gets no answer
 * (it has moved on), the audit row records the cancellation, and no routing state is left behind.
 * Real parts: the Broker, the Governor and the pipeline with the standard test policy; the
 * upstream is an in-memory channel that records what reaches it.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readRows } from "../../../src/engine/audit/read.ts";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../../src/engine/install.ts";
import { Broker } from "../../../src/engine/mcp/broker.ts";
import { createGovernor } from "../../../src/engine/mcp/govern.ts";
import type { JsonRpcMessage } from "../../../src/engine/mcp/jsonrpc.ts";
import type { Channel, ClientPeer, Governor, Tool } from "../../../src/engine/mcp/types.ts";
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

async function setup(opts: { cancelDuringDecision: boolean; policy?: Record<string, unknown> }) {
  const keys = loadKeys(h.home);
  const envelope = signedEnvelope(testPayload(opts.policy ?? {}), keys);
  const p = envelope.payload;
  const pipeline = createPipeline({ envelope, db, keys });
  const token = await issueToken(keys, { agent: p.agent, session_id: "peer-1", sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 });
  const real = createGovernor({ pipeline, db, token: async () => token });
  const upstream: JsonRpcMessage[] = [];
  const channel: Channel = {
    server: "paged",
    era: "legacy",
    onmessage: () => {},
    send(m) {
      upstream.push(m);
      if ("method" in m && m.method === "tools/list" && "id" in m) queueMicrotask(() => channel.onmessage({ jsonrpc: "2.0", id: m.id, result: { tools: [search] } }));
      if ("method" in m && m.method === "tools/call" && "id" in m) queueMicrotask(() => channel.onmessage({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "3 results" }] } }));
    },
    close: async () => {},
  };
  const toClient: JsonRpcMessage[] = [];
  let broker!: Broker;
  let decisions = 0;
  // the real governor; the client's cancellation lands while its pipeline is still running
  const governor: Governor = {
    filterTools: (t, s) => real.filterTools(t, s),
    async call(req) {
      decisions++;
      const pending = real.call(req);
      if (opts.cancelDuringDecision && decisions === 1) {
        broker.fromClient(peer, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "user pressed Esc" } });
      }
      return pending;
    },
  };
  broker = new Broker({ governor });
  const peer: ClientPeer = { id: "peer-1", channel, send: (m) => toClient.push(m) };
  broker.attach(peer);
  return { broker, peer, upstream, toClient, flush: () => real.flush(), decisions: () => decisions };
}

const settle = () => new Promise((r) => setTimeout(r, 50));
/** Wait until `cond` holds (the first governed call of a process compiles validators and detectors). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
const mcpRows = () => readRows(db).filter((r) => r.surface === "mcp");
/** The broker's routing tables, all of which must be empty once nothing is in flight. */
const state = (b: Broker) => {
  const x = b as unknown as Record<string, Map<unknown, unknown> | Set<unknown>>;
  return Object.fromEntries(["pending", "byClient", "progress", "serverRequests", "governing", "cancelledEarly"].map((k) => [k, x[k]?.size]));
};
const empty = { pending: 0, byClient: 0, progress: 0, serverRequests: 0, governing: 0, cancelledEarly: 0 };

test("cancelled during the policy check: never forwarded, no answer, the audit row says so, no state left", async () => {
  const s = await setup({ cancelDuringDecision: true });
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
  await settle();
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: { progressToken: "p7" } } });
  await until(() => mcpRows().length === 1);
  await settle();
  await s.flush();
  expect(s.decisions()).toBe(1);
  // the pipeline ran to the end (it allowed the call), but nothing went upstream after the list
  expect(s.upstream.map((m) => ("method" in m ? m.method : "response"))).toEqual(["tools/list"]);
  expect(s.toClient.filter((m) => "id" in m && m.id === 7)).toEqual([]);
  const row = readRows(db).at(-1)!;
  expect(row.surface).toBe("mcp");
  expect(row.meta).toMatchObject({
    tool: "search_docs",
    cancelled_by_client: true,
    forwarded_upstream: false,
    upstream_error: { code: -32800, message: expect.stringContaining("before it was sent upstream") },
  });
  expect(state(s.broker)).toEqual(empty);
  // the broker keeps serving: the same request id used again goes through normally
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search_docs", arguments: { query: "again" } } });
  await until(() => s.toClient.some((m) => "id" in m && m.id === 7));
  await s.flush();
  expect(s.toClient.find((m) => "id" in m && m.id === 7)).toMatchObject({ result: { content: [{ type: "text", text: "3 results" }] } });
  expect(s.upstream.filter((m) => "method" in m && m.method === "tools/call")).toHaveLength(1);
  expect(state(s.broker)).toEqual(empty);
});

test("cancelled during the policy check of a call the policy refuses: one deny row, nothing forwarded, no state left", async () => {
  const s = await setup({ cancelDuringDecision: true, policy: { tools: { deny: ["search_docs"] } } });
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" } } });
  await until(() => mcpRows().length === 1);
  await settle();
  await s.flush();
  expect(s.upstream.filter((m) => "method" in m && m.method === "tools/call")).toEqual([]);
  expect(s.toClient.filter((m) => "id" in m && m.id === 7)).toEqual([]);
  const rows = mcpRows();
  expect(rows).toHaveLength(1);
  expect(rows[0]!.decision).toBe("deny");
  expect(state(s.broker)).toEqual(empty);
});

test("without a cancellation the same call is forwarded and answered (the control)", async () => {
  const s = await setup({ cancelDuringDecision: false });
  s.broker.fromClient(s.peer, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search_docs", arguments: { query: "q" }, _meta: { progressToken: "p7" } } });
  await until(() => s.toClient.some((m) => "id" in m && m.id === 7));
  await s.flush();
  expect(s.upstream.filter((m) => "method" in m && m.method === "tools/call")).toHaveLength(1);
  expect(s.toClient.find((m) => "id" in m && m.id === 7)).toMatchObject({ result: { content: [{ type: "text", text: "3 results" }] } });
  expect(readRows(db).at(-1)!.meta).not.toHaveProperty("cancelled_by_client");
  expect(state(s.broker)).toEqual(empty);
});
