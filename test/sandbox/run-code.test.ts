/** `tappass run-code --policy FILE.json FILE.js`: the interpreter aspect of a signed envelope. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureKeys, loadKeys } from "../../src/engine/crypto/keys.ts";
import { tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

let t: ReturnType<typeof tempHome>;
let policy = "";
beforeAll(async () => {
  t = tempHome();
  await ensureKeys(t.home);
  const env = signedEnvelope(testPayload({ interpreter: { host_functions: ["log", "sha256"], memory_mb: 16, cpu_time_ms: 300 } }), loadKeys(t.home));
  policy = join(t.home, "compiled.json");
  writeFileSync(policy, JSON.stringify(env));
  writeFileSync(join(t.home, "ok.js"), "log('hello'); sha256('abc').slice(0, 8)");
  writeFileSync(join(t.home, "denied.js"), "now()");
  writeFileSync(join(t.home, "spin.js"), "while (true) {}");
  const tampered = JSON.parse(JSON.stringify(env));
  tampered.payload.interpreter.host_functions.push("now");
  writeFileSync(join(t.home, "tampered.json"), JSON.stringify(tampered));
});
afterAll(() => t.cleanup());

test("runs allowed code and prints its output", () => {
  const r = tappass(["run-code", "--policy", policy, join(t.home, "ok.js")], { home: t.home });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("hello\nba7816bf\n");
  const j = tappass(["run-code", "--policy", policy, join(t.home, "ok.js"), "--json"], { home: t.home });
  expect(j.json).toMatchObject({ ok: true, result: "ba7816bf", stdout: ["hello"], exposed: ["log", "sha256"], limits: { memory_mb: 16, cpu_time_ms: 300 } });
}, 30_000);

test("a host function outside the policy is absent; CPU time is limited; exit code 1", () => {
  const d = tappass(["run-code", "--policy", policy, join(t.home, "denied.js"), "--json"], { home: t.home });
  expect(d.code).toBe(1);
  expect(d.json.error).toContain("ReferenceError");
  const s = tappass(["run-code", "--policy", policy, join(t.home, "spin.js"), "--json"], { home: t.home });
  expect(s.code).toBe(1);
  expect(s.json.error_kind).toBe("cpu_time");
}, 30_000);

test("a tampered or missing policy fails closed", () => {
  const r = tappass(["run-code", "--policy", join(t.home, "tampered.json"), join(t.home, "ok.js")], { home: t.home });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("signature does not match");
  const u = tappass(["run-code", join(t.home, "ok.js")], { home: t.home });
  expect(u.code).toBe(2);
}, 30_000);

test("--agent compiles the agent's policy and uses its interpreter aspect", async () => {
  expect(tappass(["init"], { home: t.home }).code).toBe(0);
  const [{ openState, closeAllState }, { ensureDefaultAgent }] = await Promise.all([import("../../src/engine/store/state.ts"), import("../../src/engine/policy/index.ts")]);
  const agent = ensureDefaultAgent(openState(t.home));
  closeAllState();
  writeFileSync(join(t.home, "agent.js"), "log('hello'); typeof sha256");
  const r = tappass(["run-code", "--agent", agent, join(t.home, "agent.js"), "--json"], { home: t.home });
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({ ok: true, stdout: ["hello"] });
  // whatever the agent's policy allows is exactly what the guest sees
  expect(r.json.result).toBe(r.json.limits.host_functions.includes("sha256") ? "function" : "undefined");
  expect(r.json.limits.memory_mb).toBeGreaterThan(0);
  const missing = tappass(["run-code", "--agent", "nobody-here", join(t.home, "ok.js")], { home: t.home });
  expect(missing.code).toBe(3);
}, 60_000);
