/**
 * StepDef.toolScoped: with no tool call in scope the runner records a tool-scoped step's fragment
 * without running it. Every such step must then really say exactly that — an allow with an empty
 * evidence and no provenance — in every phase it runs in, whatever the mode, and with tool calls
 * present that are not its phase's (history, the other origin).
 */
import { afterEach, expect, test } from "bun:test";
import { STEPS } from "../../../src/engine/pipeline/steps/index.ts";
import type { StepEnv, ToolCall } from "../../../src/engine/pipeline/types.ts";
import { signedEnvelope, testPayload } from "../../helpers/policy.ts";
import { type Env, llmCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());

const scoped = Object.values(STEPS).filter((d) => d.toolScoped);

test("the tool steps are tool-scoped (a plain model call skips them)", () => {
  expect(scoped.map((d) => d.name).sort()).toEqual(
    ["dangerous_commands", "denied_tool_categories", "enforce_tool_call_rate", "forbidden_capabilities", "forbidden_zones", "schema_acl", "tool_arg_validation", "tool_constraints", "tool_pinning", "tools_allowed", "tools_denied"],
  );
});

test("every tool-scoped step, with no tool call in its phase's scope, allows with an empty evidence in every mode", async () => {
  env = await pipelineEnv();
  const tok = await env.token();
  const outOfScope: Record<string, ToolCall[]> = {
    // before the call the broker's / hook's calls are judged, after it the model's
    before_call: [{ name: "Bash", arguments: { command: "rm -rf /" }, origin: "history" }, { name: "Bash", arguments: { command: "rm -rf /" }, origin: "model" }],
    after_call: [{ name: "Bash", arguments: { command: "rm -rf /" }, origin: "history" }, { name: "Bash", arguments: { command: "rm -rf /" }, origin: "mcp" }],
  };
  for (const mode of ["observe", "warn", "enforce", "lockdown"] as const) {
    const payload = testPayload({ pipeline: { mode } });
    const envelope = signedEnvelope(payload, env.keys);
    for (const def of scoped) {
      const cfg = payload.pipeline.steps.find((s) => s.name === def.name) ?? { name: def.name, enabled: true, action: "block" as const, config: {} };
      for (const phase of def.phases ?? [def.phase]) {
        for (const calls of [[], outOfScope[phase] ?? []]) {
          const ctx = env.pipeline(payload).begin(llmCall(tok, "hello")).ctx;
          ctx.tool_calls = calls.map((c) => ({ ...c }));
          const stepEnv: StepEnv = { policy: payload, step: cfg, action: cfg.action, db: env.db, keys: env.keys, now: Date.now, phase, envelope, defer: () => {} };
          const r = await def.run(ctx, stepEnv);
          expect({ step: def.name, mode, phase, r }).toEqual({ step: def.name, mode, phase, r: { decision: "allow", evidence: {} } });
        }
      }
    }
  }
});

test("a plain model call's row still lists every tool step, before and after the call, as the steps would have said", async () => {
  env = await pipelineEnv();
  const p = env.pipeline(testPayload());
  const c = p.begin(llmCall(await env.token(), "hello"));
  const before = await c.run("before_call");
  const after = await c.run("after_call");
  for (const v of [before, after]) {
    const frags = v.fragments.filter((f) => scoped.some((d) => d.name === f.step));
    expect(frags.length).toBeGreaterThan(5);
    for (const f of frags) expect(f).toEqual({ compiled_policy_aspect: STEPS[f.step]!.aspect, decision: "allow", evidence: {}, rule_provenance: [], step: f.step });
  }
  await c.finish();
});
