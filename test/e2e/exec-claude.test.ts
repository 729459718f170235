// `tappass exec -- claude`: a real Claude Code session (headless) through the gateway, with the
// hook, the rendered deny rules and the kernel ring in place; the model is a scripted fake on
// 127.0.0.1 that asks for tool calls.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { root, tappass } from "../helpers/cli.ts";
import { type ExecRig, execRig } from "../helpers/exec-rig.ts";
import { tappassAsync } from "../helpers/run.ts";
import { auditRows as readAudit } from "../helpers/audit.ts";

const claude = join(root, "node_modules", ".bin", "claude");
let home: string;
let ws: string;
let fakeHome: string;
let rig: ExecRig;
let fm: FakeModel;

beforeAll(async () => {
  rig = execRig("exec", { fakeHome: true, agentPolicy: 'tools:\n  dangerous_commands: ["touch *should-not-exist*"]\nnetwork:\n  egress: allowlist\n  allow_domains: ["allowed.test"]\n' });
  ({ home, ws, fakeHome } = rig);
  fm = await startFakeModel();
  // The model: asked for a "marker" action it requests the matching Bash command; once it sees a
  // tool result it answers in text.
  fm.setDefault((req) => {
    const msgs = req.body?.messages ?? [];
    const last = msgs[msgs.length - 1];
    if (Array.isArray(last?.content) && last.content.some((b: { type: string }) => b.type === "tool_result")) return { text: "Finished." };
    const all = JSON.stringify(msgs);
    const m = /RUN<<(.+?)>>/.exec(all);
    if (m) return { text: "Running it.", tool_calls: [{ name: "Bash", arguments: { command: m[1]!.replace(/\\"/g, '"'), description: "requested command" } }] };
    return { text: "Hello." };
  });
}, 60_000);

afterAll(async () => {
  await fm?.close();
  rig?.cleanup();
});

const execClaude = (prompt: string, extra: string[] = []) =>
  tappassAsync(["exec", "--agent", "coder", "--upstream-anthropic", fm.url, "--summary", join(home, "last-summary.json"), "--", claude, ...extra, "-p", prompt, "--output-format", "json"], {
    home,
    cwd: ws,
    env: { HOME: fakeHome, ANTHROPIC_API_KEY: "sk-ant-api03-operator-real-key-must-not-leak" },
    timeoutMs: 150_000,
  });

const auditRows = () => readAudit(home);

describe("tappass exec -- claude", () => {
  test("an allowed Bash command runs; the session goes through the gateway with a capability token", async () => {
    const r = await execClaude("RUN<<echo allowed-ran > ran.txt>>");
    expect(r.code).toBe(0);
    expect(existsSync(join(ws, "ran.txt"))).toBe(true);
    const upstream = fm.requests.filter((q) => q.path === "/v1/messages");
    expect(upstream.length).toBeGreaterThan(0);
    // the gateway swapped the token for the operator's real key upstream; the agent never had it
    expect(upstream.every((q) => q.headers["x-api-key"] === "sk-ant-api03-operator-real-key-must-not-leak")).toBe(true);
    expect(r.stderr).toContain("TapPass");
  }, 180_000);

  test("a policy-denied Bash command never runs: the gateway strips the model's tool call and audits why", async () => {
    const r = await execClaude("RUN<<touch should-not-exist-1>>");
    expect(r.code).toBe(0);
    expect(existsSync(join(ws, "should-not-exist-1"))).toBe(false);
    const stripped = auditRows().filter((row) => row.surface === "llm" && (row.step_decisions ?? []).some((f: { step: string; decision: string }) => f.step === "dangerous_commands" && f.decision !== "allow"));
    expect(stripped.length).toBeGreaterThan(0);
  }, 180_000);
});

// The harness layer on its own: Claude Code talking to the model directly (no gateway), with
// TapPass's rendered settings and a hook governor. The hook denies; with --bare (hooks skipped)
// the rendered deny rule still holds.
describe("claude with rendered settings: hook and deny rules hold without the gateway", () => {
  let governor: ReturnType<typeof Bun.spawn> | undefined;
  let hookEnv: Record<string, string> = {};
  let settings = "";

  beforeAll(async () => {
    const out = join(home, "rendered");
    const r = tappass(["render", "--agent", "coder", "--target", "claude-code", "--out", out, "--workspace", ws, "--json"], { home });
    if (r.code !== 0) throw new Error(r.stderr);
    settings = join(out, "claude-code", "managed-settings.json");
    governor = Bun.spawn([process.execPath, join(root, "src/cli/main.ts"), "hook", "serve", "--agent", "coder", "--json"], { env: { ...process.env, TAPPASS_HOME: home }, stdout: "pipe", stderr: "pipe" });
    const reader = (governor.stdout as ReadableStream<Uint8Array>).getReader();
    let buf = "";
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
    }
    const j = JSON.parse(buf.trim());
    hookEnv = { TAPPASS_HOOK_URL: j.hook_url, TAPPASS_TOKEN: j.token };
  }, 60_000);
  afterAll(() => governor?.kill());

  const direct = async (prompt: string, extra: string[] = []) => {
    const p = Bun.spawn([claude, "--settings", settings, ...extra, "-p", prompt, "--output-format", "json"], {
      cwd: ws,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH ?? "", HOME: fakeHome, ANTHROPIC_BASE_URL: fm.url, ANTHROPIC_API_KEY: "test-key", CLAUDE_CONFIG_DIR: join(fakeHome, ".claude-test"), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_AUTOUPDATER: "1", TAPPASS_HOME: home, ...hookEnv },
    });
    const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    await p.exited;
    return { stdout, stderr, json: JSON.parse(stdout) };
  };

  test("the PreToolUse hook denies a policy-denied Bash command, and the governor audits it", async () => {
    const before = auditRows().filter((row) => row.surface === "hook" && row.decision === "deny").length;
    const r = await direct("RUN<<touch should-not-exist-2>>");
    expect(existsSync(join(ws, "should-not-exist-2"))).toBe(false);
    expect(r.json.permission_denials.length).toBeGreaterThan(0);
    expect(auditRows().filter((row) => row.surface === "hook" && row.decision === "deny").length).toBeGreaterThan(before);
  }, 120_000);

  test("an allowed command passes the hook and runs", async () => {
    const r = await direct("RUN<<echo hook-allowed > hook-allowed.txt>>");
    expect(r.json.permission_denials).toEqual([]);
    expect(existsSync(join(ws, "hook-allowed.txt"))).toBe(true);
  }, 120_000);

  test("with --bare (settings hooks skipped) the rendered deny rule still blocks", async () => {
    const hookRows = auditRows().filter((row) => row.surface === "hook").length;
    const r = await direct("RUN<<touch should-not-exist-3>>", ["--bare"]);
    expect(existsSync(join(ws, "should-not-exist-3"))).toBe(false);
    expect(r.json.permission_denials.length).toBeGreaterThan(0);
    expect(auditRows().filter((row) => row.surface === "hook").length).toBe(hookRows);
  }, 120_000);
});

describe("tappass exec: kernel ring and environment", () => {
  test("reading ~/.ssh/id_rsa fails at the kernel ring", async () => {
    const r = await tappassAsync(["exec", "--agent", "coder", "--quiet", "--", "cat", join(fakeHome, ".ssh", "id_rsa")], { home, cwd: ws, env: { HOME: fakeHome } });
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("SECRET-KEY-MATERIAL");
  }, 60_000);

  test("curl to a non-allowed domain fails (egress proxy), and the attempt is audited", async () => {
    const r = await tappassAsync(["exec", "--agent", "coder", "--quiet", "--summary", join(home, "curl.json"), "--", "curl", "-sS", "-m", "5", "https://not-allowed.example/"], { home, cwd: ws, env: { HOME: fakeHome } });
    expect(r.code).not.toBe(0);
    const s = JSON.parse(await Bun.file(join(home, "curl.json")).text());
    expect(s.egress.denied).toBeGreaterThan(0);
    expect(s.kernel.confined).toBe(true);
  }, 60_000);

  test("the agent's environment holds no provider key, only a capability token", async () => {
    const r = await tappassAsync(["exec", "--agent", "coder", "--quiet", "--", "env"], {
      home,
      cwd: ws,
      env: { HOME: fakeHome, ANTHROPIC_API_KEY: "sk-ant-api03-operator-real-key-must-not-leak", OPENAI_API_KEY: "sk-proj-operator-real-key", AWS_SECRET_ACCESS_KEY: "operator-aws-secret" },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("operator-real-key");
    expect(r.stdout).not.toContain("operator-aws-secret");
    expect(r.stdout).toMatch(/^ANTHROPIC_API_KEY=eyJ/m);
  }, 60_000);

  test("every decision of the session is in the audit log and the chain verifies", () => {
    const v = tappass(["audit", "verify", "--json"], { home });
    expect(v.code).toBe(0);
    expect(v.json.ok).toBe(true);
    const surfaces = new Set(auditRows().map((row) => row.surface));
    for (const s of ["llm", "hook", "exec"]) expect(surfaces.has(s)).toBe(true);
  });
});
