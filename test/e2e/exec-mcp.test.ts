// MCP servers under `tappass exec -- claude`: the project's .mcp.json servers go through the
// broker on the governor's side of the kernel ring (stdio via the agent's relay). The model only
// ever sees the tools the policy allows; calls are governed and audited (surface "mcp").
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditRows } from "../helpers/audit.ts";
import { root, tappass } from "../helpers/cli.ts";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { tappassAsync } from "../helpers/run.ts";

let home: string;
let ws: string;
let fm: FakeModel;
const seenTools: string[][] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "tappass-test-mcpexec-"));
  ws = mkdtempSync(join(tmpdir(), "tappass-test-mcpws-"));
  writeFileSync(join(ws, ".mcp.json"), JSON.stringify({ mcpServers: { everything: { command: join(root, "node_modules/.bin/mcp-server-everything"), args: ["stdio"] } } }));
  const r = tappass(["init"], { home });
  if (r.code !== 0) throw new Error(r.stderr);
  fm = await startFakeModel();
  fm.setDefault((req) => {
    const msgs = req.body?.messages ?? [];
    const last = msgs[msgs.length - 1];
    if (Array.isArray(last?.content) && last.content.some((b: { type: string }) => b.type === "tool_result")) return { text: `Tool said: ${JSON.stringify(last.content).slice(0, 400)}` };
    seenTools.push((req.body?.tools ?? []).map((t: { name: string }) => t.name).filter((n: string) => n.startsWith("mcp__")));
    return { text: "Calling the tool.", tool_calls: [{ name: "mcp__everything__echo", arguments: { message: "hello-through-the-broker" } }] };
  });
}, 60_000);

afterAll(async () => {
  await fm?.close();
  for (const d of [home, ws]) if (d) rmSync(d, { recursive: true, force: true });
});

test("claude under exec sees only allowed MCP tools and its call goes through the broker, audited", async () => {
  const summaryFile = join(ws, "summary.json");
  const r = await tappassAsync(["exec", "--approve-mcp", "--summary", summaryFile, "--upstream-anthropic", fm.url, "--", join(root, "node_modules/.bin/claude"), "-p", "echo something", "--output-format", "json"], {
    home,
    cwd: ws,
    env: { ANTHROPIC_API_KEY: "sk-ant-operator-key" },
    timeoutMs: 150_000,
  });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).result).toContain("Echo: hello-through-the-broker");
  // The list the model saw was filtered by policy: echo allowed, nothing outside the allow-list.
  const seen = seenTools.at(-1) ?? [];
  expect(seen).toContain("mcp__everything__echo");
  const { compileForAgent } = await import("../../src/engine/policy/index.ts");
  const { openState } = await import("../../src/engine/store/state.ts");
  const allow = new Set(compileForAgent(openState(home), "local").payload.tools.allow);
  for (const t of seen) expect(allow.has(t.replace(/^mcp__everything__/, ""))).toBe(true);
  const mcpRows = auditRows(home).filter((row) => row.surface === "mcp");
  expect(mcpRows.some((row) => row.decision === "allow" && JSON.stringify(row.meta).includes("echo"))).toBe(true);
  // the MCP calls belong to the run: its audit session, its summary
  const summary = JSON.parse(await Bun.file(summaryFile).text());
  expect(mcpRows.every((row) => row.session_id === summary.session_id)).toBe(true);
  expect(summary.mcp.calls).toBeGreaterThanOrEqual(1);
  for (const row of mcpRows) expect(summary.trace_ids).toContain(row.trace_id);
  expect(r.stderr).toMatch(/[1-9]\d* MCP call\(s\)/);
}, 180_000);
