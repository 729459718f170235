// `tappass exec -- gemini`: the real Gemini CLI (headless) under exec, its model calls through the
// gateway in Gemini's wire format, inside the kernel ring; the model is a scripted fake on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { auditRows as readAudit } from "../helpers/audit.ts";
import { root } from "../helpers/cli.ts";
import { type ExecRig, execRig } from "../helpers/exec-rig.ts";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { tappassAsync } from "../helpers/run.ts";

const gemini = join(root, "node_modules", ".bin", "gemini");
const OPERATOR_KEY = "AIzaSyOPERATORrealKEYmustNOTleak000000000";
let home: string;
let ws: string;
let fakeHome: string;
let rig: ExecRig;
let fm: FakeModel;

beforeAll(async () => {
  rig = execRig("exec-gem", { fakeHome: true });
  ({ home, ws, fakeHome } = rig);
  fm = await startFakeModel();
  fm.setDefault((req) => {
    // Gemini CLI first asks a small model to rate the prompt (a JSON answer), then streams the turn
    if (req.body?.generationConfig?.responseMimeType === "application/json") return { text: JSON.stringify({ complexity_reasoning: "simple", complexity_score: 5 }) };
    const all = JSON.stringify(req.body?.contents ?? []);
    if (all.includes("functionResponse")) return { text: "Finished." };
    const m = /RUN<<(.+?)>>/.exec(all);
    if (m) return { text: "Running it.", tool_calls: [{ name: "run_shell_command", arguments: { command: m[1] } }] };
    const read = /READ<<(.+?)>>/.exec(all);
    if (read) return { text: "Reading it.", tool_calls: [{ name: "read_file", arguments: { file_path: read[1] } }] };
    return { text: "Hello from the governed model." };
  });
}, 60_000);

afterAll(async () => {
  await fm?.close();
  rig?.cleanup();
});

const execGemini = (prompt: string) =>
  tappassAsync(["exec", "--agent", "coder", "--upstream-gemini", fm.url, "--summary", join(home, "last-summary.json"), "--", gemini, "-p", prompt, "--output-format", "json"], {
    home,
    cwd: ws,
    env: { HOME: fakeHome, GEMINI_API_KEY: OPERATOR_KEY, GEMINI_CLI_TRUST_WORKSPACE: "true", NO_COLOR: "1" },
    timeoutMs: 150_000,
  });

describe("tappass exec -- gemini", () => {
  test("a governed session: answer through the gateway, operator key only upstream, audit rows", async () => {
    fm.reset();
    const r = await execGemini("say hello");
    expect(r.stderr).not.toContain(OPERATOR_KEY);
    if (r.code !== 0) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Hello from the governed model.");
    const ups = fm.requests.filter((q) => q.path.startsWith("/v1beta/models/"));
    expect(ups.length).toBeGreaterThan(0);
    for (const q of ups) expect(q.headers["x-goog-api-key"]).toBe(OPERATOR_KEY);
    const rows = readAudit(home).filter((x) => x.surface === "llm");
    expect(rows.length).toBeGreaterThanOrEqual(ups.length);
    expect(rows.at(-1)?.meta.wire).toBe("gemini-generate");
  }, 180_000);

  test("an allowed tool call goes through Gemini's BeforeTool hook to the governor, which audits it", async () => {
    fm.reset();
    const before = readAudit(home).filter((x) => x.surface === "hook").length;
    const r = await execGemini(`please read READ<<${join(ws, "notes.txt")}>>`);
    if (process.env.DEBUG_GEMINI) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    // the tool ran: its result went back to the model
    expect(JSON.stringify(fm.requests.at(-1)?.body)).toContain("hello");
    const hooks = readAudit(home).filter((x) => x.surface === "hook").slice(before);
    expect(hooks.length).toBe(1);
    expect(hooks[0]).toMatchObject({ decision: "allow", meta: { harness: "gemini-cli", tool: "read_file" } });
  }, 180_000);

  test("a shell command the policy denies never runs", async () => {
    fm.reset();
    const marker = join(ws, "should-not-exist");
    const r = await execGemini(`please run RUN<<touch ${marker}>>`);
    if (process.env.DEBUG_GEMINI) console.error(r.stdout, r.stderr);
    expect(await Bun.file(marker).exists()).toBe(false);
    expect(`${r.stdout}${r.stderr}`).toMatch(/dangerous_commands|denied|policy/);
    const denied = readAudit(home).filter((x) => x.decision === "deny" || JSON.stringify(x.step_decisions).includes("dangerous_commands"));
    expect(denied.length).toBeGreaterThan(0);
  }, 180_000);
});
