/**
 * Audit log throughput: signed rows appended per second (group commit into SQLite WAL, native
 * Ed25519), rows verified per second in both modes of `tappass audit verify` — fast (the
 * default: every row's content digest, hash and link recomputed, every signature covered through
 * the v2 chain and the final signature verified) and full (`--full`: every row's own Ed25519
 * signature as well, sequential and in parallel) — and chain-only (hashes and links, no
 * Ed25519 at all, for reference), plus per-step p50/p99 of the standard pipeline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { makeSigner, makeVerifier, openAuditLog, verifyDb, verifyDbAsync } from "../src/engine/audit/index.ts";
import { GENESIS_HASH, headerText, rowHashOf, sha256hex } from "../src/engine/audit/chain.ts";
import { iterateDbRows } from "../src/engine/audit/read.ts";
import { ensureKeys, loadKeys } from "../src/engine/crypto/keys.ts";
import { newSecretKey, signBytes, verifyBytesPortable } from "../src/engine/crypto/ed25519.ts";
import { createPipeline } from "../src/engine/pipeline/index.ts";
import { issueToken } from "../src/engine/crypto/tokens.ts";
import { closeAllState, openState } from "../src/engine/store/state.ts";
import { sampleRow } from "../test/engine/audit/helpers.ts";
import { signedEnvelope, testPayload } from "../test/helpers/policy.ts";

const load1 = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;

export default async function (): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), "tappass-bench-audit-"));
  try {
    const loadBefore = load1();
    const db = openState(home, { create: true });
    await ensureKeys(home);
    const keys = loadKeys(home);
    const log = openAuditLog(db, keys);

    // Append: 256 callers in flight (as a busy gateway would have), for N rows.
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

    // Verify, each mode twice (the first pass also warms the JIT); the better pass is reported.
    const verifier = makeVerifier([keys.ed25519]);
    const timed = async (f: () => unknown) => {
      let best = Number.POSITIVE_INFINITY;
      let out: unknown;
      for (let i = 0; i < 2; i++) {
        const t = performance.now();
        out = await f();
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      return { s: best, out };
    };
    const fast = await timed(() => verifyDb(db, verifier));
    const full = await timed(() => verifyDb(db, verifier, { full: true }));
    const fullPar = await timed(() => verifyDbAsync(db, verifier, { full: true }));
    const chain = await timed(() => {
      let prev = GENESIS_HASH;
      let prevSig = "";
      let rows = 0;
      for (const r of iterateDbRows(db)) {
        if (r.prev_hash !== prev) throw new Error("chain broken in bench");
        if (sha256hex(r.content as string) !== r.content_digest) throw new Error("digest");
        const h = rowHashOf(r.prev_hash, headerText(r), r.content_digest, prevSig);
        if (h !== r.row_hash) throw new Error("hash");
        prev = h;
        prevSig = r.signature;
        rows++;
      }
      return rows;
    });
    const v = fast.out as Awaited<ReturnType<typeof verifyDb>>;
    for (const [name, r] of [["fast", v], ["full", full.out], ["full parallel", fullPar.out]] as const) {
      if (!(r as { ok: boolean }).ok) throw new Error(`verify (${name}) failed on an intact log: ${JSON.stringify(r)}`);
    }

    // Ed25519 alone: native (node:crypto) vs noble (pure JS), signing and verifying.
    const msg = new Uint8Array(32);
    const signer = makeSigner(keys.ed25519);
    const t3 = performance.now();
    for (let i = 0; i < 5000; i++) signer.sign(msg);
    const nativeSignS = (performance.now() - t3) / 1000;
    const sk = newSecretKey();
    const t4 = performance.now();
    for (let i = 0; i < 300; i++) signBytes(msg, sk);
    const nobleSignS = (performance.now() - t4) / 1000;
    const sig = signer.sign(msg);
    const t5 = performance.now();
    for (let i = 0; i < 2000; i++) verifier.verify(sig, msg);
    const nativeVerifyS = (performance.now() - t5) / 1000;
    const rawSig = new Uint8Array(Buffer.from(sig.split(":")[2] as string, "base64"));
    const t6 = performance.now();
    for (let i = 0; i < 100; i++) verifyBytesPortable(rawSig, msg, keys.ed25519.public);
    const nobleVerifyS = (performance.now() - t6) / 1000;

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
    const rate = (rows: number, sec: number) => Math.round(rows / sec);
    return {
      machine: { cpus: cpus().length, loadavg_1m_before: loadBefore, loadavg_1m_after: load1() },
      rows_appended: N,
      append_rows_per_s: rate(N, appendS),
      verified_rows: v.rows,
      verify_ok: v.ok,
      // The default `tappass audit verify`: every row's digest, hash and link; signatures through the chain + the final one.
      verify_rows_per_s_fast_default: rate(v.rows, fast.s),
      verify_fast_ed25519_checks: v.signatures_checked,
      // `tappass audit verify --full`: every row's own Ed25519 signature too (the CLI runs the parallel form).
      verify_rows_per_s_full_sequential: rate(v.rows, full.s),
      verify_rows_per_s_full_parallel: rate(v.rows, fullPar.s),
      verify_chain_only_rows_per_s: rate(chain.out as number, chain.s),
      goals: {
        append_20k_per_s: rate(N, appendS) >= 20_000,
        verify_100k_per_s_fast_default: rate(v.rows, fast.s) >= 100_000,
        verify_100k_per_s_full: rate(v.rows, fullPar.s) >= 100_000,
      },
      ed25519_sign_per_s: { native_node_crypto: Math.round(5000 / nativeSignS), noble_pure_js: Math.round(300 / nobleSignS) },
      ed25519_verify_per_s: { native_node_crypto: Math.round(2000 / nativeVerifyS), noble_pure_js: Math.round(100 / nobleVerifyS) },
      pipeline_standard_call_ms: Math.round(perCallMs * 1000) / 1000,
      pipeline_step_p50_ms: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t.p50_ms])),
      pipeline_step_p99_ms: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t.p99_ms])),
    };
  } finally {
    closeAllState();
    rmSync(home, { recursive: true, force: true });
  }
}
