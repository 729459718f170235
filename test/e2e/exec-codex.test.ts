// `tappass exec -- codex exec …`: a real Codex CLI session through the gateway (OpenAI
// Responses API) with rendered config.toml and the kernel ring; the model is a scripted fake.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { root } from "../helpers/cli.ts";
import { type ExecRig, execRig } from "../helpers/exec-rig.ts";
import { tappassAsync } from "../helpers/run.ts";
import { auditRows } from "../helpers/audit.ts";

const codex = join(root, "node_modules", ".bin", "codex");
let home: string;
let ws: string;
let rig: ExecRig;
let fm: FakeModel;

beforeAll(async () => {
  rig = execRig("codex", { category: false });
  ({ home, ws } = rig);
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
  rig?.cleanup();
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
