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
