/** GovernedCall.deny(): an adapter refusing a call for a reason outside the steps records a deny row. */
import { afterEach, describe, expect, test } from "bun:test";
import { makeVerifier, readRows, verifyDb } from "../../../src/engine/audit/index.ts";
import { testPayload } from "../../helpers/policy.ts";
import { type Env, llmCall, mcpCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());

describe("GovernedCall.deny", () => {
  test("after an allowed before_call: the verdict and the signed row say deny, denied_by names the adapter's step", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload());
    const call = p.begin(llmCall(await env.token(), "hello"));
    expect((await call.run("before_call")).decision).toBe("allow");
    const v = call.deny("gateway:models_denied", 'model "gpt-x" is denied by policy (models.deny)', { model: "gpt-x" });
    expect(v).toMatchObject({ decision: "deny", denied_by: { step: "gateway:models_denied", reason: 'model "gpt-x" is denied by policy (models.deny)' } });
    expect(v.fragments).toHaveLength(1);
    // a later phase does not run any step: the call is denied
    const v2 = await call.run("after_call");
    expect(v2.decision).toBe("deny");
    expect(v2.fragments).toHaveLength(0);
    await call.finish();
    const [row] = readRows(env.db);
    expect(row?.decision).toBe("deny");
    expect(row?.meta.denied_by).toEqual({ step: "gateway:models_denied", reason: 'model "gpt-x" is denied by policy (models.deny)' });
    const frag = row?.step_decisions.find((f) => f.step === "gateway:models_denied");
    expect(frag).toMatchObject({ decision: "deny", compiled_policy_aspect: "none", evidence: { model: "gpt-x", reason: expect.stringContaining("models.deny") } });
    expect(frag?.rule_provenance[0]).toMatchObject({ level: "builtin", source: "adapter:llm" });
    expect(verifyDb(env.db, makeVerifier([env.keys.ed25519])).ok).toBe(true);
  });

  test("when a step already denied, that step stays denied_by and the adapter's fragment is added", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload());
    const call = p.begin(mcpCall(await env.token(), "delete_records", { table: "users" }));
    const before = await call.run("before_call");
    expect(before.decision).toBe("deny");
    const first = before.denied_by?.step;
    const v = call.deny("mcp_broker:operator_denied", "An operator denied the tool", { code: "operator_denied" }, "tools");
    expect(v.denied_by?.step).toBe(first as string);
    await call.finish();
    const [row] = readRows(env.db);
    expect(row?.decision).toBe("deny");
    expect((row?.meta?.denied_by as { step: string } | undefined)?.step).toBe(first as string);
    expect(row?.step_decisions.find((f) => f.step === "mcp_broker:operator_denied")).toMatchObject({ decision: "deny", compiled_policy_aspect: "tools", evidence: { code: "operator_denied" } });
  });

  test("deny before any phase runs: run() then denies without running steps; deny after finish() throws", async () => {
    env = await pipelineEnv();
    const p = env.pipeline(testPayload());
    const call = p.begin(llmCall(await env.token(), "hello"));
    call.deny("gateway:auth", "no capability token", {}, "identity");
    const v = await call.run("before_call");
    expect(v).toMatchObject({ decision: "deny", denied_by: { step: "gateway:auth" }, fragments: [] });
    await call.finish();
    expect(() => call.deny("late", "too late")).toThrow(/after finish/);
    const [row] = readRows(env.db);
    expect(row?.decision).toBe("deny");
    expect(row?.step_decisions.filter((f) => f.decision === "deny").map((f) => f.step)).toEqual(["gateway:auth"]);
  });

  test("deny needs a step and a reason (fail closed on misuse)", async () => {
    env = await pipelineEnv();
    const call = env.pipeline(testPayload()).begin(llmCall(await env.token(), "hello"));
    expect(() => call.deny("", "why")).toThrow();
    expect(() => call.deny("x", "")).toThrow();
  });
});
