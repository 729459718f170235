/**
 * The broker's Governor over a policy compiled the way an operator gets one (built-in org
 * baseline, one project, one agent: compileForAgent), in front of server-everything's tools:
 * what the list shows, what calls do, what the audit row says, and operator approvals.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readRows } from "../../../src/engine/audit/read.ts";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { initInstall } from "../../../src/engine/install.ts";
import { createGovernor } from "../../../src/engine/mcp/govern.ts";
import { decideQueued } from "../../../src/engine/mcp/queue.ts";
import { ToolStore, toolHash } from "../../../src/engine/mcp/discovery.ts";
import type { CallGate, Tool } from "../../../src/engine/mcp/types.ts";
import { createPipeline, sharedAuditLog } from "../../../src/engine/pipeline/index.ts";
import { catalog } from "../../../src/engine/policy/catalog.ts";
import { compileForAgent } from "../../../src/engine/policy/index.ts";
import { createAgent, createProject } from "../../../src/engine/policy/registry.ts";
import type { CompiledPolicyEnvelope } from "../../../src/engine/policy/types.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { openState } from "../../../src/engine/store/state.ts";
import { signedEnvelope } from "../../helpers/policy.ts";
import { tempHome } from "../../helpers/home.ts";

let h: { home: string; cleanup: () => void };
let db: Db;
beforeEach(async () => {
  h = tempHome();
  await initInstall({ home: h.home });
  db = openState(h.home);
  createProject(db, "shop");
  createAgent(db, { name: "helper", project: "shop" });
});
afterEach(() => h.cleanup());

/** server-everything's tools as the catalog knows them (names, descriptions, schemas). */
const everything = (): Tool[] =>
  Object.entries(catalog().tools)
    .filter(([, e]) => e.server === "everything")
    .map(([name, e]) => ({ name, ...(e.description ? { description: e.description } : {}), inputSchema: e.input_schema ?? { type: "object" } }));

function governor(envelope: CompiledPolicyEnvelope = compileForAgent(db, "helper")) {
  const keys = loadKeys(h.home);
  const pipeline = createPipeline({ envelope, db, keys });
  const p = envelope.payload;
  return createGovernor({ pipeline, db, token: (sid) => issueToken(keys, { agent: p.agent, session_id: sid, sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 }) });
}

const call = (g: ReturnType<typeof governor>, name: string, args: Record<string, unknown> = {}): Promise<CallGate> =>
  g.call({ server: "everything", name, args, tool: everything().find((t) => t.name === name), session_id: "s1" });
const deniedBy = (gate: CallGate) => (gate.denied?._meta as Record<string, unknown> | undefined)?.["tappass/denied_by"];

test("a compiled baseline policy shows only the tools it allows; catalog membership is not permission", async () => {
  const g = governor();
  const shown = g.filterTools(everything(), "everything").map((t) => t.name).sort();
  expect(shown).toEqual(["add", "echo", "get-sum"]);
  // and calls agree with the list
  expect((await call(g, "get-sum", { a: 1, b: 2 })).denied).toBeUndefined();
  const tiny = await call(g, "get-tiny-image");
  expect(deniedBy(tiny)).toBe("tools_allowed");
  const env = await call(g, "get-env");
  expect(deniedBy(env)).toBe("tools_denied");
  await g.flush();
});

test("tappass tools approve: the pipeline allows the approved tool (row evidence names the approval); deny lists and forbidden capabilities still win", async () => {
  const g = governor();
  g.filterTools(everything(), "everything"); // discovered → queued
  expect(deniedBy(await call(g, "get-tiny-image"))).toBe("tools_allowed");
  decideQueued(db, "get-tiny-image", "approved");
  expect(g.filterTools(everything(), "everything").map((t) => t.name)).toContain("get-tiny-image");
  const ok = await call(g, "get-tiny-image");
  expect(ok.denied).toBeUndefined();
  await ok.after({ content: [{ type: "text", text: "an image" }] });
  await g.flush();
  const row = readRows(db).at(-1);
  expect(row?.decision).toBe("allow");
  expect(row?.step_decisions.find((f) => f.step === "tools_allowed")?.evidence).toMatchObject({ operator_approved: [{ tool: "get-tiny-image", server: "everything", decided_by: "operator" }] });

  // get-env exercises credential_access (a denied capability, also on tools.deny): approval does not lift it
  const getEnv = everything().find((t) => t.name === "get-env") as Tool;
  new ToolStore(db).observe("everything", getEnv, toolHash(getEnv), "pending"); // the broker never queues it; pretend it was
  decideQueued(db, "get-env", "approved");
  expect(g.filterTools(everything(), "everything").map((t) => t.name)).not.toContain("get-env");
  expect(deniedBy(await call(g, "get-env"))).toBe("tools_denied");
  // an approval of one server's tool does not approve the same name on another server
  const other = await g.call({ server: "elsewhere", name: "get-tiny-image", args: {}, tool: { name: "get-tiny-image", inputSchema: { type: "object" } }, session_id: "s1" });
  expect(other.denied).toBeDefined();
  await g.flush();
});

test("an operator deny of an allowed tool: the broker refuses and the row's decision is deny (GovernedCall.deny), not a meta note", async () => {
  const g = governor();
  g.filterTools(everything(), "everything");
  decideQueued(db, "echo", "denied");
  const r = await call(g, "echo", { message: "hi" });
  expect(r.denied?.isError).toBe(true);
  expect(deniedBy(r)).toBe("mcp_broker:operator_denied");
  await g.flush();
  const row = readRows(db).at(-1);
  expect(row?.decision).toBe("deny");
  expect(row?.meta.denied_by).toMatchObject({ step: "mcp_broker:operator_denied", reason: expect.stringContaining("tappass tools deny echo") });
  expect(row?.meta).not.toHaveProperty("decision_override");
  expect(row?.meta).not.toHaveProperty("broker_denied_by");
  expect(row?.step_decisions.find((f) => f.step === "mcp_broker:operator_denied")).toMatchObject({ decision: "deny", compiled_policy_aspect: "tools", evidence: { code: "operator_denied", tool: "echo" } });
  // every pipeline step allowed: only the broker's fragment denies
  expect(row?.step_decisions.filter((f) => f.decision === "deny").map((f) => f.step)).toEqual(["mcp_broker:operator_denied"]);
});

test("a tool the server does not offer: refused, row decision deny", async () => {
  const g = governor();
  const r = await g.call({ server: "everything", name: "echo", args: { message: "x" }, tool: undefined, session_id: "s1" });
  expect(r.denied).toBeDefined();
  await g.flush();
  const row = readRows(db).at(-1);
  expect(row?.decision).toBe("deny");
  expect(row?.step_decisions.some((f) => f.step === "mcp_broker:unknown_tool" && f.decision === "deny")).toBe(true);
});

test("lockdown: run-time approvals are ignored (only the signed allow list counts), in the list and on call", async () => {
  const compiled = compileForAgent(db, "helper");
  const keys = loadKeys(h.home);
  const locked = signedEnvelope({ ...compiled.payload, pipeline: { ...compiled.payload.pipeline, mode: "lockdown" } }, keys);
  const g = governor(locked);
  g.filterTools(everything(), "everything");
  decideQueued(db, "get-tiny-image", "approved");
  expect(g.filterTools(everything(), "everything").map((t) => t.name)).not.toContain("get-tiny-image");
  expect((await call(g, "get-tiny-image")).denied).toBeDefined();
  await g.flush();
});

test("an allowed call's result is handed back at once and its row committed right after; a row that cannot be written refuses later calls until the log takes one", async () => {
  const g = governor();
  const ok = await call(g, "echo", { message: "hi" });
  expect(ok.denied).toBeUndefined();
  const before = readRows(db).length;
  const out = await ok.after({ content: [{ type: "text", text: "Echo: hi" }] });
  expect(out).toEqual({ content: [{ type: "text", text: "Echo: hi" }] });
  await g.flush(); // the row follows the result
  const rows = readRows(db);
  expect(rows.length).toBe(before + 1);
  expect(rows.at(-1)).toMatchObject({ decision: "allow", surface: "mcp" });

  // an audit log that fails (a full disk), then recovers
  const envelope = compileForAgent(db, "helper");
  const keys = loadKeys(h.home);
  const p = envelope.payload;
  let down = true;
  const real = sharedAuditLog(db, keys);
  const flaky = { ...real, append: (i: Parameters<typeof real.append>[0]) => (down ? Promise.reject(new Error("disk full")) : real.append(i)) };
  const lines: string[] = [];
  const committed: string[] = [];
  const broken = createGovernor({
    pipeline: createPipeline({ envelope, db, keys, audit: flaky }),
    db,
    log: (l) => lines.push(l),
    onRow: (r) => committed.push(`${r.trace_id}:${r.decision}`),
    token: (sid) => issueToken(keys, { agent: p.agent, session_id: sid, sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 }),
  });
  const gate = await call(broken, "echo", { message: "plans" });
  expect(gate.denied).toBeUndefined();
  const released = await gate.after({ content: [{ type: "text", text: "Echo: plans" }] });
  expect(released).toEqual({ content: [{ type: "text", text: "Echo: plans" }] });
  await broken.flush();
  expect(lines.join("\n")).toContain("could not be written (disk full)");

  // refused while the log takes no rows (the refusal's own row fails too: the governor throws, the broker refuses)
  await expect(call(broken, "echo", { message: "again" })).rejects.toThrow("disk full");
  down = false;
  const refused = await call(broken, "echo", { message: "again" });
  expect(JSON.stringify(refused.denied)).toContain("could not be written (disk full)");
  const row = readRows(db).at(-1);
  expect(row?.decision).toBe("deny");
  expect(row?.step_decisions.find((f) => f.step === "mcp_broker:audit_unavailable")?.evidence?.failed_trace_id).toMatch(/^[0-9a-f]{32}$/);
  expect(committed.at(-1)).toBe(`${row?.trace_id}:deny`); // onRow gets the committed row itself
  // the log took that row: calls pass again
  const next = await call(broken, "echo", { message: "fine" });
  expect(next.denied).toBeUndefined();
  await next.after({ content: [{ type: "text", text: "Echo: fine" }] });
  await broken.flush();
  expect(readRows(db).at(-1)?.decision).toBe("allow");
});
