// Smoke tests of the built binary and its personas (npm test builds dist/ before running these).
import { afterEach, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { built, hasBinary, root } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { AGENT_COMMANDS } from "../../src/cli/persona.ts";
import pkg from "../../package.json" with { type: "json" };

let cleanup = () => {};
afterEach(() => cleanup());
beforeAll(() => {
  if (!hasBinary()) {
    const b = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], { cwd: root, stdout: "inherit", stderr: "inherit" });
    if (b.exitCode !== 0) throw new Error("build failed");
  }
});

test("dist/tappass --version prints the bare semver", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const r = built("tappass", ["--version"], { home: t.home });
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(pkg.version);
});

test("the three personas answer --help; host and agent reach the same commands through `tappass host|agent`", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  expect(built("tappass", ["--help"], { home: t.home }).code).toBe(0);
  const host = built("tappass-host", ["--help"], { home: t.home });
  const agent = built("tappass-agent", ["--help"], { home: t.home });
  expect(host.stderr).toBe("");
  expect(agent.stderr).toBe("");
  expect(host.code).toBe(0);
  expect(agent.code).toBe(0);
});

test("init twice from the binary is safe, and keys export --jwks is a valid JWKS", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  expect(built("tappass", ["init", "--json"], { home: t.home }).json.changed).toBe(true);
  expect(built("tappass", ["init", "--json"], { home: t.home }).json.changed).toBe(false);
  const j = built("tappass", ["keys", "export", "--jwks"], { home: t.home }).json;
  expect(j.keys.map((k: { kty: string }) => k.kty).sort()).toEqual(["EC", "OKP"]);
});

test("the agent persona exposes no command that writes policy, keys or state", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  built("tappass", ["init"], { home: t.home });
  // Every operator command, tried through the agent persona, must be unknown (exit 2) — nothing runs.
  const writers = [["init"], ["keys", "export", "--jwks"], ["policy", "apply", "--level", "org"], ["token", "issue", "--agent", "a"], ["agent", "create", "x", "--project", "p"], ["project", "create", "p"], ["tools", "approve", "x"], ["audit", "verify"], ["host", "init", "x"]];
  for (const argv of writers) {
    const r = built("tappass-agent", argv, { home: t.home });
    expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
  }
  // And the agent's allow-list itself holds only read-only verbs.
  for (const id of AGENT_COMMANDS) expect(id).toMatch(/^agent:(whoami|policy|watch|token|mcp-relay|hook(:.+)?)$/);
});

test("run-code from the binary: QuickJS's WebAssembly is embedded in it (it was looked for beside the binary)", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  for (const args of [["init"], ["project", "create", "p"], ["agent", "create", "coder", "--project", "p"]]) expect(built("tappass", args, { home: t.home }).code).toBe(0);
  const script = join(t.home, "a.js");
  writeFileSync(script, "log(6 * 7)\n");
  const r = built("tappass", ["run-code", "--agent", "coder", script, "--json"], { home: t.home });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, stdout: ["42"] });
});
