/**
 * A 2026-07-28 (stateless) server BEHIND the broker, on both transports, with clients of both
 * eras in front:
 *  - Streamable HTTP: the official SDK v2 server in strict modern-only mode
 *    (test/fixtures/mcp/v2-server.ts: createMcpHandler(…, { legacy: "reject" })) — it refuses
 *    `initialize` and checks MCP-Protocol-Version / Mcp-Method / Mcp-Name against the body;
 *  - stdio: a faithful hand-written stateless server (test/fixtures/mcp/modern-server.ts), since
 *    the SDK v2's stdio transport still speaks the handshake era.
 * In front: the SDK v2 client pinned to 2026-07-28 and the SDK v1 client (handshake era), whose
 * `initialize` the broker answers from the server's `server/discover`. Both see only allowed
 * tools, a denied call never reaches the server, injection in a result is withheld, and the
 * server's Multi Round-Trip Request (send_email asks the user to confirm through elicitation)
 * works for both: passed through to the v2 client (inside a governed result), inspected like
 * server output and turned into an ordinary elicitation/create request for the v1 client, then
 * retried upstream by the broker.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Client as Client2026, StreamableHTTPClientTransport as Http2026 } from "@modelcontextprotocol/client";
import { StdioClientTransport as Stdio2026 } from "@modelcontextprotocol/client/stdio";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { readRows } from "../../src/engine/audit/read.ts";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { issueToken } from "../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../src/engine/install.ts";
import { type HttpBrokerHandle, startHttpBroker } from "../../src/engine/mcp/index.ts";
import { closeAllState, openState } from "../../src/engine/store/state.ts";
import { root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

const fx = join(root, "test", "fixtures", "mcp");
const bun = process.execPath;
let home: { home: string; cleanup: () => void };
let upstream: ReturnType<typeof Bun.spawn>;
let broker: HttpBrokerHandle;
let httpLog: string;
let stdioLog: string;

beforeAll(async () => {
  home = tempHome();
  await initInstall({ home: home.home });
  httpLog = join(home.home, "v2-server.log");
  stdioLog = join(home.home, "modern-server.log");
  upstream = Bun.spawn([bun, join(fx, "v2-server.ts"), "--http", "0"], { stdout: "pipe", stderr: "inherit", env: { ...process.env, MCP_FIXTURE_LOG: httpLog } });
  const reader = (upstream.stdout as ReadableStream<Uint8Array>).getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  const keys = loadKeys(home.home);
  broker = await startHttpBroker({ envelope: signedEnvelope(testPayload(), keys), db: openState(home.home), keys, upstream: `http://127.0.0.1:${port}/mcp`, server: "v2", log: () => {} });
});
afterAll(async () => {
  await broker.close();
  upstream.kill();
  closeAllState();
  home.cleanup();
});

const ALLOWED = ["http_get", "search_docs", "send_email"]; // delete_records: tools.deny in the test policy
const textOf = (r: unknown) => ((r as { content?: Array<{ text?: string }> }).content ?? []).map((b) => b.text ?? "").join("\n");
const bearer = async () => `Bearer ${await issueToken(loadKeys(home.home), { agent: "mailer", session_id: crypto.randomUUID(), ttlSeconds: 300 })}`;
const ran = (log: string) => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
/** The tool runs the server saw (the HTTP fixture logs runs; the stdio one logs every message). */
const toolRuns = (log: string, tool: string) => ran(log).filter((e) => e.tool === tool || (e.method === "tools/call" && e.name === tool));
const mcpRows = (tool: string) => readRows(openState(home.home)).filter((r) => r.surface === "mcp" && r.meta.tool === tool);
/** Rows of allowed calls are appended while the result goes back: wait for them. */
async function rowsOf(tool: string, n: number): Promise<ReturnType<typeof mcpRows>> {
  for (let i = 0; i < 100 && mcpRows(tool).length < n; i++) await Bun.sleep(20);
  return mcpRows(tool);
}

/** What every client does, whatever its era and transport. */
interface Driven {
  list(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; content?: unknown }>;
  confirmations: string[];
  close(): Promise<void>;
}

async function exercise(c: Driven, log: string, label: string): Promise<void> {
  expect((await c.list()).sort()).toEqual(ALLOWED);
  expect(textOf(await c.call("search_docs", { query: label }))).toBe(`3 results for ${label}`);
  const denied = await c.call("delete_records", { table: label });
  expect(denied.isError).toBe(true);
  expect(textOf(denied)).toContain("tools.deny");
  expect(toolRuns(log, "delete_records")).toEqual([]); // refused by the broker: never reached the server
  const evil = await c.call("http_get", { url: "evil" });
  expect(evil.isError).toBe(true);
  expect(textOf(evil)).toContain("TapPass withheld");
  expect(textOf(evil)).not.toContain("IGNORE ALL PREVIOUS");
  // multi round-trip: the server asks the user (elicitation) before it sends
  const sent = await c.call("send_email", { to: `${label}@acme.example`, body: "hi" });
  expect(sent.isError ?? false).toBe(false);
  expect(textOf(sent)).toBe(`sent to ${label}@acme.example`);
  // the test policy tokenises PII in tool arguments (redact_pii_in_prompt, kinds tool_args): the
  // server works with a placeholder, and what comes back through the pipeline's after_call is
  // restored — the server's input request too, for a stateless client (part of a governed
  // result) and a handshake-era one (asked by the broker after inspecting it) alike
  expect(c.confirmations).toEqual([`Send the email to ${label}@acme.example?`]);
}

async function modernHttp(): Promise<Driven> {
  const confirmations: string[] = [];
  const client = new Client2026({ name: "modern-http", version: "1" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  client.setRequestHandler("elicitation/create", async (req) => {
    confirmations.push(String((req.params as { message?: unknown }).message));
    return { action: "accept", content: { confirm: true } };
  });
  await client.connect(new Http2026(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } }));
  return {
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: (name, args) => client.callTool({ name, arguments: args }) as Promise<{ isError?: boolean; content?: unknown }>,
    confirmations,
    close: () => client.close(),
  };
}

function legacy(client: Client, confirmations: string[]): void {
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    confirmations.push(String(req.params.message));
    return { action: "accept", content: { confirm: true } };
  });
}

async function legacyHttp(): Promise<Driven> {
  const confirmations: string[] = [];
  const client = new Client({ name: "legacy-http", version: "1" }, { capabilities: { elicitation: {} } });
  legacy(client, confirmations);
  await client.connect(new StreamableHTTPClientTransport(new URL(broker.url), { requestInit: { headers: { authorization: await bearer() } } }));
  return {
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: (name, args) => client.callTool({ name, arguments: args }) as Promise<{ isError?: boolean; content?: unknown }>,
    confirmations,
    close: () => client.close(),
  };
}

const stdioEnv = () => ({ ...(process.env as Record<string, string>), TAPPASS_HOME: home.home, MCP_FIXTURE_LOG: stdioLog, MCP_TEST_SERVER: "modern" });
const stdioArgs = [join(fx, "broker-stdio.ts"), "--", bun, join(fx, "modern-server.ts")];

async function modernStdio(): Promise<Driven> {
  const confirmations: string[] = [];
  const client = new Client2026({ name: "modern-stdio", version: "1" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  client.setRequestHandler("elicitation/create", async (req) => {
    confirmations.push(String((req.params as { message?: unknown }).message));
    return { action: "accept", content: { confirm: true } };
  });
  await client.connect(new Stdio2026({ command: bun, args: stdioArgs, env: stdioEnv(), stderr: "pipe" }));
  return {
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: (name, args) => client.callTool({ name, arguments: args }) as Promise<{ isError?: boolean; content?: unknown }>,
    confirmations,
    close: () => client.close(),
  };
}

async function legacyStdio(): Promise<Driven> {
  const confirmations: string[] = [];
  const client = new Client({ name: "legacy-stdio", version: "1" }, { capabilities: { elicitation: {} } });
  legacy(client, confirmations);
  await client.connect(new StdioClientTransport({ command: bun, args: stdioArgs, env: stdioEnv(), stderr: "pipe" }));
  return {
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: (name, args) => client.callTool({ name, arguments: args }) as Promise<{ isError?: boolean; content?: unknown }>,
    confirmations,
    close: () => client.close(),
  };
}

test("http, 2026-07-28 client → broker → 2026-07-28 server (SDK v2, modern-only): governed; MRTR passes through, each round audited", async () => {
  const c = await modernHttp();
  try {
    await exercise(c, httpLog, "mh");
  } finally {
    await c.close();
  }
  expect(toolRuns(httpLog, "send_email")).toHaveLength(1);
  // the input_required round and the client's retry are two calls, each with its row
  const rows = await rowsOf("send_email", 2);
  expect(rows).toHaveLength(2);
  expect(rows.map((r) => r.decision)).toEqual(["redact", "redact"]); // allowed, the address tokenised
  expect(rows[0]!.meta.input_required).toEqual(["elicitation/create"]);
  expect(rows[1]!.meta).not.toHaveProperty("input_required");
});

test("http, handshake-era client (SDK v1) → broker → 2026-07-28 server: initialize answered from server/discover, MRTR bridged to elicitation/create", async () => {
  const before = mcpRows("send_email").length;
  const c = await legacyHttp();
  try {
    await exercise(c, httpLog, "lh");
  } finally {
    await c.close();
  }
  expect(toolRuns(httpLog, "send_email")).toHaveLength(2);
  // one call from the client's point of view: one row for it, no input_required round of its own,
  // and one for the broker's inspection of what the server asked (before asking the client)
  const rows = (await rowsOf("send_email", before + 2)).slice(before);
  const calls = rows.filter((r) => r.meta.input_request_of === undefined);
  expect(calls).toHaveLength(1);
  expect(calls[0]!.decision).toBe("redact");
  expect(calls[0]!.meta).not.toHaveProperty("input_required");
  const inspected = rows.filter((r) => r.meta.input_request_of === calls[0]!.trace_id);
  expect(inspected).toHaveLength(1);
  expect(inspected[0]!.decision).not.toBe("deny");
});

test("stdio, 2026-07-28 client → broker → 2026-07-28 stdio server: governed, MRTR passes through", async () => {
  rmSync(stdioLog, { force: true });
  const c = await modernStdio();
  try {
    await exercise(c, stdioLog, "ms");
  } finally {
    await c.close();
  }
  const seen = ran(stdioLog);
  // every request that reached the server spoke its era: no handshake, `_meta` version on each
  expect(seen.filter((e) => e.method !== "response" && e.id !== undefined).every((e) => e.version === "2026-07-28")).toBe(true);
  expect(seen.some((e) => e.method === "initialize")).toBe(false);
});

test("stdio, 2026-07-28 client: its answers to the server's input request (inputResponses) are scanned like arguments — a secret in them never reaches the server", async () => {
  // a user (or model) who pastes a credential into the server's form: the retry carries it upstream
  const SECRET = "ghp_Q8m2ZxV7nL4kR9tY1bC6dF3hJ5wE0aS8uP2i";
  const client = new Client2026({ name: "modern-stdio-secret", version: "1" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { confirm: true, note: `use my token ${SECRET}` } }));
  const log = join(home.home, "secret-stdio.log");
  await client.connect(new Stdio2026({ command: bun, args: stdioArgs, env: { ...stdioEnv(), MCP_FIXTURE_LOG: log }, stderr: "pipe" }));
  const before = mcpRows("send_email").length;
  try {
    const r = (await client.callTool({ name: "send_email", arguments: { to: "x@acme.example", body: "hi" } })) as { isError?: boolean; content?: unknown };
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("TapPass blocked");
    expect(textOf(r)).not.toContain(SECRET);
  } finally {
    await client.close();
  }
  // the first round reached the server; the retry with the secret did not
  expect(toolRuns(log, "send_email")).toHaveLength(1);
  expect(readFileSync(log, "utf8")).not.toContain(SECRET);
  const rows = (await rowsOf("send_email", before + 2)).slice(before);
  expect(rows.map((r) => r.decision)).toEqual(["redact", "deny"]);
  expect(JSON.stringify(rows[1])).not.toContain(SECRET);
  expect(rows[1]!.step_decisions.some((d) => d.step === "detect_secrets" && d.decision === "deny")).toBe(true);
});

test("stdio, handshake-era client (SDK v1) → broker → 2026-07-28 stdio server: the broker is its handshake; MRTR bridged", async () => {
  rmSync(stdioLog, { force: true });
  const c = await legacyStdio();
  try {
    await exercise(c, stdioLog, "ls");
  } finally {
    await c.close();
  }
  const seen = ran(stdioLog).filter((e) => e.id !== undefined && e.method !== "response");
  // the client's initialize was tried once and refused; everything after carried the stateless `_meta`
  expect(seen[0]).toMatchObject({ method: "initialize" });
  expect(seen.slice(1).every((e) => e.version === "2026-07-28")).toBe(true);
  expect(seen.map((e) => e.method)).toContain("server/discover");
  // send_email: the first attempt and the broker's retry with the user's answer
  expect(seen.filter((e) => e.method === "tools/call" && e.name === "send_email")).toHaveLength(2);
});

test("stdio, handshake-era client: a server's input request is server output — injection in it is withheld, never asked of the user, and audited", async () => {
  const c = await legacyStdio();
  try {
    const r = await c.call("send_email", { to: "bob@acme.example", body: "evil" });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("what the server asked the client was withheld");
    expect(textOf(r)).not.toContain("IGNORE ALL PREVIOUS");
    expect(c.confirmations).toEqual([]);
  } finally {
    await c.close();
  }
  const rows = await rowsOf("send_email", 1);
  const inspected = rows.find((r) => typeof r.meta.input_request_of === "string" && r.decision === "deny");
  // scan_output: the after_call step that reads server output for injection
  expect(inspected?.step_decisions.find((f) => f.decision === "deny")?.step).toBe("scan_output");
  // and the call's own row ends refused, pointing at the inspection
  const call = rows.find((r) => r.trace_id === inspected?.meta.input_request_of);
  expect(call?.decision).toBe("deny");
  expect(call?.meta.denied_by).toMatchObject({ step: "scan_output" });
});

test("stdio, 2026-07-28 client → broker → handshake-era server (server-everything): its sampling and elicitation requests arrive as input_required, never as requests", async () => {
  const allow = ["trigger-sampling-request", "trigger-elicitation-request", "echo"];
  const t = new Stdio2026({
    command: bun,
    args: [join(fx, "broker-stdio.ts"), "--", join(root, "node_modules", ".bin", "mcp-server-everything"), "stdio"],
    env: { ...(process.env as Record<string, string>), TAPPASS_HOME: home.home, MCP_TEST_POLICY: JSON.stringify({ tools: { allow } }) },
    stderr: "pipe",
  });
  const client = new Client2026({ name: "modern", version: "1" }, { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  const asked: string[] = [];
  client.setRequestHandler("sampling/createMessage", async () => {
    asked.push("sampling");
    return { model: "m-4711", role: "assistant", content: { type: "text", text: "sampled reply 4711" } };
  });
  client.setRequestHandler("elicitation/create", async () => {
    asked.push("elicitation");
    return { action: "accept", content: { name: "Ada 4711" } };
  });
  await client.connect(t);
  const received: unknown[] = [];
  const tr = t as unknown as { onmessage?: (m: unknown, e?: unknown) => void };
  const orig = tr.onmessage;
  tr.onmessage = (m, e) => {
    received.push(m);
    orig?.(m, e);
  };
  try {
    expect(textOf(await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "say hi", maxTokens: 20 } }))).toContain("sampled reply 4711");
    expect(textOf(await client.callTool({ name: "trigger-elicitation-request", arguments: {} }))).toContain("Ada 4711");
    expect(asked).toEqual(["sampling", "elicitation"]);
  } finally {
    await client.close();
  }
  const msgs = received as Array<{ method?: string; id?: unknown; result?: { resultType?: string } }>;
  expect(msgs.filter((m) => m.method !== undefined && m.id !== undefined)).toEqual([]);
  expect(msgs.filter((m) => m.result?.resultType === "input_required")).toHaveLength(2);
});

test("stdio, both client eras: a first call without a tools/list before it is governed against the definition the broker fetches itself", async () => {
  for (const open of [legacyStdio, modernStdio]) {
    const c = await open();
    try {
      expect(textOf(await c.call("search_docs", { query: "cold" }))).toBe("3 results for cold");
      const denied = await c.call("delete_records", { table: "t" });
      expect(denied.isError).toBe(true);
    } finally {
      await c.close();
    }
  }
});
