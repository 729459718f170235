/**
 * The stdio broker forwards everything that is not tools/list or tools/call, and routes it back to
 * the right client: server → client requests (sampling/createMessage, elicitation/create,
 * roots/list) reach the client's handlers and their answers reach the server; resources and
 * prompts pass through unchanged; progress notifications reach the client's onprogress;
 * a cancellation reaches the server under the id the broker used upstream, and the broker stays
 * healthy. Driven by the official SDK client (handshake era) through runStdioBroker
 * (test/fixtures/mcp/broker-stdio.ts) in front of @modelcontextprotocol/server-everything and a
 * raw recording fixture (test/fixtures/mcp/cancel-server.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { readRows } from "../../src/engine/audit/read.ts";
import { initInstall } from "../../src/engine/install.ts";
import { closeAllState, openState } from "../../src/engine/store/state.ts";
import { root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

const fx = join(root, "test", "fixtures", "mcp");
const bun = process.execPath;
const everything = [join(root, "node_modules", ".bin", "mcp-server-everything"), "stdio"];
const cancelServer = [bun, join(fx, "cancel-server.ts")];
let home: { home: string; cleanup: () => void };

beforeAll(async () => {
  home = tempHome();
  await initInstall({ home: home.home });
});
afterAll(() => home.cleanup());

const CAPS = { sampling: {}, elicitation: {}, roots: { listChanged: true } };
// server-everything's tool names changed across versions (sampleLLM → trigger-sampling-request, ...)
const PATTERNS = {
  sampling: /^(trigger-sampling-request|sampleLLM)$/,
  elicitation: /^(trigger-elicitation-request|startElicitation)$/,
  roots: /^(get-roots-list|listRoots)$/,
  longRunning: /^(trigger-long-running-operation|longRunningOperation)$/,
  echo: /^echo$/,
};
const ALLOW = [
  "trigger-sampling-request",
  "sampleLLM",
  "trigger-elicitation-request",
  "startElicitation",
  "get-roots-list",
  "listRoots",
  "trigger-long-running-operation",
  "longRunningOperation",
  "echo",
  "slow",
  "record",
];

interface Connected {
  client: Client;
  /** every message the client wrote to the broker */
  sent: JSONRPCMessage[];
  stderr: () => string;
}

async function connect(server: string[], setup?: (c: Client) => void, direct = false): Promise<Connected> {
  const t = new StdioClientTransport({
    command: direct ? server[0]! : bun,
    args: direct ? server.slice(1) : [join(fx, "broker-stdio.ts"), "--", ...server],
    env: {
      ...(process.env as Record<string, string>),
      TAPPASS_HOME: home.home,
      MCP_TEST_POLICY: JSON.stringify({ tools: { allow: ALLOW } }),
    },
    stderr: "pipe",
  });
  let err = "";
  t.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const sent: JSONRPCMessage[] = [];
  const send = t.send.bind(t);
  t.send = (m: JSONRPCMessage) => {
    sent.push(m);
    return send(m);
  };
  const client = new Client({ name: "fwd-e2e", version: "1.0.0" }, { capabilities: CAPS });
  setup?.(client);
  await client.connect(t);
  return { client, sent, stderr: () => err };
}

async function pick(c: Client, what: keyof typeof PATTERNS): Promise<string> {
  const names = (await c.listTools()).tools.map((t) => t.name);
  const hit = names.find((n) => PATTERNS[what].test(n));
  if (!hit)
    throw new Error(
      `server-everything offers no ${what} tool matching ${PATTERNS[what]} through the broker; tools listed: ${names.join(", ")}`,
    );
  return hit;
}

const textOf = (r: unknown) => ((r as { content: Array<{ text?: string }> }).content ?? []).map((b) => b.text ?? "").join("\n");

test("sampling/createMessage from the server reaches the client's handler; its answer reaches the server and the tool result", async () => {
  const seen: unknown[] = [];
  const { client } = await connect(everything, (c) =>
    c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.push(req.params);
      return { model: "fixed-model", role: "assistant", content: { type: "text", text: "fixed sampling reply 4711" } };
    }),
  );
  try {
    const tool = await pick(client, "sampling");
    const r = await client.callTool({ name: tool, arguments: { prompt: "say hi", maxTokens: 20 } });
    expect(r.isError ?? false).toBe(false);
    expect(seen.length).toBe(1);
    expect(JSON.stringify(seen[0])).toContain("say hi");
    expect(textOf(r)).toContain("fixed sampling reply 4711");
    expect(textOf(r)).toContain("fixed-model");
  } finally {
    await client.close();
  }
}, 20_000);

test("elicitation/create from the server reaches the client's handler; the accepted content comes back in the tool result", async () => {
  const seen: unknown[] = [];
  const { client } = await connect(everything, (c) =>
    c.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.push(req.params);
      return { action: "accept", content: { name: "Zorblax Quux", check: true, integer: 7 } };
    }),
  );
  try {
    const tool = await pick(client, "elicitation");
    const r = await client.callTool({ name: tool, arguments: {} });
    expect(r.isError ?? false).toBe(false);
    expect(seen.length).toBe(1);
    expect(textOf(r)).toContain("Zorblax Quux");
    expect(textOf(r)).toContain("Favorite Integer: 7");
  } finally {
    await client.close();
  }
}, 20_000);

test("roots/list from the server reaches the client's handler; the tool result lists both roots", async () => {
  let asked = 0;
  const { client } = await connect(everything, (c) =>
    c.setRequestHandler(ListRootsRequestSchema, async () => {
      asked++;
      return {
        roots: [
          { uri: "file:///work/alpha-root", name: "alpha" },
          { uri: "file:///work/beta-root", name: "beta" },
        ],
      };
    }),
  );
  try {
    const tool = await pick(client, "roots");
    const r = await client.callTool({ name: tool, arguments: {} });
    expect(r.isError ?? false).toBe(false);
    expect(asked).toBeGreaterThanOrEqual(1);
    const text = textOf(r);
    expect(text).toContain("2 total");
    expect(text).toContain("file:///work/alpha-root");
    expect(text).toContain("file:///work/beta-root");
  } finally {
    await client.close();
  }
}, 20_000);

test("resources/list, resources/read, prompts/list and prompts/get pass through unchanged (equal to the server's own answers)", async () => {
  const viaBroker = (await connect(everything)).client;
  const direct = (await connect(everything, undefined, true)).client;
  try {
    const [rb, rd] = [await viaBroker.listResources(), await direct.listResources()];
    expect(rb.resources.length).toBeGreaterThan(0);
    expect(rb).toEqual(rd);
    expect(await viaBroker.listResourceTemplates()).toEqual(await direct.listResourceTemplates());
    const uri = rb.resources[0]!.uri;
    const read = await viaBroker.readResource({ uri });
    expect(read.contents.length).toBeGreaterThan(0);
    expect(read).toEqual(await direct.readResource({ uri }));

    const [pb, pd] = [await viaBroker.listPrompts(), await direct.listPrompts()];
    expect(pb.prompts.length).toBeGreaterThan(0);
    expect(pb).toEqual(pd);
    const simple = pb.prompts.find((p) => !(p.arguments ?? []).some((a) => a.required)) ?? pb.prompts[0]!;
    const args = Object.fromEntries((simple.arguments ?? []).filter((a) => a.required).map((a) => [a.name, "x"]));
    const got = await viaBroker.getPrompt({ name: simple.name, arguments: args });
    expect(got.messages.length).toBeGreaterThan(0);
    expect(got).toEqual(await direct.getPrompt({ name: simple.name, arguments: args }));
    // an unknown resource is the server's error, passed through
    await expect(viaBroker.readResource({ uri: "demo://no/such/resource" })).rejects.toThrow();
  } finally {
    await viaBroker.close();
    await direct.close();
  }
}, 20_000);

test("progress: notifications for a long-running tool reach the client's onprogress, under the client's own token", async () => {
  const { client, sent } = await connect(everything);
  try {
    const tool = await pick(client, "longRunning");
    const progress: Array<{ progress: number; total?: number }> = [];
    const r = await client.callTool({ name: tool, arguments: { duration: 1, steps: 4 } }, undefined, {
      onprogress: (p) => progress.push({ progress: p.progress, total: p.total }),
      timeout: 15_000,
    });
    expect(r.isError ?? false).toBe(false);
    expect(textOf(r)).toContain("Steps: 4");
    expect(progress).toEqual([1, 2, 3, 4].map((progress) => ({ progress, total: 4 })));
    // the client sent its own token; the broker swapped it upstream and back
    const call = sent.find((m) => "method" in m && m.method === "tools/call") as
      | { params: { _meta?: { progressToken?: unknown } } }
      | undefined;
    expect(call?.params._meta?.progressToken).toBeDefined();
  } finally {
    await client.close();
  }
}, 20_000);

test("cancellation (server-everything): an aborted long-running call rejects promptly and the broker keeps serving", async () => {
  const { client } = await connect(everything);
  try {
    const tool = await pick(client, "longRunning");
    const echo = await pick(client, "echo");
    const ac = new AbortController();
    const started = Date.now();
    const pending = client.callTool({ name: tool, arguments: { duration: 10, steps: 5 } }, undefined, {
      signal: ac.signal,
      timeout: 15_000,
    });
    setTimeout(() => ac.abort("user pressed stop"), 300);
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    const r = await client.callTool({ name: echo, arguments: { message: "still here" } });
    expect(textOf(r)).toContain("still here");
  } finally {
    await client.close();
  }
}, 20_000);

test("cancellation reaches the server for ITS id (the broker's upstream id), and the broker keeps serving", async () => {
  const { client, sent } = await connect(cancelServer);
  try {
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["record", "slow"]);
    // a few requests first, so client ids and broker ids are unlikely to coincide by accident
    for (let i = 0; i < 3; i++) await client.ping();
    const ac = new AbortController();
    const started = Date.now();
    const pending = client.callTool({ name: "slow", arguments: { ms: 20_000 } }, undefined, { signal: ac.signal, timeout: 25_000 });
    await Bun.sleep(300);
    ac.abort("stop");
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);

    const clientCall = sent.find((m) => "method" in m && m.method === "tools/call" && (m.params as { name?: string }).name === "slow") as {
      id: number | string;
    };
    const clientCancel = sent.find((m) => "method" in m && m.method === "notifications/cancelled") as
      | { params: { requestId: unknown } }
      | undefined;
    expect(clientCancel?.params.requestId).toBe(clientCall.id);

    await Bun.sleep(100);
    const rec = JSON.parse(textOf(await client.callTool({ name: "record", arguments: {} }))) as { calls: unknown[]; cancelled: unknown[] };
    expect(rec.calls.length).toBe(1);
    // the server was told to cancel exactly the request it received (its id, not the client's)
    expect(rec.cancelled).toEqual([rec.calls[0]]);

    // healthy: the next call goes through and answers
    expect(textOf(await client.callTool({ name: "slow", arguments: { ms: 20 } }))).toBe("slept 20 ms");
  } finally {
    await client.close();
  }
  // every call ends in one audit row, the cancelled one included (it says it was cancelled)
  closeAllState();
  const slow = readRows(openState(home.home)).filter((r) => r.surface === "mcp" && JSON.stringify(r.meta).includes('"slow"'));
  expect(slow.length).toBe(2);
  expect(slow.some((r) => JSON.stringify(r.meta).includes("cancelled"))).toBe(true);
}, 20_000);
