// `tappass exec -- codex exec …`: a real Codex CLI session through the gateway (OpenAI
// Responses API) with rendered config.toml and the kernel ring; the model is a scripted fake.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { root, tappass } from "../helpers/cli.ts";
import { tappassAsync } from "../helpers/run.ts";
import { auditRows } from "../helpers/audit.ts";

const codex = join(root, "node_modules", ".bin", "codex");
let home: string;
let ws: string;
let fm: FakeModel;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "tappass-test-codex-"));
  ws = mkdtempSync(join(tmpdir(), "tappass-test-codexws-"));
  writeFileSync(join(ws, "agent-policy.yaml"), 'tools:\n  dangerous_commands: ["touch *should-not-exist*"]\n');
  for (const args of [
    ["init"],
    ["project", "create", "platform"],
    ["agent", "create", "coder", "--project", "platform", "--function", "coding_assistant"],
    ["policy", "apply", "--level", "agent=coder", join(ws, "agent-policy.yaml")],
  ]) {
    const r = tappass(args, { home });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  }
  fm = await startFakeModel();
  fm.setDefault((req) => {
    const input = JSON.stringify(req.body?.input ?? req.body?.messages ?? []);
    if (input.includes("function_call_output")) return { text: "Finished." };
    const m = /RUN<<(.+?)>>/.exec(input);
    return m ? { text: "", tool_calls: [{ name: "exec_command", arguments: { cmd: m[1] } }] } : { text: "Hello." };
  });
}, 60_000);

afterAll(async () => {
  await fm?.close();
  for (const d of [home, ws]) if (d) rmSync(d, { recursive: true, force: true });
});

const execCodex = (prompt: string) =>
  tappassAsync(["exec", "--agent", "coder", "--upstream-openai", fm.url, "--summary", join(home, "codex-summary.json"), "--", codex, "exec", "--skip-git-repo-check", prompt], {
    home,
    cwd: ws,
    env: { OPENAI_API_KEY: "sk-proj-operator-real-key" },
    timeoutMs: 150_000,
  });

test("codex runs through the gateway: an allowed command runs, the real key is used only upstream", async () => {
  const r = await execCodex("RUN<<echo codex-ran > codex.txt>>");
  expect(r.code).toBe(0);
  expect(existsSync(join(ws, "codex.txt"))).toBe(true);
  const calls = fm.requests.filter((q) => q.path === "/v1/responses");
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.every((q) => q.headers.authorization === "Bearer sk-proj-operator-real-key")).toBe(true);
  const s = JSON.parse(await Bun.file(join(home, "codex-summary.json")).text());
  expect(s.llm.calls).toBeGreaterThan(0);
  expect(s.kernel.confined).toBe(true);
}, 180_000);

test("codex: a policy-denied command never runs (the gateway strips the tool call) and is audited", async () => {
  const r = await execCodex("RUN<<touch should-not-exist-codex>>");
  expect(r.code).toBe(0);
  expect(existsSync(join(ws, "should-not-exist-codex"))).toBe(false);
  const rows = auditRows(home);
  expect(rows.some((row) => row.surface === "llm" && (row.step_decisions ?? []).some((f: { step: string; decision: string }) => f.step === "dangerous_commands" && f.decision !== "allow"))).toBe(true);
}, 180_000);
