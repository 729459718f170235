/** Capability tokens verified once per token string; expiry, agent and session still checked on every call. */
import { afterEach, expect, test } from "bun:test";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { clearTokenCache, verifyTokenCached } from "../../../src/engine/pipeline/token-cache.ts";
import { testPayload } from "../../helpers/policy.ts";
import { type Env, llmCall, pipelineEnv } from "./helpers.ts";

let env: Env;
afterEach(() => env?.cleanup());

test("a cached token is still refused once expired (caller's clock), for another agent, and for another session", async () => {
  env = await pipelineEnv();
  clearTokenCache();
  const tok = await env.token("mailer", "sess-1", 60);
  const c1 = await verifyTokenCached(env.keys, tok);
  expect(await verifyTokenCached(env.keys, tok)).toBe(c1); // second call: the cache
  await expect(verifyTokenCached(env.keys, tok, (c1.exp + 1) * 1000)).rejects.toMatchObject({ code: "token_expired" });
  // a forged token is never cached as good
  await expect(verifyTokenCached(env.keys, `${tok.slice(0, -4)}AAAA`)).rejects.toMatchObject({ code: "token_invalid" });
  const p = env.pipeline(testPayload());
  const good = await env.token("mailer", "sess-1");
  expect((await p.begin(llmCall(good, "hi")).run("before_call")).decision).toBe("allow");
  // same (now cached) token presented for another session / by another agent
  expect((await p.begin(llmCall(good, "hi", { session_id: "sess-2" })).run("before_call")).denied_by?.step).toBe("enforce_session_scope");
  expect((await p.begin(llmCall(good, "hi", { agent: "other" })).run("before_call")).denied_by?.step).toBe("verify_capability_token");
  const other = await issueToken(env.keys, { agent: "other", session_id: "sess-1", ttlSeconds: 60 });
  expect((await p.begin(llmCall(other, "hi")).run("before_call")).denied_by?.step).toBe("verify_capability_token");
});

test("verify_capability_token: a token already verified is judged synchronously (no promise), and still expires and fails on a forged one", async () => {
  const { STEPS } = await import("../../../src/engine/pipeline/steps/index.ts");
  env = await pipelineEnv();
  clearTokenCache();
  const step = STEPS.verify_capability_token as NonNullable<(typeof STEPS)["verify_capability_token"]>;
  const pay = testPayload();
  const tok = await env.token("mailer", "sess-1", 60);
  const cfg = pay.pipeline.steps.find((s) => s.name === "verify_capability_token");
  const stepEnv = (now: number) =>
    ({
      policy: pay,
      step: cfg,
      action: "block",
      db: env.db,
      keys: env.keys,
      now: () => now,
      phase: "before_call",
      envelope: undefined,
      defer: () => {},
    }) as never;
  const ctx = () => llmCall(tok, "hi") as never;
  // first sight: the full (asynchronous) verification
  const first = step.run(ctx(), stepEnv(Date.now()));
  expect(first).toBeInstanceOf(Promise);
  expect(await first).toMatchObject({ decision: "allow", evidence: { token: "valid" } });
  // then from the cache, inline
  const again = step.run(ctx(), stepEnv(Date.now()));
  expect(again).not.toBeInstanceOf(Promise);
  expect(again).toMatchObject({ decision: "allow", evidence: { token: "valid", sub: "mailer" } });
  // expiry is still checked against the caller's clock
  expect(step.run(ctx(), stepEnv(Date.now() + 3_600_000))).toMatchObject({ decision: "deny", evidence: { token: "token_expired" } });
  // a forged token is never served from the cache
  const forged = step.run(llmCall(`${tok.slice(0, -4)}AAAA`, "hi") as never, stepEnv(Date.now()));
  expect(await forged).toMatchObject({ decision: "deny", evidence: { token: "token_invalid" } });
});
