import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import {
  eraseTrace,
  exportLines,
  makeVerifier,
  openAuditLog,
  readRows,
  verifyDb,
  verifyJsonl,
  writeBatch,
  makeSigner,
} from "../../../src/engine/audit/index.ts";
import { SEAL_DELAY_MS } from "../../../src/engine/audit/store.ts";
import { newSecretKey, publicKeyOf, verifyBytes } from "../../../src/engine/crypto/ed25519.ts";
import { kidOf } from "../../../src/engine/crypto/keys.ts";
import { auditHome, sampleRow } from "./helpers.ts";

let cleanup = () => {};
afterEach(() => cleanup());

async function withRows(n: number) {
  const h = await auditHome();
  cleanup = h.cleanup;
  const log = openAuditLog(h.db, h.keys);
  const rows = await Promise.all(Array.from({ length: n }, (_, i) => log.append(sampleRow(i))));
  // the head is sealed just after the commits (a turn later) and at flush: the log as it stands
  // between calls, which is what the tampering below starts from
  await log.flush();
  const verifier = makeVerifier([h.keys.ed25519]);
  /** A second, independent connection: what an attacker with file access would use. */
  const raw = () => new Database(h.db.path);
  return { ...h, log, rows, verifier, raw };
}

describe("append", () => {
  test("rows are chained, signed, durable on resolve, and verify; signatures verify with noble too", async () => {
    const { rows, verifier, db, keys } = await withRows(50);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows[0]?.prev_hash).toBe("0".repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.prev_hash).toBe(rows[i - 1]?.row_hash as string);
    // Committed: visible from another connection as soon as append resolved.
    const other = new Database(db.path, { readonly: true });
    expect((other.query("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n).toBe(50);
    other.close();
    const v = verifyDb(db, verifier);
    expect(v).toMatchObject({ ok: true, rows: 50, first_seq: 1, last_seq: 50 });
    // The native Ed25519 signature is a standard one: @noble/ed25519 verifies it.
    const r = rows[7] as (typeof rows)[number];
    const sig = Buffer.from(r.signature.split(":")[2] as string, "base64");
    expect(verifyBytes(new Uint8Array(sig), new Uint8Array(Buffer.from(r.row_hash, "hex")), keys.ed25519.public)).toBe(true);
    // Group commit: 50 appends in one tick went into few transactions, in order.
    expect(readRows(db, { agent: "mailer" }).length).toBe(25);
  });

  test("the signed head exists from the start and is sealed just after the commits; rows past it verify and are counted as unsealed", async () => {
    const h = await auditHome();
    cleanup = h.cleanup;
    const head = () => h.db.prepare<{ seq: number }>("SELECT seq FROM audit_head WHERE id = 1").get()?.seq;
    const log = openAuditLog(h.db, h.keys);
    const verifier = makeVerifier([h.keys.ed25519]);
    expect(head()).toBe(0); // sealed on the empty log: deleting it is tampering from the first row on
    await Promise.all([1, 2, 3].map((i) => log.append(sampleRow(i))));
    // the callers have their rows (committed) before the head moves: one signature off their path
    expect(head()).toBe(0);
    expect(verifyDb(h.db, verifier)).toMatchObject({ ok: true, rows: 3, unsealed: 3 });
    await Bun.sleep(SEAL_DELAY_MS + 20);
    expect(head()).toBe(3);
    expect(verifyDb(h.db, verifier).unsealed).toBeUndefined();
    // rows past the head are still authenticated: a forged one (no key) is caught
    await log.append(sampleRow(4));
    const raw = new Database(h.db.path);
    raw.run("UPDATE audit_log SET signature = ? WHERE seq = 4", [makeSigner({ kid: h.keys.ed25519.kid, secret: newSecretKey() }).sign(new Uint8Array(32))]);
    raw.close();
    expect(verifyDb(h.db, verifier)).toMatchObject({ ok: false, first_bad_seq: 4 });
    await log.close();
  });

  test("trailing rows share a commit a moment later; an append that may not wait, or flush, commits them at once, in order", async () => {
    const h = await auditHome();
    cleanup = h.cleanup;
    // a window long enough that a loaded machine's turns of the event loop stay inside it
    const log = openAuditLog(h.db, h.keys, { trailingMs: 250 });
    const count = () => {
      const other = new Database(h.db.path, { readonly: true });
      const n = (other.query("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n;
      other.close();
      return n;
    };
    const committed: number[] = [];
    const track = (p: Promise<{ seq: number }>) => p.then((r) => committed.push(r.seq));
    // trailing rows over several turns of the event loop: none is written until the window ends
    const a = track(log.append(sampleRow(1), { trailing: true }));
    await new Promise((r) => setImmediate(r));
    const b = track(log.append(sampleRow(2), { trailing: true }));
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(0);
    await Promise.all([a, b]);
    expect(committed).toEqual([1, 2]);
    expect(count()).toBe(2);
    // an ordinary append takes the waiting trailing rows with it, on the next turn
    const c = track(log.append(sampleRow(3), { trailing: true }));
    const d = track(log.append(sampleRow(4)));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(count()).toBe(4);
    await Promise.all([c, d]);
    // flush does not wait for the window
    void track(log.append(sampleRow(5), { trailing: true }));
    await log.flush();
    expect(count()).toBe(5);
    expect(committed).toEqual([1, 2, 3, 4, 5]);
    expect(verifyDb(h.db, makeVerifier([h.keys.ed25519]))).toMatchObject({ ok: true, rows: 5 });
    await log.close();
  });

  test("evidence in rows never holds raw secrets — rows carry what the caller gave, hashed and signed", async () => {
    const { rows } = await withRows(5);
    const denied = rows.find((r) => r.decision === "deny");
    expect(JSON.stringify(denied)).not.toContain("AKIA");
  });
});

describe("tampering with the database is detected", () => {
  test("modify a header field", async () => {
    const t = await withRows(20);
    t.raw().run("UPDATE audit_log SET decision = 'allow' WHERE seq = 4");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 4, reason: expect.stringContaining("modified") });
  });

  test("modify the content (meta / step decisions)", async () => {
    const t = await withRows(20);
    t.raw().run("UPDATE audit_log SET content = replace(content, 'gpt-4o-mini', 'gpt-4o') WHERE seq = 9");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 9, reason: expect.stringContaining("content") });
  });

  test("modify a signature", async () => {
    const t = await withRows(20);
    const sig = (t.raw().query("SELECT signature FROM audit_log WHERE seq = 2").get() as { signature: string }).signature;
    t.raw().run("UPDATE audit_log SET signature = ? WHERE seq = 6", [sig]);
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 6, reason: expect.stringContaining("signature") });
  });

  test("delete a row", async () => {
    const t = await withRows(20);
    t.raw().run("DELETE FROM audit_log WHERE seq = 5");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 5, reason: expect.stringContaining("missing") });
  });

  test("insert a row (forged, correctly linked, signed with another key)", async () => {
    const t = await withRows(20);
    const mallory = { kid: "mallory", secret: newSecretKey() };
    // Renumber the tail to make room, then forge row 11 linked to row 10 — with the attacker's key.
    t.raw().run("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 10");
    t.raw().run("UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000");
    const prev = (t.raw().query("SELECT row_hash FROM audit_log WHERE seq = 10").get() as { row_hash: string }).row_hash;
    t.raw().run(
      `INSERT INTO audit_log (seq, ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision, content, content_digest, erased, prev_hash, row_hash, kid, signature)
       SELECT 11, ts, 'forged', session_id, agent_id, sandbox_id, policy_version, surface, 'allow', content, content_digest, NULL, ?, row_hash, 'mallory', ? FROM audit_log WHERE seq = 10`,
      [prev, makeSigner(mallory).sign(new Uint8Array(32))],
    );
    const v = verifyDb(t.db, t.verifier);
    expect(v.ok).toBe(false);
    expect(v.first_bad_seq).toBe(11);
  });

  test("append a forged row at the tail (prev_hash right, hash right, no key)", async () => {
    const t = await withRows(10);
    const mallory = makeSigner({ kid: t.keys.ed25519.kid, secret: newSecretKey() }); // even claiming the right kid
    const before = t.raw();
    before.run("CREATE TABLE scratch AS SELECT * FROM audit_head");
    // The forger appends with their own key through the real code path, then restores the head.
    writeBatch(t.db, mallory, [sampleRow(99)]);
    before.run("UPDATE audit_head SET seq = (SELECT seq FROM scratch), row_hash = (SELECT row_hash FROM scratch), signature = (SELECT signature FROM scratch)");
    const v = verifyDb(t.db, t.verifier);
    expect(v).toMatchObject({ ok: false, first_bad_seq: 11 });
  });

  test("swap two rows", async () => {
    const t = await withRows(20);
    const db = t.raw();
    const cols = "ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision, content, content_digest, erased, prev_hash, row_hash, kid, signature";
    db.run(`CREATE TABLE tmp AS SELECT seq, ${cols} FROM audit_log WHERE seq IN (3, 4)`);
    for (const [a, b] of [[3, 4], [4, 3]]) {
      db.run(`UPDATE audit_log SET (${cols}) = (SELECT ${cols} FROM tmp WHERE seq = ${b}) WHERE seq = ${a}`);
    }
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 3 });
  });

  test("truncate the tail (the signed head remembers)", async () => {
    const t = await withRows(20);
    t.raw().run("DELETE FROM audit_log WHERE seq > 17");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 18, reason: expect.stringContaining("truncated") });
  });

  test("truncate everything", async () => {
    const t = await withRows(5);
    t.raw().run("DELETE FROM audit_log");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 1 });
  });

  test("wrong key", async () => {
    const t = await withRows(5);
    const pub = publicKeyOf(newSecretKey());
    expect(verifyDb(t.db, makeVerifier([{ kid: kidOf(pub), public: pub }]))).toMatchObject({ ok: false, first_bad_seq: 1, reason: expect.stringContaining("no public key") });
    // Same kid, different key bytes: the signature itself fails.
    expect(verifyDb(t.db, makeVerifier([{ kid: t.keys.ed25519.kid, public: pub }]))).toMatchObject({ ok: false, first_bad_seq: 1, reason: expect.stringContaining("does not verify") });
  });
});

describe("JSONL export verifies offline and catches tampering", () => {
  async function exported(n = 12) {
    const t = await withRows(n);
    const lines = [...exportLines(t.db, t.keys, { format: "jsonl" })];
    return { ...t, lines };
  }
  const text = (lines: string[]) => `${lines.join("\n")}\n`;

  test("intact export verifies; ends with a signed checkpoint", async () => {
    const t = await exported();
    expect(t.lines).toHaveLength(13);
    expect(JSON.parse(t.lines[12] as string)).toMatchObject({ type: "checkpoint", first_seq: 1, last_seq: 12, count: 12 });
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: true, rows: 12 });
  });

  test("modify a field", async () => {
    const t = await exported();
    const o = JSON.parse(t.lines[6] as string);
    o.agent_id = "someone-else";
    t.lines[6] = JSON.stringify(o);
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 7 });
  });

  test("modify content", async () => {
    const t = await exported();
    const o = JSON.parse(t.lines[2] as string);
    o.meta.cost_usd = 0;
    t.lines[2] = JSON.stringify(o);
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 3, reason: expect.stringContaining("content") });
  });

  test("delete a row", async () => {
    const t = await exported();
    t.lines.splice(4, 1);
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 5 });
  });

  test("insert a row (a duplicate of another)", async () => {
    const t = await exported();
    t.lines.splice(5, 0, t.lines[2] as string);
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 3 });
  });

  test("reorder rows", async () => {
    const t = await exported();
    [t.lines[3], t.lines[4]] = [t.lines[4] as string, t.lines[3] as string];
    expect(verifyJsonl(text(t.lines), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 4 });
  });

  test("truncate: rows cut with the checkpoint kept, checkpoint dropped, file cut mid-line, leading rows dropped", async () => {
    const t = await exported();
    const cp = t.lines[12] as string;
    expect(verifyJsonl(text([...t.lines.slice(0, 9), cp]), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 10, reason: expect.stringContaining("truncated") });
    expect(verifyJsonl(text(t.lines.slice(0, 12)), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 13, reason: expect.stringContaining("checkpoint") });
    const whole = text(t.lines);
    expect(verifyJsonl(whole.slice(0, Math.floor(whole.length / 2)), t.verifier).ok).toBe(false);
    expect(verifyJsonl(text(t.lines.slice(3)), t.verifier)).toMatchObject({ ok: false, first_bad_seq: 1 });
  });

  test("wrong key", async () => {
    const t = await exported();
    const pub = publicKeyOf(newSecretKey());
    expect(verifyJsonl(text(t.lines), makeVerifier([{ kid: t.keys.ed25519.kid, public: pub }]))).toMatchObject({ ok: false, first_bad_seq: 1 });
  });

  test("--since exports a verifiable slice anchored mid-chain", async () => {
    const t = await withRows(3);
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    await Promise.all([4, 5, 6].map((i) => t.log.append(sampleRow(i))));
    const lines = [...exportLines(t.db, t.keys, { format: "jsonl", since })];
    expect(verifyJsonl(text(lines), t.verifier)).toMatchObject({ ok: true, rows: 3, first_seq: 4, anchored: true });
  });

  test("ocsf and cef exports carry one event per row with seq, trace and decision", async () => {
    const t = await withRows(7);
    const ocsf = [...exportLines(t.db, t.keys, { format: "ocsf" })].map((l) => JSON.parse(l));
    expect(ocsf).toHaveLength(7);
    expect(ocsf[3]).toMatchObject({ class_uid: 6003, status: "Failure", metadata: { sequence: 4, uid: "trace-00000003" } });
    const cef = [...exportLines(t.db, t.keys, { format: "cef" })];
    expect(cef).toHaveLength(7);
    expect(cef[3]).toMatch(/^CEF:0\|TapPass\|TapPass\|1\|mcp\.deny\|.*\|8\|.*act=deny .*cs6=detect_secrets/);
  });
});

describe("erasure", () => {
  test("erasing a trace tombstones its content, the chain still verifies, and the erasure is audited", async () => {
    const t = await withRows(10);
    const r = await eraseTrace(t.db, t.keys, "trace-00000003", { reason: "GDPR art. 17", log: t.log });
    expect(r.erased).toEqual([4]);
    const row = readRows(t.db, { trace_id: "trace-00000003" })[0];
    expect(row?.erased?.reason).toBe("GDPR art. 17");
    expect(row?.meta).toEqual({});
    expect(JSON.stringify(row)).not.toContain("gpt-4o-mini");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: true, rows: 11, erased: 1 });
    const audit = readRows(t.db, { after_seq: 10 })[0];
    expect(audit).toMatchObject({ surface: "admin", meta: { action: "audit.erase", erased_trace_id: "trace-00000003" } });
    const lines = [...exportLines(t.db, t.keys, { format: "jsonl" })];
    expect(verifyJsonl(`${lines.join("\n")}\n`, t.verifier)).toMatchObject({ ok: true, erased: 1 });
  });

  test("an unsigned 'erasure' (content dropped by hand) is tampering", async () => {
    const t = await withRows(6);
    t.raw().run(`UPDATE audit_log SET content = NULL, erased = '{"erased_at":"2026-01-01T00:00:00Z","reason":"x","kid":"k","signature":"ed25519:k:AAAA"}' WHERE seq = 2`);
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 2 });
    t.raw().run("UPDATE audit_log SET erased = NULL WHERE seq = 2");
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 2, reason: expect.stringContaining("missing") });
  });

  test("an unknown trace id is a clear input error", async () => {
    const t = await withRows(2);
    await expect(eraseTrace(t.db, t.keys, "nope")).rejects.toMatchObject({ code: "unknown_trace", exitCode: 3 });
  });
});

describe("background WAL checkpoints (checkpointer.ts)", () => {
  test("a busy log hands checkpoints to a worker thread and takes them back on close; rows stay durable and verifiable", async () => {
    const h = await auditHome();
    cleanup = h.cleanup;
    const pragma = () => (h.db.prepare<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint ?? -1);
    const log = openAuditLog(h.db, h.keys, { backgroundCheckpointAfter: 10 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(sampleRow(i))));
    for (let i = 0; i < 100 && pragma() !== 8000; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pragma()).toBe(8000); // the worker runs; COMMIT checkpoints only as a backstop
    await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(sampleRow(20 + i))));
    await new Promise((r) => setTimeout(r, 100));
    const other = new Database(h.db.path, { readonly: true });
    expect((other.query("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n).toBe(520);
    other.close();
    await log.close();
    expect(pragma()).toBe(1000);
    expect(verifyDb(h.db, makeVerifier([h.keys.ed25519]))).toMatchObject({ ok: true, rows: 520 });
  });

  test("a quiet log (or TAPPASS_AUDIT_CHECKPOINTER=0) keeps SQLite's checkpoint on commit", async () => {
    const h = await auditHome();
    cleanup = h.cleanup;
    const log = openAuditLog(h.db, h.keys);
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(sampleRow(i))));
    await new Promise((r) => setTimeout(r, 50));
    expect(h.db.prepare<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint).toBe(1000);
    process.env.TAPPASS_AUDIT_CHECKPOINTER = "0";
    try {
      const busy = openAuditLog(h.db, h.keys, { backgroundCheckpointAfter: 1 });
      await Promise.all(Array.from({ length: 50 }, (_, i) => busy.append(sampleRow(50 + i))));
      await new Promise((r) => setTimeout(r, 50));
      expect(h.db.prepare<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint).toBe(1000);
    } finally {
      delete process.env.TAPPASS_AUDIT_CHECKPOINTER;
    }
  });
});
