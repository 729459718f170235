/**
 * @modelcontextprotocol/conformance 0.1.16 server scenarios, run (under Node 22) against a real
 * MCP server that implements the fixture tools/resources/prompts (test/fixtures/mcp/
 * conformance-server.ts, official SDK) — once directly and once THROUGH the Streamable HTTP
 * broker, with a policy that allows the fixture tools. The broker must not change the outcome
 * of allowed traffic: every check must have the same status both ways.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { initInstall } from "../../src/engine/install.ts";
import { type HttpBrokerHandle, startHttpBroker } from "../../src/engine/mcp/index.ts";
import { readRows } from "../../src/engine/audit/read.ts";
import { closeAllState, openState } from "../../src/engine/store/state.ts";
import { FIXTURE_TOOLS } from "../fixtures/mcp/conformance-server.ts";
import { root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

const node = join(root, "node_modules", "node", "bin", "node");
const conformance = join(root, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
let home: { home: string; cleanup: () => void };
let upstream: ReturnType<typeof Bun.spawn>;
let upstreamUrl: string;
let broker: HttpBrokerHandle;
const out = mkdtempSync(join(tmpdir(), "tappass-conformance-"));

beforeAll(async () => {
  home = tempHome();
  await initInstall({ home: home.home });
  upstream = Bun.spawn([process.execPath, join(root, "test", "fixtures", "mcp", "conformance-server.ts"), "0"], { stdout: "pipe", stderr: "inherit" });
  const reader = (upstream.stdout as ReadableStream<Uint8Array>).getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  reader.releaseLock();
  upstreamUrl = `http://127.0.0.1:${port}/mcp`;
  const keys = loadKeys(home.home);
  const policy = testPayload({ tools: { allow: FIXTURE_TOOLS.map((t) => t.name) } });
  // the conformance client presents no capability token: the broker mints its own for the policy's agent
  broker = await startHttpBroker({ envelope: signedEnvelope(policy, keys), db: openState(home.home), keys, upstream: upstreamUrl, server: "conformance", selfToken: true, log: () => {} });
});
afterAll(async () => {
  await broker?.close();
  upstream?.kill();
  home.cleanup();
  rmSync(out, { recursive: true, force: true });
});

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** Run the suite (plus named extra scenarios) against url; returns scenario → its non-INFO checks. */
async function runSuite(url: string, label: string, extra: string[]): Promise<Map<string, Check[]>> {
  const dir = join(out, label);
  const runs: string[][] = [["--output-dir", dir], ...extra.map((s) => ["--scenario", s, "--output-dir", dir])];
  for (const args of runs) {
    const p = Bun.spawn([node, conformance, "server", "--url", url, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
  }
  const results = new Map<string, Check[]>();
  for (const d of readdirSync(dir)) {
    const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT.*$/, "");
    const checks = JSON.parse(readFileSync(join(dir, d, "checks.json"), "utf8")) as Check[];
    results.set(scenario, checks.filter((c) => c.status !== "INFO"));
  }
  return results;
}

const count = (r: Map<string, Check[]>, status: Check["status"]) => [...r.values()].flat().filter((c) => c.status === status).length;
const outcome = (r: Map<string, Check[]>) =>
  Object.fromEntries([...r].sort(([a], [b]) => a.localeCompare(b)).map(([s, checks]) => [s, checks.map((c) => `${c.id}:${c.status}`).sort()]));

test(
  "conformance server scenarios give the same results directly and through the broker",
  async () => {
    const extra = ["json-schema-2020-12", "server-sse-polling"];
    const direct = await runSuite(upstreamUrl, "direct", extra);
    const brokered = await runSuite(broker.url, "broker", extra);

    const counts = (r: Map<string, Check[]>) => ({ scenarios: r.size, passed: count(r, "SUCCESS"), failed: count(r, "FAILURE"), warnings: count(r, "WARNING") });
    const d = counts(direct);
    const b = counts(brokered);
    console.log(`conformance direct: ${JSON.stringify(d)}  through broker: ${JSON.stringify(b)}`);
    // the fixture server is complete: every scenario passes directly
    expect(d.scenarios).toBeGreaterThanOrEqual(32);
    expect(d.failed).toBe(0);
    expect(d.passed).toBeGreaterThanOrEqual(44);
    // and the broker changes nothing for allowed traffic: same counts, same check-by-check outcome
    expect(b).toEqual(d);
    expect(outcome(brokered)).toEqual(outcome(direct));
    // and the brokered calls really went through the pipeline: one allow row per tools/call
    await broker.close();
    closeAllState();
    const rows = readRows(openState(home.home)).filter((r) => r.surface === "mcp");
    const tools = new Set(rows.map((r) => (r.meta as { tool?: string }).tool));
    for (const t of ["test_simple_text", "test_sampling", "test_elicitation", "test_tool_with_progress", "test_reconnection", "test_error_handling"]) expect(tools).toContain(t);
    const calls = rows.filter((r) => (r.meta as { tool?: string }).tool !== undefined);
    expect(calls.every((r) => r.decision === "allow")).toBe(true);
    // the client's answers to the server's sampling and elicitation requests were governed too, and passed
    const answers = rows.filter((r) => (r.meta as { answer_to?: string }).answer_to !== undefined);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((r) => r.decision === "deny")).toEqual([]);
  },
  { timeout: 90_000 },
);
