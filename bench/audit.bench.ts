/**
 * Audit log throughput: signed rows appended per second (group commit into SQLite WAL, native
 * Ed25519), rows verified per second (full: hash chain + every signature; chain: hashes and
 * links only), and per-step p50/p99 of the standard pipeline on a realistic LLM call.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { makeSigner, makeVerifier, openAuditLog, verifyDb } from "../src/engine/audit/index.ts";
import { GENESIS_HASH, headerOf, rowHash, sha256hex } from "../src/engine/audit/chain.ts";
import { iterateDbRows } from "../src/engine/audit/read.ts";
import { ensureKeys, loadKeys } from "../src/engine/crypto/keys.ts";
import { newSecretKey, signBytes } from "../src/engine/crypto/ed25519.ts";
import { createPipeline } from "../src/engine/pipeline/index.ts";
import { issueToken } from "../src/engine/crypto/tokens.ts";
import { closeAllState, openState } from "../src/engine/store/state.ts";
import { sampleRow } from "../test/engine/audit/helpers.ts";
import { signedEnvelope, testPayload } from "../test/helpers/policy.ts";

export default async function (): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), "tappass-bench-audit-"));
  try {
    const db = openState(home, { create: true });
    await ensureKeys(home);
    const keys = loadKeys(home);
    const log = openAuditLog(db, keys);

    // Append: 64 callers in flight (as a busy gateway would have), for ~N rows.
    const N = 40_000;
    await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(sampleRow(i)))); // warm-up
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < N) await log.append(sampleRow(next++));
      }),
    );
    const appendS = (performance.now() - t0) / 1000;

    // Verify: full (every signature) and chain-only.
    const verifier = makeVerifier([keys.ed25519]);
    const t1 = performance.now();
    const v = verifyDb(db, verifier);
    const verifyS = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    let prev = GENESIS_HASH;
    let rows = 0;
    for (const r of iterateDbRows(db)) {
      if (r.prev_hash !== prev) throw new Error("chain broken in bench");
      if (sha256hex(r.content as string) !== r.content_digest) throw new Error("digest");
      const h = rowHash(r.prev_hash, headerOf({ ...r, surface: r.surface as "llm", decision: r.decision as "allow" }), r.content_digest);
      if (h !== r.row_hash) throw new Error("hash");
      prev = h;
      rows++;
    }
    const chainS = (performance.now() - t2) / 1000;

    // Signing alone: native vs noble (why audit rows use node:crypto's Ed25519).
    const msg = new Uint8Array(32);
    const signer = makeSigner(keys.ed25519);
    const t3 = performance.now();
    for (let i = 0; i < 5000; i++) signer.sign(msg);
    const nativeSignS = (performance.now() - t3) / 1000;
    const sk = newSecretKey();
    const t4 = performance.now();
    for (let i = 0; i < 300; i++) signBytes(msg, sk);
    const nobleSignS = (performance.now() - t4) / 1000;

    // The standard pipeline on a realistic call.
    const pipeline = createPipeline({ envelope: signedEnvelope(testPayload({ budget: { requests_per_minute: null, tool_calls_per_minute: null } }), keys), db, keys, audit: log });
    const token = await issueToken(keys, { agent: "mailer", session_id: "bench", ttlSeconds: 300 });
    const prompt =
      "Hi, I'm following up on ticket #4411. The customer, Jane Doe (jane.doe@example.com, +44 20 7946 0958), says the invoice from March was charged twice. " +
      "Please draft a polite reply explaining the refund timeline (5-7 business days) and ask whether she wants the credit applied to her next invoice instead. ".repeat(3);
    const calls = 300;
    const tc = performance.now();
    for (let i = 0; i < calls; i++) {
      const c = pipeline.begin({
        surface: "llm",
        agent: "mailer",
        session_id: "bench",
        token,
        model: "gpt-4o-mini",
        provider: "openai",
        request: [
          { path: "messages.0.content", kind: "system", text: "You are Acme's support assistant. Be concise and polite." },
          { path: "messages.1.content", kind: "prompt", text: prompt },
        ],
      });
      await c.run("before_call");
      c.ctx.response = [{ path: "choices.0.message.content", kind: "response", text: "Dear «EMAIL_1», thank you for reaching out. Your refund will arrive within 5-7 business days." }];
      c.ctx.tool_calls = [{ id: `t${i}`, name: "send_email", arguments: { to: "«EMAIL_1»", subject: "Your refund", body: "Your refund is on its way." }, origin: "model" }];
      c.ctx.usage = { input_tokens: 180, output_tokens: 40 };
      await c.run("after_call");
      await c.finish();
    }
    const perCallMs = (performance.now() - tc) / calls;
    const timings = pipeline.stepTimings();
    await log.close();
    return {
      machine: { cpus: cpus().length, loadavg_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      rows_appended: N,
      append_rows_per_s: Math.round(N / appendS),
      verify_full_rows_per_s: Math.round(v.rows / verifyS),
      verify_chain_only_rows_per_s: Math.round(rows / chainS),
      verified_rows: v.rows,
      verify_ok: v.ok,
      ed25519_sign_per_s: { native_node_crypto: Math.round(5000 / nativeSignS), noble_pure_js: Math.round(300 / nobleSignS) },
      pipeline_standard_call_ms: Math.round(perCallMs * 1000) / 1000,
      pipeline_step_p50_ms: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t.p50_ms])),
      pipeline_step_p99_ms: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t.p99_ms])),
    };
  } finally {
    closeAllState();
    rmSync(home, { recursive: true, force: true });
  }
}
