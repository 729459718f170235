/**
 * `tappass-agent hook claude-code` (the Claude Code PreToolUse hook) against a real hook governor
 * (`tappass hook serve`), as Claude Code runs it: JSON on stdin, the decision on stdout. The hook
 * takes a fast path past oclif (src/cli/agent-fast.ts); the oclif path must answer the same.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { built, hasBinary, root, tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

setDefaultTimeout(60_000);

let home: string;
let cleanup: () => void;
let serve: ReturnType<typeof Bun.spawn>;
let env: Record<string, string>;

beforeAll(async () => {
  const t = tempHome();
  home = t.home;
  cleanup = t.cleanup;
  for (const args of [["init"], ["project", "create", "p"], ["agent", "create", "coder", "--project", "p"]]) {
    const r = tappass(args, { home });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  }
  serve = Bun.spawn([process.execPath, join(root, "src", "cli", "main.ts"), "hook", "serve", "--agent", "coder", "--json"], {
    env: { ...process.env, TAPPASS_HOME: home, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = (serve.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`hook serve ended: ${await new Response(serve.stderr as ReadableStream).text()}`);
    out += new TextDecoder().decode(value);
  }
  const info = JSON.parse(out.split("\n")[0] as string) as { hook_url: string; token: string; session_secret: string };
  env = { TAPPASS_HOOK_URL: info.hook_url, TAPPASS_TOKEN: info.token, TAPPASS_AGENT: "coder" };
  secret = info.session_secret;
});

let secret = "";

afterAll(async () => {
  serve?.kill();
  await serve?.exited;
  cleanup();
});

const ask = (tool: Record<string, unknown>, how: "fast" | "oclif" | "binary") => {
  const input = JSON.stringify({ session_id: "s1", hook_event_name: "PreToolUse", cwd: root, ...tool });
  if (how === "binary") return built("tappass-agent", ["hook", "claude-code"], { home, input, env });
  // The oclif path: a trailing `--` is a shape the fast path leaves to oclif.
  return tappass(how === "fast" ? ["agent", "hook", "claude-code"] : ["agent", "hook", "claude-code", "--"], { home, input, env });
};

const decision = (r: { code: number; stdout: string; stderr: string }) => {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).hookSpecificOutput as { hookEventName: string; permissionDecision: string; permissionDecisionReason: string };
};

for (const how of ["fast", "oclif", ...(hasBinary() ? (["binary"] as const) : [])] as const) {
  test(`hook claude-code (${how}): an allowed Bash command is allowed, a dangerous one denied with the step's reason`, () => {
    const ok = decision(ask({ tool_name: "Bash", tool_input: { command: "ls -la" } }, how));
    expect(ok).toMatchObject({ hookEventName: "PreToolUse", permissionDecision: "allow" });
    const bad = decision(ask({ tool_name: "Bash", tool_input: { command: "rm -rf / --no-preserve-root" } }, how));
    expect(bad.permissionDecision).toBe("deny");
    expect(bad.permissionDecisionReason).toMatch(/dangerous_commands/);
  });
}

for (const how of ["fast", "oclif"] as const) {
  test(`hook gemini (${how}): Gemini CLI's BeforeTool JSON in, { decision, reason } out, audited as harness gemini-cli`, () => {
    const ask = (tool: Record<string, unknown>) => {
      const input = JSON.stringify({ session_id: "g1", hook_event_name: "BeforeTool", cwd: root, timestamp: new Date().toISOString(), ...tool });
      const r = tappass(how === "fast" ? ["agent", "hook", "gemini"] : ["agent", "hook", "gemini", "--"], { home, input, env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as { decision: string; reason?: string };
    };
    expect(ask({ tool_name: "run_shell_command", tool_input: { command: "ls -la" } })).toEqual({ decision: "allow" });
    const bad = ask({ tool_name: "run_shell_command", tool_input: { command: "rm -rf / --no-preserve-root" } });
    expect(bad.decision).toBe("deny");
    expect(bad.reason).toMatch(/dangerous_commands/);
  });
}

test("hook gemini fails closed in Gemini's format", () => {
  const r = tappass(["agent", "hook", "gemini"], { home, input: "not json", env });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ decision: "deny", reason: expect.stringMatching(/failed closed: hook input on stdin is not JSON/) });
  const none = tappass(["agent", "hook", "gemini"], { home, input: "{}", env: { TAPPASS_HOOK_URL: "", TAPPASS_TOKEN: "" } });
  expect(JSON.parse(none.stdout)).toMatchObject({ decision: "deny", reason: expect.stringMatching(/no TapPass governor/) });
});

test("hook claude-code fails closed: no governor, or input that is not JSON, is a deny", () => {
  const none = decision(tappass(["agent", "hook", "claude-code"], { home, input: "{}", env: { TAPPASS_HOOK_URL: "", TAPPASS_TOKEN: "" } }));
  expect(none.permissionDecision).toBe("deny");
  expect(none.permissionDecisionReason).toMatch(/failed closed: no TapPass governor/);
  const garbage = decision(tappass(["agent", "hook", "claude-code"], { home, input: "not json", env }));
  expect(garbage).toMatchObject({ permissionDecision: "deny", permissionDecisionReason: expect.stringMatching(/not JSON/) });
});

test("every hook decision is audited (surface hook)", () => {
  const r = tappass(["audit", "export", "--format", "jsonl"], { home });
  expect(r.code).toBe(0);
  const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { surface: string; decision: string });
  const hooks = rows.filter((x) => x.surface === "hook");
  // allow + deny for each of the three ways of running the Claude hook (the binary only when
  // built), and for both ways of running the Gemini one
  expect(hooks.length).toBe(hasBinary() ? 10 : 8);
  expect(hooks.filter((x) => (x as { meta?: { harness?: string } }).meta?.harness === "gemini-cli").length).toBe(4);
  expect(hooks.filter((x) => x.decision === "deny").length).toBe(hooks.length / 2);
});

test("agent token (Claude Code's apiKeyHelper) without an exec session: the error, the same on the fast path and through oclif", () => {
  const env0 = { TAPPASS_HOOK_URL: "", TAPPASS_SESSION_SECRET: "" };
  const fast = tappass(["agent", "token"], { home, env: env0 });
  const oclif = tappass(["agent", "token", "--json"], { home, env: env0 });
  for (const r of [fast, oclif]) {
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no TapPass governor session to renew a token from/);
  }
  expect(oclif.json).toMatchObject({ error: { code: "no_governor" } });
  expect(fast.stdout).toBe("");
});

test("a tool not on the allow list is denied with what to do: an MCP tool is approved, any other granted in the policy", () => {
  const plain = decision(ask({ tool_name: "UnknownTool", tool_input: {} }, "fast"));
  expect(plain.permissionDecision).toBe("deny");
  expect(plain.permissionDecisionReason).toContain("grant it in the agent's policy");
  expect(plain.permissionDecisionReason).not.toContain("tools approve");
  const mcp = decision(ask({ tool_name: "mcp__docs__search", tool_input: { q: "x" } }, "fast"));
  expect(mcp.permissionDecisionReason).toContain("tappass tools approve search"); // MCP tools are approved by their own name
});

test("outside exec, hook serve's session secret lets `tappass-agent token` (a rendered Claude Code's apiKeyHelper) get a fresh token", () => {
  expect(secret.length).toBeGreaterThan(20);
  const r = tappass(["agent", "token"], { home, env: { ...env, TAPPASS_SESSION_SECRET: secret } });
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split(".")).toHaveLength(3);
  expect(tappass(["agent", "token"], { home, env: { ...env, TAPPASS_SESSION_SECRET: "wrong" } }).code).not.toBe(0);
});
