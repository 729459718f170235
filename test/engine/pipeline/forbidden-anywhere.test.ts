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
