/** `tappass gateway serve` and `tappass keys set-provider`, as a user runs them. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { root, tappass } from "../helpers/cli.ts";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { tempHome } from "../helpers/home.ts";

let home: string;
let cleanup: () => void;
let fm: FakeModel;
beforeAll(async () => {
  const t = tempHome();
  home = t.home;
  cleanup = t.cleanup;
  fm = await startFakeModel();
  for (const args of [["init", "--org", "acme"], ["project", "create", "support"], ["agent", "create", "mailer", "--project", "support"]]) {
    const r = tappass(args, { home });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  }
});
afterAll(async () => {
  await fm.close();
  cleanup();
});

test("keys set-provider seals the key from stdin; it is never printed; the KEK is owner-only", () => {
  const r = tappass(["keys", "set-provider", "anthropic", "--json"], { home, input: "sk-ant-api03-STORED-KEY-FOR-TEST\n" });
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({ provider: "anthropic", stored: true, fingerprint: expect.stringMatching(/^sha256:/) });
  expect(r.stdout + r.stderr).not.toContain("STORED-KEY");
  expect(statSync(join(home, "keys", "provider-kek.json")).mode & 0o077).toBe(0);
  const empty = tappass(["keys", "set-provider", "openai"], { home, input: "" });
  expect(empty.code).toBe(3);
  const bad = tappass(["keys", "set-provider", "Not A Name"], { home, input: "x" });
  expect(bad.code).toBe(3);
});

test("gateway serve: prints its URL, governs calls from both SDKs with the right real keys, stops on SIGTERM", async () => {
  const proc = Bun.spawn([process.execPath, join(root, "src", "cli", "main.ts"), "gateway", "serve", "--agent", "mailer", "--json", "--upstream-openai", `${fm.url}/v1`, "--upstream-anthropic", fm.url], {
    env: { ...process.env, TAPPASS_HOME: home, OPENAI_API_KEY: "sk-proj-FROM-GATEWAY-ENV", ANTHROPIC_API_KEY: "", NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const reader = proc.stdout.getReader();
    let out = "";
    const deadline = Date.now() + 15_000;
    while (!out.includes("\n") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const info = JSON.parse(out.trim().split("\n")[0] as string);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.agent).toBe("mailer");
    const token = tappass(["token", "issue", "--agent", "mailer", "--ttl", "2m"], { home }).stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    // a token the agent's policy would refuse at every call is refused at issue (exit 3), not printed
    const long = tappass(["token", "issue", "--agent", "mailer", "--ttl", "1h"], { home });
    expect(long.code).toBe(3);
    expect(long.stdout).toBe("");
    expect(long.stderr).toContain("longer than agent mailer's policy accepts (300 s");

    const oa = new OpenAI({ apiKey: token, baseURL: info.openai_base_url, maxRetries: 0 });
    const c = await oa.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello gateway" }] });
    expect(c.choices[0]?.message.content).toBe("You said: hello gateway");
    expect(fm.requests.at(-1)?.headers.authorization).toBe("Bearer sk-proj-FROM-GATEWAY-ENV");

    const an = new Anthropic({ apiKey: token, baseURL: info.anthropic_base_url, maxRetries: 0 });
    const m = await an.messages.stream({ model: "claude-sonnet-4-20250514", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }).finalMessage();
    expect(m.content[0]).toMatchObject({ type: "text", text: "You said: hi" });
    expect(fm.requests.at(-1)?.headers["x-api-key"]).toBe("sk-ant-api03-STORED-KEY-FOR-TEST"); // from the encrypted store

    const blocked = await (async () => await oa.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "use ghp_Zq8vK2mX9pL4wR7tY1nB6cH3jF5dS0aGe8Uk" }] }))().catch((e) => e);
    expect(blocked.status).toBe(403);
    expect(blocked.error.type).toBe("policy_denied");
    const bad = await (async () => await new OpenAI({ apiKey: "nope", baseURL: info.openai_base_url, maxRetries: 0 }).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }))().catch((e) => e);
    expect(bad.status).toBe(401);

    const tail = tappass(["audit", "tail", "--json"], { home });
    expect(tail.stdout).toContain(blocked.headers.get("x-tappass-trace-id"));
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
  const err = await new Response(proc.stderr).text();
  expect(err).toContain("gateway stopping (SIGTERM)");
}, 30_000);

test("gateway serve refuses an unknown agent (exit 3) and a bad upstream URL (exit 2)", () => {
  expect(tappass(["gateway", "serve", "--agent", "ghost"], { home }).code).toBe(3);
  expect(tappass(["gateway", "serve", "--agent", "mailer", "--upstream-openai", "ftp://x"], { home }).code).toBe(2);
});
