// Gemini CLI (the real one, headless) through the gateway: GOOGLE_GEMINI_BASE_URL points at
// TapPass, GEMINI_API_KEY holds a capability token. The model is the scripted fake on 127.0.0.1
// speaking Gemini's generateContent / streamGenerateContent?alt=sse.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/cli.ts";
import { testPayload } from "../helpers/policy.ts";
import { settledRows, GEMINI_KEY, type Rig, rig } from "./gateway-helpers.ts";

const gemini = join(root, "node_modules", ".bin", "gemini");
let r: Rig;
let home: string;
let ws: string;

beforeAll(async () => {
  r = await rig({
    payload: testPayload({ models: { allow: ["gemini-*"], deny: [], routes: [] }, tools: { allow: ["read_file", "list_directory", "glob", "grep_search"], deny: ["run_shell_command"] } }),
  });
  home = mkdtempSync(join(tmpdir(), "tappass-test-gemini-home-"));
  ws = mkdtempSync(join(tmpdir(), "tappass-test-gemini-ws-"));
  mkdirSync(join(home, ".gemini"));
  writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ security: { auth: { selectedType: "gemini-api-key" } } }));
  writeFileSync(join(ws, "notes.txt"), "hello\n");
}, 60_000);

afterAll(async () => {
  await r?.close();
  for (const d of [home, ws]) if (d) rmSync(d, { recursive: true, force: true });
});

async function runGemini(prompt: string, token = r.token): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([gemini, "-p", prompt, "--output-format", "json"], {
    cwd: ws,
    env: { PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`, HOME: home, GEMINI_CLI_TRUST_WORKSPACE: "true", GOOGLE_GEMINI_BASE_URL: r.gw.url, GEMINI_API_KEY: token, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill(), 90_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

// Gemini CLI first asks a small model to rate the prompt's complexity (a JSON answer), then streams the turn.
type Req = { body?: { generationConfig?: { responseMimeType?: string }; contents?: unknown[] } };
const model = (turn: (req: Req) => Record<string, unknown>) => (req: Req) =>
  req.body?.generationConfig?.responseMimeType === "application/json" ? { text: JSON.stringify({ complexity_reasoning: "a simple request", complexity_score: 5 }) } : turn(req);

const gemCalls = () => r.fm.requests.filter((q) => q.path.includes(":streamGenerateContent") || q.path.includes(":generateContent"));

describe("gemini CLI through the gateway", () => {
  test("an allowed prompt: answer streamed back, real key upstream, token not, audit rows", async () => {
    r.fm.reset();
    r.fm.setDefault(model(() => ({ text: "Hello from the governed model." })));
    const before = (await settledRows(r)).length;
    const out = await runGemini("say hello");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("Hello from the governed model.");
    const ups = gemCalls();
    expect(ups.length).toBeGreaterThan(0);
    for (const q of ups) {
      expect(q.headers["x-goog-api-key"]).toBe(GEMINI_KEY);
      expect(JSON.stringify(q.headers)).not.toContain(r.token);
    }
    expect(ups.some((q) => q.query === "?alt=sse")).toBe(true);
    const rows = (await settledRows(r)).slice(before);
    expect(rows.length).toBe(ups.length);
    expect(rows.every((x) => x.surface === "llm" && x.meta.wire === "gemini-generate")).toBe(true);
  }, 120_000);

  test("a secret in the prompt is refused in Gemini's own error format; nothing reaches the model", async () => {
    r.fm.reset();
    const out = await runGemini("push with token ghp_Zq8vK2mX9pL4wR7tY1nB6cH3jF5dS0aGe8Uk please");
    expect(out.code).not.toBe(0);
    expect(`${out.stdout}\n${out.stderr}`).toContain("PERMISSION_DENIED");
    expect(`${out.stdout}\n${out.stderr}`).toContain("detect_secrets");
    expect(gemCalls().some((q) => q.raw.includes("ghp_Zq8vK2mX9pL4wR7tY1nB6cH3jF5dS0aGe8Uk"))).toBe(false);
    expect((await settledRows(r)).at(-1)).toMatchObject({ decision: "deny", surface: "llm" });
  }, 120_000);

  test("a denied tool call is stripped: Gemini CLI never runs the shell command", async () => {
    r.fm.reset();
    const marker = join(ws, "should-not-exist");
    r.fm.setDefault(
      model((req) => {
        if (JSON.stringify(req.body?.contents ?? []).includes("functionResponse")) return { text: "Done." };
        return { text: "Running it.", tool_calls: [{ name: "run_shell_command", arguments: { command: `touch ${marker}` } }] };
      }),
    );
    const out = await runGemini("please touch the marker file");
    expect(await Bun.file(marker).exists()).toBe(false);
    expect(out.stdout).toContain("removed by policy");
    const row = (await settledRows(r)).at(-1);
    expect(JSON.stringify(row?.step_decisions)).toContain("run_shell_command");
  }, 120_000);

  test("GET /v1beta/models: the upstream's list filtered by models.allow, fetched with the real key; 401 without a token", async () => {
    r.fm.reset();
    const res = await fetch(`${r.gw.url}/v1beta/models`, { headers: { "x-goog-api-key": r.token } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tappass-trace-id")).toBeTruthy();
    const body = (await res.json()) as { models: Array<{ name: string }> };
    expect(body.models.map((m) => m.name)).toEqual(["models/gemini-2.5-flash", "models/gemini-2.5-pro"]); // imagen-* is not in gemini-*
    const up = r.fm.requests.find((q) => q.path === "/v1beta/models");
    expect(up?.headers["x-goog-api-key"]).toBe(GEMINI_KEY);
    const anon = await fetch(`${r.gw.url}/v1beta/models`, { headers: { "x-goog-api-key": "not-a-token" } });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
  });

  test("a forged token is refused with 401 UNAUTHENTICATED", async () => {
    const res = await fetch(`${r.gw.url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: "POST", headers: { "x-goog-api-key": "not-a-token", "content-type": "application/json" }, body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }) });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
  });
});
