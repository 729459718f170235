/**
 * Several clients at once through ONE Streamable HTTP broker in front of ONE upstream
 * (@modelcontextprotocol/server-everything, streamableHttp): three handshake-era clients (SDK v1,
 * each with its own broker session backed by its own upstream session) and two 2026-07-28
 * clients (SDK v2 pinned; stateless, multiplexed by the broker over one upstream session with
 * remapped ids). All of them, concurrently: an echo, a sampling request, an elicitation and a
 * long-running call with progress — the server → client requests raised inside each call,
 * the progress notifications and the responses must reach the client whose call it was, under
 * that client's own ids and tokens, and nothing of one client may appear on another's wire.
 * The 2026-07-28 clients never receive a server → client request at all (the spec forbids it):
 * their sampling and elicitation arrive as `input_required` results (multi round-trip requests).
 * Stateless clients of different agent sessions get different upstream sessions, so what a
 * handshake-era server keeps per session is never another agent session's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Client as Client2026, StreamableHTTPClientTransport as Http2026 } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { issueToken } from "../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../src/engine/install.ts";
import { type HttpBrokerHandle, startHttpBroker } from "../../src/engine/mcp/index.ts";
import { closeAllState, openState } from "../../src/engine/store/state.ts";
import { root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

let home: { home: string; cleanup: () => void };
let upstream: ReturnType<typeof Bun.spawn>;
let broker: HttpBrokerHandle;

const ALLOW = ["echo", "trigger-sampling-request", "trigger-elicitation-request", "trigger-long-running-operation", "get-roots-list"];

async function freePort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port as number;
  await s.stop(true);
  return port;
}

beforeAll(async () => {
  home = tempHome();
  await initInstall({ home: home.home });
  const port = await freePort();
  upstream = Bun.spawn([join(root, "node_modules", ".bin", "mcp-server-everything"), "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdout: "ignore", stderr: "pipe" });
  // wait for "listening"
  const reader = (upstream.stderr as ReadableStream<Uint8Array>).getReader();
  let seen = "";
  while (!seen.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server-everything did not start: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  void (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  const keys = loadKeys(home.home);
  broker = await startHttpBroker({
    envelope: signedEnvelope(testPayload({ tools: { allow: ALLOW } }), keys),
    db: openState(home.home),
    keys,
    upstream: `http://127.0.0.1:${port}/mcp`,
    server: "everything",
    log: () => {},
  });
});
afterAll(async () => {
  await broker.close();
  upstream.kill();
  closeAllState();
  home.cleanup();
});

const bearer = async () => `Bearer ${await issueToken(loadKeys(home.home), { agent: "mailer", session_id: crypto.randomUUID(), ttlSeconds: 300 })}`;
const textOf = (r: unknown) => ((r as { content?: Array<{ text?: string }> }).content ?? []).map((b) => b.text ?? "").join("\n");

interface Party {
  tag: string;
  era: "legacy" | "modern";
  /** every message the broker sent this client */
  received: unknown[];
  /** what this client's handlers were asked */
  sampled: string[];
  elicited: number;
  rooted: number;
  call(name: string, args: Record<string, unknown>, onprogress?: (p: { progress: number }) => void): Promise<unknown>;
  close(): Promise<void>;
}

/** Record what arrives on the client's transport (the client sets onmessage when it connects). */
function tap(t: { onmessage?: (m: never, extra?: never) => void }, into: unknown[]): void {
  const orig = t.onmessage;
  t.onmessage = (m, extra) => {
    into.push(m);
    orig?.(m, extra);
  };
}

async function legacyParty(tag: string): Promise<Party> {
  const p: Party = { tag, era: "legacy", received: [], sampled: [], elicited: 0, rooted: 0, call: async () => undefined, close: async () => {} };
  const client = new Client({ name: `legacy-${tag}`, version: "1" }, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    p.sampled.push(JSON.stringify(req.params.messages));
    return { model: `model-${tag}`, role: "assistant", content: { type: "text", text: `sampled-for-${tag}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => {
    p.elicited++;
    return { action: "accept", content: { name: `name-${tag}` } };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    p.rooted++;
    return { roots: [{ uri: `file:///work/root-${tag}`, name: `root-${tag}` }] };
  });
  const t = new StreamableHTTPClientTransport(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } });
  await client.connect(t);
  tap(t as never, p.received);
  p.call = (name, args, onprogress) => client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress, timeout: 20_000 } : { timeout: 20_000 });
  p.close = () => client.close();
  return p;
}

async function modernParty(tag: string): Promise<Party> {
  const p: Party = { tag, era: "modern", received: [], sampled: [], elicited: 0, rooted: 0, call: async () => undefined, close: async () => {} };
  const client = new Client2026({ name: `modern-${tag}`, version: "1" }, { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  client.setRequestHandler("sampling/createMessage", async (req) => {
    p.sampled.push(JSON.stringify((req.params as { messages: unknown }).messages));
    return { model: `model-${tag}`, role: "assistant", content: { type: "text", text: `sampled-for-${tag}` } };
  });
  client.setRequestHandler("elicitation/create", async () => {
    p.elicited++;
    return { action: "accept", content: { name: `name-${tag}` } };
  });
  const t = new Http2026(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } });
  await client.connect(t);
  tap(t as never, p.received);
  p.call = (name, args, onprogress) =>
    client.callTool({ name, arguments: args }, onprogress ? { onprogress, timeout: 20_000 } : { timeout: 20_000 }) as Promise<unknown>;
  p.close = () => client.close();
  return p;
}

/** One client's whole workload, its calls running concurrently. */
async function workload(p: Party): Promise<void> {
  const progress: number[] = [];
  const [echo, sampling, elicitation, long, roots] = await Promise.all([
    p.call("echo", { message: `echo-${p.tag}` }),
    p.call("trigger-sampling-request", { prompt: `prompt-${p.tag}`, maxTokens: 20 }),
    p.call("trigger-elicitation-request", {}),
    p.call("trigger-long-running-operation", { duration: 1, steps: 4 }, (x) => progress.push(x.progress)),
    // roots: server-everything asks for them once per session, outside any call — a request no
    // stateless client can receive — so only the handshake-era clients are asked
    p.era === "legacy" ? p.call("get-roots-list", {}) : Promise.resolve(undefined),
  ]);
  expect(textOf(echo)).toContain(`echo-${p.tag}`);
  expect(textOf(sampling)).toContain(`sampled-for-${p.tag}`);
  expect(p.sampled).toHaveLength(1);
  expect(p.sampled[0]).toContain(`prompt-${p.tag}`);
  expect(textOf(elicitation)).toContain(`name-${p.tag}`);
  expect(p.elicited).toBe(1);
  expect(textOf(long)).toContain("completed");
  expect(progress.length).toBeGreaterThanOrEqual(1); // this call's progress, under this client's token
  if (roots !== undefined) expect(textOf(roots)).toContain(`root-${p.tag}`);
}

test("five clients (3 handshake-era, 2 stateless) at once through one broker and one upstream: everything reaches the right client, and only that client", async () => {
  const tags = ["kq7a", "mz3b", "pw5c", "rt8d", "vx2e"];
  const parties = await Promise.all([legacyParty(tags[0]!), legacyParty(tags[1]!), legacyParty(tags[2]!), modernParty(tags[3]!), modernParty(tags[4]!)]);
  try {
    await Promise.all(parties.map((p) => workload(p)));
    // a second round at once, so ids and progress tokens are reused across clients while others are in flight
    for (const p of parties) {
      p.sampled.length = 0;
      p.elicited = 0;
    }
    await Promise.all(parties.map((p) => workload(p)));
  } finally {
    await Promise.all(parties.map((p) => p.close()));
  }
  for (const p of parties) {
    const wire = JSON.stringify(p.received);
    // one client's traffic never carries another's
    for (const other of tags.filter((t) => t !== p.tag)) expect(wire).not.toContain(other);
    const requests = (p.received as Array<{ method?: string; id?: unknown }>).filter((m) => m.method !== undefined && m.id !== undefined);
    if (p.era === "modern") {
      // 2026-07-28: no server → client requests, ever; they came as input_required results
      expect(requests).toEqual([]);
      expect(wire).toContain('"resultType":"input_required"');
    } else {
      expect(requests.map((m) => m.method).sort()).toEqual(expect.arrayContaining(["elicitation/create", "sampling/createMessage"]));
    }
  }
}, 60_000);

test("two handshake-era clients answering their own sessions' server requests of the same id: each answer is scanned (a secret in either never reaches the server)", async () => {
  const SECRET = "ghp_Q8m2ZxV7nL4kR9tY1bC6dF3hJ5wE0aS8uP2i";
  const party = async (tag: string) => {
    const client = new Client({ name: `legacy-${tag}`, version: "1" }, { capabilities: { elicitation: {} } });
    let asked!: () => void;
    const wasAsked = new Promise<void>((r) => (asked = r));
    let answer!: () => void;
    const mayAnswer = new Promise<void>((r) => (answer = r));
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked();
      await mayAnswer; // both sessions' requests are in flight before either is answered
      return { action: "accept", content: { name: `${tag} ${SECRET}` } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } }));
    return { client, wasAsked, answer, tag };
  };
  const [a, b] = await Promise.all([party("sa"), party("sb")]);
  try {
    const calls = [a, b].map((p) => p.client.callTool({ name: "trigger-elicitation-request", arguments: {} }, undefined, { timeout: 20_000 }));
    await Promise.all([a.wasAsked, b.wasAsked]);
    a.answer();
    b.answer();
    const results = await Promise.all(calls.map((c) => c.catch((e: Error) => ({ content: [{ type: "text", text: e.message }] }))));
    for (const r of results) {
      // withheld at the broker: the server never got the answer (its result cannot echo it back)
      expect(textOf(r)).toContain("withheld the client's answer to elicitation/create");
      expect(textOf(r)).not.toContain(SECRET);
    }
  } finally {
    await Promise.all([a.client.close(), b.client.close()]);
  }
}, 60_000);

test("stateless clients of a handshake-era server: one upstream session per agent session (the token's sid), shared only within it", async () => {
  // a recording handshake-era server: which upstream session each call arrived on
  const seen: Array<{ session: string | null; message: string }> = [];
  const legacy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method === "DELETE") return new Response(null, { status: 200 });
      if (req.method !== "POST") return new Response(null, { status: 405 });
      const m = (await req.json()) as { id?: number | string; method?: string; params?: { arguments?: { message?: string } } };
      const sid = m.method === "initialize" ? crypto.randomUUID() : req.headers.get("mcp-session-id");
      if (m.id === undefined) return new Response(null, { status: 202 });
      const ok = (result: unknown) => Response.json({ jsonrpc: "2.0", id: m.id, result }, { headers: sid ? { "mcp-session-id": sid } : {} });
      if (m.method === "initialize") return ok({ protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "rec", version: "1" } });
      if (m.method === "tools/list") return ok({ tools: [{ name: "echo", inputSchema: { type: "object", properties: { message: { type: "string" } } } }] });
      if (m.method === "tools/call") {
        seen.push({ session: sid, message: m.params?.arguments?.message ?? "" });
        return ok({ content: [{ type: "text", text: `echo ${m.params?.arguments?.message}` }] });
      }
      return Response.json({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "no" } });
    },
  });
  const keys = loadKeys(home.home);
  const b = await startHttpBroker({ envelope: signedEnvelope(testPayload({ tools: { allow: ["echo"] } }), keys), db: openState(home.home), keys, upstream: `http://127.0.0.1:${legacy.port}/mcp`, server: "rec", log: () => {} });
  const client = async (auth: string) => {
    const c = new Client2026({ name: "m", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await c.connect(new Http2026(new URL(b.url), { requestInit: { headers: { authorization: auth } } }));
    return c;
  };
  try {
    const one = await bearer();
    const [a1, a2, other] = await Promise.all([client(one), client(one), client(await bearer())]);
    await Promise.all([
      a1.callTool({ name: "echo", arguments: { message: "a1" } }),
      a2.callTool({ name: "echo", arguments: { message: "a2" } }),
      other.callTool({ name: "echo", arguments: { message: "other" } }),
    ]);
    await Promise.all([a1.close(), a2.close(), other.close()]);
    const session = (m: string) => seen.find((x) => x.message === m)?.session;
    expect(session("a1")).toBeTruthy();
    expect(session("a1")).toBe(session("a2")!); // the same agent session shares one upstream session
    expect(session("other")).toBeTruthy();
    expect(session("other")).not.toBe(session("a1")!);
  } finally {
    await b.close();
    await legacy.stop(true);
  }
});
