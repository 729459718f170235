import { expect, test } from "bun:test";
import step from "../../../src/engine/pipeline/steps/forbidden_zones.ts";
import type { CallContext, StepEnv } from "../../../src/engine/pipeline/types.ts";
import { testPayload } from "../../helpers/policy.ts";

const run = (args: Record<string, unknown>) => {
  const policy = testPayload({ tools: { forbidden_zones: ["**/id_rsa*", "**/.env"] } });
  const ctx = { surface: "mcp", agent: policy.agent, session_id: "s", trace_id: "t", sandbox_id: null, request: [], response: [], tool_calls: [{ name: "read_file", arguments: args, origin: "mcp" }], pii_vault: new Map(), flags: {}, meta: {} } as unknown as CallContext;
  const env = { policy, step: { name: "forbidden_zones", enabled: true, action: "block", config: { cwd: "/work/elsewhere" } }, action: "block", phase: "before_call" } as unknown as StepEnv;
  return step.run(ctx, env) as { decision: string };
};

test("'**/' zones match anywhere: absolute paths outside the workspace and bare file names", () => {
  expect(run({ path: "/srv/data/keys/id_rsa" }).decision).toBe("deny");
  expect(run({ path: "/srv/app/.env" }).decision).toBe("deny");
  expect(run({ path: "id_rsa.pub" }).decision).toBe("deny");
  expect(run({ path: "/srv/data/readme.md" }).decision).toBe("allow");
  expect(run({ path: "environment.md" }).decision).toBe("allow");
});

test("a symbolic link in the workspace into a forbidden zone is followed: by bare name, by path, or as a directory", async () => {
  const { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const base = mkdtempSync(join(tmpdir(), "tappass-zones-"));
  try {
    const ws = join(base, "ws");
    const secret = join(base, "vault");
    mkdirSync(ws);
    mkdirSync(secret);
    writeFileSync(join(secret, "netrc"), "machine x password y\n");
    symlinkSync(join(secret, "netrc"), join(ws, "notes"));
    symlinkSync(secret, join(ws, "docs"));
    writeFileSync(join(ws, "plain.txt"), "hi\n");
    const policy = testPayload({ tools: { forbidden_zones: [`${secret}/**`] } });
    const call = (args: Record<string, unknown>) => {
      const ctx = { surface: "mcp", agent: policy.agent, session_id: "s", trace_id: "t", sandbox_id: null, request: [], response: [], tool_calls: [{ name: "read_file", arguments: args, origin: "mcp" }], pii_vault: new Map(), flags: {}, meta: {} } as unknown as CallContext;
      const env = { policy, step: { name: "forbidden_zones", enabled: true, action: "block", config: { cwd: ws } }, action: "block", phase: "before_call" } as unknown as StepEnv;
      return step.run(ctx, env) as { decision: string; evidence?: unknown };
    };
    expect(call({ path: "notes" }).decision).toBe("deny");
    expect(call({ path: "./notes" }).decision).toBe("deny");
    expect(call({ path: "docs/netrc" }).decision).toBe("deny");
    expect(call({ path: "docs/new-file.txt" }).decision).toBe("deny"); // a file not there yet, in a linked directory
    expect(call({ path: "plain.txt" }).decision).toBe("allow");
    expect(call({ query: "notes about the release" }).decision).toBe("allow"); // words are not paths
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("TapPass's own home (keys, state, the audit log) is a forbidden zone wherever TAPPASS_HOME puts it", async () => {
  const { tappassHome } = await import("../../../src/engine/home.ts");
  const home = tappassHome();
  expect(run({ file_path: `${home}/keys/ed25519.json` }).decision).toBe("deny");
  expect(run({ command: `cat ${home}/state.db` }).decision).toBe("deny");
  expect(run({ file_path: "/srv/data/readme.md" }).decision).toBe("allow");
});
