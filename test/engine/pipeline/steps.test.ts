import { afterEach, expect, test } from "bun:test";
import { testPayload, withStep } from "../../helpers/policy.ts";
import { type Env, llmCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());

test("pii_restore puts originals back into model-emitted tool call arguments BEFORE tool rules judge them", async () => {
  env = await pipelineEnv();
  const p = env.pipeline(testPayload());
  const c = p.begin(llmCall(await env.token(), "Email jane.doe@example.com that her refund was sent."));
  await c.run("before_call");
  expect(c.ctx.request[1]?.text).toContain("«EMAIL_1»");
  c.ctx.tool_calls = [{ id: "t1", name: "send_email", arguments: { to: "«EMAIL_1»", subject: "Refund", body: "Hi «EMAIL_1», your refund was sent." }, origin: "model" }];
  const v = await c.run("after_call");
  // The Rego rule sees the real, external recipient (not «EMAIL_1») and strips the call.
  expect(c.ctx.tool_calls[0]?.arguments.to).toBe("jane.doe@example.com");
  expect(c.ctx.tool_calls[0]?.removed?.step).toBe("apply_compiled_policy");
  expect(v.decision).toBe("allow");
});

test("enforce_no_train_flag marks LLM calls no-train and refuses an explicit training opt-in under regulated", async () => {
  env = await pipelineEnv();
  const tok = await env.token();
  const p = env.pipeline(testPayload({ pipeline: { preset: "regulated" } }));
  const ok = p.begin(llmCall(tok, "hello"));
  await ok.run("before_call");
  expect(ok.ctx.flags.no_train).toBe(true);
  const optIn = p.begin(llmCall(tok, "hello", { flags: { allow_training: true } }));
  expect((await optIn.run("before_call")).denied_by?.step).toBe("enforce_no_train_flag");
  const q = env.pipeline(withStep(testPayload(), "enforce_no_train_flag", { action: "block", config: { training_providers: ["cheapllm"] } }));
  expect((await q.begin(llmCall(tok, "hello", { provider: "cheapllm" })).run("before_call")).denied_by?.step).toBe("enforce_no_train_flag");
});

test("observe mode leaves model tool calls in place and logs what would have been stripped", async () => {
  env = await pipelineEnv();
  const p = env.pipeline(testPayload({ pipeline: { mode: "observe" } }));
  const c = p.begin(llmCall(await env.token(), "tidy up"));
  await c.run("before_call");
  c.ctx.tool_calls = [{ id: "t1", name: "Bash", arguments: { command: "rm -rf /" }, origin: "model" }];
  const v = await c.run("after_call");
  expect(c.ctx.tool_calls[0]?.removed).toBeUndefined();
  expect(v.fragments.find((f) => f.step === "dangerous_commands")).toMatchObject({ decision: "log", evidence: { would: "deny" } });
});

test("apply_compiled_policy: call-level and per-tool rules see the whole input (agent, claims, flags, tools, tool) as one conversion of it", async () => {
  const { mcpCall } = await import("./helpers.ts");
  env = await pipelineEnv();
  const module = `package tappass.probe

import rego.v1

deny contains msg if {
  not input.tool
  input.tools[_] == "search_docs"
  input.claims.sub == "mailer"
  input.flags.probe == "on"
  msg := concat("", ["call-level: ", input.agent, " ", input.surface])
}

deny contains msg if {
  input.tool.name == "search_docs"
  input.tool.arguments.query == "forbidden"
  input.tool.origin == "mcp"
  input.tool.server == "acme-tools"
  input.session_id == "sess-1"
  msg := concat("", ["tool-level: ", input.tool.name])
}
`;
  const pay = testPayload();
  pay.rules = [{ id: "probe", level: "org", source: "file:probe.rego", module, entrypoints: ["data.tappass.probe.deny"] }];
  const p = env.pipeline(pay);
  const tok = await env.token();
  const call = p.begin(mcpCall(tok, "search_docs", { query: "forbidden" }, { flags: { probe: "on" } }));
  const v1 = await call.run("before_call");
  expect(v1.denied_by).toMatchObject({ step: "apply_compiled_policy", reason: "call-level: mailer mcp" });
  const tool = p.begin(mcpCall(tok, "search_docs", { query: "forbidden" }));
  expect((await tool.run("before_call")).denied_by).toMatchObject({ step: "apply_compiled_policy", reason: "tool-level: search_docs" });
  const fine = p.begin(mcpCall(tok, "search_docs", { query: "fine" }));
  expect((await fine.run("before_call")).decision).toBe("allow");
  expect(fine.ctx.tool_calls[0]?.removed).toBeUndefined();
});

test("detector steps: an MCP argument that is both a request segment and a tool argument is reported at both places (scanned once)", async () => {
  const { mcpCall } = await import("./helpers.ts");
  env = await pipelineEnv();
  const p = env.pipeline(withStep(testPayload(), "detect_secrets", { action: "log" }));
  const secret = "password=hunter2xyz!Q";
  const c = p.begin({
    ...mcpCall(await env.token(), "search_docs", { query: secret, other: "plain" }),
    request: [
      { path: "arguments.query", kind: "tool_args", text: secret },
      { path: "arguments.other", kind: "tool_args", text: "plain" },
    ],
  });
  const { detectors } = await import("../../../src/engine/pipeline/detectors/index.ts");
  const d = detectors.detect_secrets as unknown as { detect: (...a: never[]) => unknown };
  const detect = d.detect;
  let scans = 0;
  d.detect = (...a: never[]) => (a[0] === (secret as never) && scans++, detect.apply(d, a));
  let v: Awaited<ReturnType<typeof c.run>>;
  try {
    v = await c.run("before_call");
  } finally {
    d.detect = detect;
  }
  expect(scans).toBe(1);
  const f = v.fragments.find((x) => x.step === "detect_secrets");
  const findings = (f?.evidence.findings ?? []) as Array<{ path: string; type: string; start: number; end: number }>;
  expect(f?.evidence.scanned).toBe(4);
  expect(findings.map((x) => x.path).sort()).toEqual(["arguments.query", "tool:call-1.query"]);
  expect(findings[0]).toMatchObject({ type: "password_assignment", start: findings[1]?.start, end: findings[1]?.end });
});
