import { afterEach, expect, test } from "bun:test";
import { CircuitBreaker } from "../../../src/engine/gateway/circuit-breaker.ts";
import { getAt, setAt, SegmentSet } from "../../../src/engine/gateway/paths.ts";
import { SseParser, sseFrame } from "../../../src/engine/gateway/sse.ts";
import { HOLD_MAX_BYTES, TextGuard } from "../../../src/engine/gateway/stream-guard.ts";
import { globMatch, normaliseBase, resolveRoute } from "../../../src/engine/gateway/upstreams.ts";
import { testPayload } from "../../helpers/policy.ts";
import { tempHome } from "../../helpers/home.ts";

let cleanup = () => {};
afterEach(() => cleanup());

test("SSE parser: events split anywhere, CRLF, comments, multi-line data; frames round-trip", () => {
  const wire = `event: a\r\ndata: {"x":1}\r\n\r\n: keep-alive\n\ndata: line1\ndata: line2\n\n${sseFrame({ y: 2 }, "b")}`;
  for (const size of [1, 2, 3, 7, 1000]) {
    const p = new SseParser();
    const evs = [];
    for (let i = 0; i < wire.length; i += size) evs.push(...p.push(new TextEncoder().encode(wire.slice(i, i + size))));
    evs.push(...p.end());
    expect(evs).toEqual([{ event: "a", data: '{"x":1}' }, { data: "line1\nline2" }, { event: "b", data: '{"y":2}' }]);
  }
  const p = new SseParser();
  expect(p.push("data: [DONE]")).toEqual([]);
  expect(p.end()).toEqual([{ data: "[DONE]" }]);
});

test("paths: read and write text in place, through JSON-string tool arguments", () => {
  const body = { messages: [{ content: [{ text: "a" }] }, { tool_calls: [{ function: { arguments: '{"to":"x@y.z","n":1}' } }] }] };
  expect(getAt(body, "messages.0.content.0.text")).toBe("a");
  expect(getAt(body, "messages.1.tool_calls.0.function.arguments.@json.to")).toBe("x@y.z");
  expect(setAt(body, "messages.1.tool_calls.0.function.arguments.@json.to", "«EMAIL_1»")).toBe(true);
  expect(JSON.parse(body.messages[1]?.tool_calls?.[0]?.function.arguments as string)).toEqual({ to: "«EMAIL_1»", n: 1 });
  const set = new SegmentSet();
  set.add({ path: "messages.0.content.0.text", kind: "prompt", text: "a" });
  (set.segments[0] as { text: string }).text = "b";
  expect(set.writeBack(body)).toBe(1);
  expect(body.messages[0]?.content?.[0]?.text).toBe("b");
});

test("stream guard: a secret split across chunks is never released; text flows with a bounded hold-back", async () => {
  const secret = "SECRET-ABCDEFGHIJKLMNOP";
  const inspect = (w: string) => (w.includes(secret) ? { block: { step: "detect_secrets_in_response", reason: "secret" }, text: w } : { text: w });
  const g = new TextGuard(inspect);
  let out = "";
  for (const c of ["Hello there, this is a fairly long preamble of text. Key: SECRET-ABC", "DEFGHIJ", "KLMNOP trailing"]) {
    const r = await g.push(c);
    out += r.release;
    if (r.cut) break;
  }
  expect(g.cutBy?.step).toBe("detect_secrets_in_response");
  expect(out).toContain("Hello there");
  expect(out).not.toContain("SECRET");
  // redaction instead of a block
  const red = new TextGuard((w) => ({ text: w.replace(secret, "[REDACTED]"), ...(w.includes(secret) ? { redacted_by: ["x"] } : {}) }));
  let o2 = "";
  for (const c of ["Key: SECRET-ABC", "DEFGHIJKLMNOP and on"]) o2 += (await red.push(c)).release;
  o2 += (await red.flush()).release;
  expect(o2).toBe("Key: [REDACTED] and on");
  // a run of non-space text longer than the cap is released once it exceeds 1 KiB
  const g3 = new TextGuard((w) => ({ text: w }));
  const r3 = await g3.push("x".repeat(HOLD_MAX_BYTES + 500));
  expect(r3.release.length).toBe(500);
});

test("stream guard: PII placeholders are restored whole even when split across chunks", async () => {
  const vault = new Map([["«EMAIL_1»", "jane@example.com"]]);
  const restore = (s: string) => s.split("«EMAIL_1»").join("jane@example.com");
  const g = new TextGuard((w) => ({ text: w }), restore, () => [...vault.keys()]);
  let out = "";
  for (const c of ["write to «EMA", "IL_1» today, ", "and tell them everything about the plan for next week."]) out += (await g.push(c)).release;
  out += (await g.flush()).release;
  expect(out).toBe("write to jane@example.com today, and tell them everything about the plan for next week.");
});

test("circuit breaker: opens after the threshold, half-opens after the cooldown, one trial at a time", () => {
  let now = 0;
  const b = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => now });
  expect(b.tryAcquire()).toBe(true);
  b.failure();
  expect(b.state).toBe("closed");
  b.failure();
  expect(b.state).toBe("open");
  expect(b.tryAcquire()).toBe(false);
  now = 1000;
  expect(b.state).toBe("half_open");
  expect(b.tryAcquire()).toBe(true);
  expect(b.tryAcquire()).toBe(false);
  b.failure();
  expect(b.state).toBe("open");
  now = 2500;
  expect(b.tryAcquire()).toBe(true);
  b.success();
  expect(b.state).toBe("closed");
});

test("routes: policy routes by model, wire mismatch refused, allow/deny lists, base URLs normalised", () => {
  expect(normaliseBase("http://127.0.0.1:9/v1/")).toBe("http://127.0.0.1:9");
  expect(normaliseBase("http://h/openai/v1")).toBe("http://h/openai");
  expect(globMatch("gpt-4o*", "gpt-4o-mini")).toBe(true);
  const p = testPayload();
  const ok = resolveRoute("openai", "gpt-4o-mini", p, { openai: "http://127.0.0.1:1" });
  expect(ok).toMatchObject({ ok: true, route: { provider: "openai", base: "http://127.0.0.1:1" } });
  expect(resolveRoute("anthropic", "gpt-4o", p, {})).toMatchObject({ ok: false, code: "route_wire_mismatch" });
  expect(resolveRoute("openai", "o1", p, {})).toMatchObject({ ok: false, status: 403, code: "models_allowed" });
  const compat = { ...p, models: { allow: [], deny: ["bad-*"], routes: [{ match: "llama-*", provider: "openai_compatible" as const, base_url: "http://127.0.0.1:7/v1", key_env: "LOCAL_KEY" }] } };
  expect(resolveRoute("openai", "llama-3", compat, {})).toMatchObject({ ok: true, route: { provider: "openai_compatible", base: "http://127.0.0.1:7", key_env: "LOCAL_KEY" } });
  expect(resolveRoute("openai", "bad-model", compat, {})).toMatchObject({ ok: false, code: "models_denied" });
});

test("key store: sealed with AES-GCM, bound to the provider name, KEK owner-only, tampering detected", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const { initInstall } = await import("../../../src/engine/install.ts");
  const { openState } = await import("../../../src/engine/store/state.ts");
  const { setProviderKey, getProviderKey } = await import("../../../src/engine/gateway/keystore.ts");
  const { resolveProviderKey } = await import("../../../src/engine/gateway/credentials.ts");
  await initInstall({ home: t.home });
  const db = openState(t.home);
  setProviderKey(db, t.home, "openai", "sk-stored\n");
  expect(getProviderKey(db, t.home, "openai")).toBe("sk-stored");
  const row = db.prepare<{ ciphertext: Uint8Array }>("SELECT ciphertext FROM gateway_provider_keys WHERE provider = 'openai'").get();
  expect(Buffer.from(row?.ciphertext ?? []).toString()).not.toContain("sk-stored");
  // moving the sealed key to another provider's row fails (the provider is the associated data)
  db.exec("INSERT INTO gateway_provider_keys SELECT 'anthropic', kek_id, nonce, ciphertext, tag, fingerprint, updated_at FROM gateway_provider_keys WHERE provider = 'openai'");
  expect(() => getProviderKey(db, t.home, "anthropic")).toThrow(/does not decrypt/);
  // precedence: explicit, then env, then the store; none → a clear error
  expect(resolveProviderKey({ env: {}, db, home: t.home }, "openai")).toBe("sk-stored");
  expect(resolveProviderKey({ env: { OPENAI_API_KEY: "sk-env" }, db, home: t.home }, "openai")).toBe("sk-env");
  expect(resolveProviderKey({ explicit: { openai: "sk-x" }, env: { OPENAI_API_KEY: "sk-env" } }, "openai")).toBe("sk-x");
  expect(() => resolveProviderKey({ env: {} }, "anthropic")).toThrow(/no anthropic key/);
});

test("stream guard: prose is released word by word; partial words and number-like runs are held", async () => {
  const { holdStart } = await import("../../../src/engine/gateway/stream-guard.ts");
  const held = (s: string) => s.slice(holdStart(s));
  expect(held("Thanks f")).toBe("f");
  expect(held("Thanks for the ")).toBe("");
  expect(held("my card is 4111 1111 1111")).toBe("4111 1111 1111");
  expect(held("call +44 20 7946 ")).toBe("+44 20 7946 ");
  expect(held("IBAN GB82 WEST 1234 5698")).toBe("IBAN GB82 WEST 1234 5698");
  expect(held("ordinary words A B C then")).toBe("then");
  expect(held("it was 1985 and then we")).toBe("we");
  // first words go out after one inspection, not after a fixed margin
  const g = new TextGuard((w) => ({ text: w }));
  expect((await g.push("Thanks f")).release).toBe("Thanks ");
  expect((await g.push("or the q")).release).toBe("for the ");
  // a card number split at a space is redacted whole, not half-sent
  const card = "4111 1111 1111 1111";
  const red = new TextGuard((w) => (w.includes(card) ? { text: w.replace(card, "[CARD]"), redacted_by: ["detect_pii_in_response"] } : { text: w }));
  let out = "";
  for (const c of ["Pay with 4111 ", "1111 11", "11 1111 please."]) out += (await red.push(c)).release;
  out += (await red.flush()).release;
  expect(out).toBe("Pay with [CARD] please.");
  expect(red.cutBy).toBeUndefined();
});
