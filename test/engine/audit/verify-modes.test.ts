/**
 * The two verification modes (verify.ts): fast (default; the v2 chain covers every signature and
 * one Ed25519 check ends it) and full (every row's signature, sequential or in parallel). They
 * must name the same first bad seq for every kind of tampering; v1 rows written before the v2
 * format keep verifying.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { exportLines, makeSigner, makeVerifier, openAuditLog, verifyDb, verifyDbAsync, verifyJsonl, writeBatch, type Signer } from "../../../src/engine/audit/index.ts";
import { GENESIS_HASH, contentOf, headSigningBytes, headerOf, headerText, rowHash, rowHashOf, rowSigningBytes, sha256hex } from "../../../src/engine/audit/chain.ts";
import type { AuditRowInput } from "../../../src/engine/audit/types.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { auditHome, sampleRow } from "./helpers.ts";

let cleanup = () => {};
afterEach(() => cleanup());

async function setup() {
  const h = await auditHome();
  cleanup = h.cleanup;
  const signer = makeSigner(h.keys.ed25519);
  const verifier = makeVerifier([h.keys.ed25519]);
  const raw = () => new Database(h.db.path);
  return { ...h, signer, verifier, raw };
}

/** The writer as it was before format v2: row_hash over prev_hash, the v1 header and the content digest only. */
function writeV1Batch(db: Db, signer: Signer, inputs: AuditRowInput[]): void {
  db.transaction(() => {
    const tail = db.prepare<{ seq: number; row_hash: string }>("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1").get();
    let seq = tail?.seq ?? 0;
    let prev = tail?.row_hash ?? GENESIS_HASH;
    for (const i of inputs) {
      seq++;
      const content = contentOf(i);
      const digest = sha256hex(content);
      const base = { seq, ts: new Date().toISOString(), trace_id: i.trace_id, session_id: i.session_id, agent_id: i.agent_id, sandbox_id: i.sandbox_id, policy_version: i.policy_version, surface: i.surface, decision: i.decision, kid: signer.kid };
      const hash = rowHash(prev, headerOf(base, 1), digest);
      db.prepare(
        `INSERT INTO audit_log (seq, ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision, content, content_digest, erased, prev_hash, row_hash, kid, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
      ).run(seq, base.ts, base.trace_id, base.session_id, base.agent_id, base.sandbox_id, base.policy_version, base.surface, base.decision, content, digest, prev, hash, signer.kid, signer.sign(rowSigningBytes(hash)));
      prev = hash;
    }
    db.prepare("INSERT INTO audit_head (id, seq, row_hash, kid, signature) VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, row_hash = excluded.row_hash, kid = excluded.kid, signature = excluded.signature").run(
      seq, prev, signer.kid, signer.sign(headSigningBytes(seq, prev)),
    );
  });
}

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => sampleRow(from + i));

/** A home whose log holds n rows, written and sealed by one writer. */
async function written(n: number) {
  const t = await setup();
  const log = openAuditLog(t.db, t.keys);
  await Promise.all(rows(0, n).map((r) => log.append(r)));
  await log.flush();
  return t;
}

/** All three ways to verify a DB, which must agree. */
async function allModes(db: Db, verifier: ReturnType<typeof makeVerifier>) {
  const fast = verifyDb(db, verifier);
  const full = verifyDb(db, verifier, { full: true });
  const parallel = await verifyDbAsync(db, verifier, { full: true });
  return { fast, full, parallel };
}

describe("fast and full verification", () => {
  test("an intact v2 log: fast does one Ed25519 check, full one per row, parallel full agrees", async () => {
    const t = await setup();
    const log = openAuditLog(t.db, t.keys);
    await Promise.all(rows(0, 300).map((r) => log.append(r)));
    const { fast, full, parallel } = await allModes(t.db, t.verifier);
    expect(fast).toMatchObject({ ok: true, rows: 300, mode: "fast", signatures_checked: 1 });
    expect(full).toMatchObject({ ok: true, rows: 300, mode: "full", signatures_checked: 300 });
    expect(parallel).toMatchObject({ ok: true, rows: 300, mode: "full" });
    expect(parallel.signatures_checked).toBeGreaterThanOrEqual(300);
  });

  const tamperings: Array<[string, (db: Database) => void, number]> = [
    ["a header field", (db) => db.run("UPDATE audit_log SET agent_id = 'x' WHERE seq = 33"), 33],
    ["the content", (db) => db.run("UPDATE audit_log SET content = replace(content, 'gpt-4o-mini', 'gpt-4o') WHERE seq = 40"), 40],
    ["a signature (another row's)", (db) => db.run("UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE seq = 2) WHERE seq = 57"), 57],
    ["one bit of a signature", (db) => db.run("UPDATE audit_log SET signature = substr(signature, 1, length(signature) - 4) || (CASE WHEN substr(signature, -4, 1) = 'A' THEN 'B' ELSE 'A' END) || substr(signature, -3) WHERE seq = 12"), 12],
    ["the last row's signature", (db) => db.run("UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE seq = 3) WHERE seq = 80"), 80],
    ["a prev_hash", (db) => db.run("UPDATE audit_log SET prev_hash = (SELECT row_hash FROM audit_log WHERE seq = 5) WHERE seq = 20"), 20],
    ["a row_hash", (db) => db.run("UPDATE audit_log SET row_hash = (SELECT row_hash FROM audit_log WHERE seq = 5) WHERE seq = 21"), 21],
    ["a deleted row", (db) => db.run("DELETE FROM audit_log WHERE seq = 44"), 44],
    ["the kid of a signature", (db) => db.run("UPDATE audit_log SET signature = replace(signature, kid, 'mallory') WHERE seq = 9"), 9],
    ["a row slipped in before the first (seq 0)", (db) => db.run("INSERT INTO audit_log SELECT 0, ts, trace_id, session_id, agent_id, sandbox_id, policy_version, surface, decision, content, content_digest, erased, prev_hash, row_hash, kid, signature FROM audit_log WHERE seq = 1"), 1],
    ["the tail (truncated)", (db) => db.run("DELETE FROM audit_log WHERE seq > 70"), 71],
  ];
  for (const [what, tamper, bad] of tamperings) {
    test(`${what}: fast, full and parallel full all name seq ${bad}`, async () => {
      const t = await setup();
      writeBatch(t.db, t.signer, rows(0, 50));
      writeBatch(t.db, t.signer, rows(50, 30));
      const db = t.raw();
      tamper(db);
      db.close();
      const { fast, full, parallel } = await allModes(t.db, t.verifier);
      expect(full).toMatchObject({ ok: false, first_bad_seq: bad });
      expect(fast).toMatchObject({ ok: false, first_bad_seq: bad, reason: full.reason as string });
      expect(parallel).toMatchObject({ ok: false, first_bad_seq: bad, reason: full.reason as string });
    });
  }

  test("two tamperings: the earlier one is named, whichever mode", async () => {
    const t = await setup();
    writeBatch(t.db, t.signer, rows(0, 60));
    const db = t.raw();
    db.run("UPDATE audit_log SET content = replace(content, 'gpt-4o-mini', 'gpt-4o') WHERE seq = 50");
    db.run("UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE seq = 1) WHERE seq = 17");
    db.close();
    const { fast, full, parallel } = await allModes(t.db, t.verifier);
    for (const r of [fast, full, parallel]) expect(r).toMatchObject({ ok: false, first_bad_seq: 17, reason: expect.stringContaining("signature") });
  });

  test("rows rewritten and re-hashed without the key: no writer chains onto them, so fast verify keeps failing", async () => {
    const t = await written(30);
    // the attacker: row 10 says allow, rows 10..30 re-hashed (v2 hashes cover the previous
    // signature, which they keep); only the key could re-sign them
    const raw = t.raw();
    type R = { seq: number; ts: string; trace_id: string; session_id: string | null; agent_id: string | null; sandbox_id: string | null; policy_version: number | null; surface: string; decision: string; kid: string; content_digest: string; prev_hash: string; row_hash: string; signature: string };
    const all = raw.query("SELECT * FROM audit_log ORDER BY seq").all() as R[];
    let prev = all[8]?.row_hash as string;
    for (const r of all.slice(9)) {
      const decision = r.seq === 10 ? (r.decision === "allow" ? "deny" : "allow") : r.decision;
      const hash = rowHashOf(prev, headerText({ ...r, decision }), r.content_digest, all[r.seq - 2]?.signature ?? "");
      raw.query("UPDATE audit_log SET decision = ?, prev_hash = ?, row_hash = ? WHERE seq = ?").run(decision, prev, hash, r.seq);
      prev = hash;
    }
    raw.close();
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false });
    // a writer (a fresh one, as the next process would be) refuses to sign the forgery into the chain
    const next = openAuditLog(t.db, t.keys);
    await expect(next.append(sampleRow(99))).rejects.toMatchObject({ code: "audit_chain_broken", exitCode: 1 });
    expect((t.raw().query("SELECT max(seq) AS n FROM audit_log").get() as { n: number }).n).toBe(30);
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 10 });
  });

  test("newest rows deleted: no writer chains onto the shorter log (which would re-seal the head over the gap)", async () => {
    const t = await written(10);
    const raw = t.raw();
    raw.query("DELETE FROM audit_log WHERE seq > 7").run();
    raw.close();
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false });
    const next = openAuditLog(t.db, t.keys);
    for (let i = 0; i < 4; i++) await expect(next.append(sampleRow(100 + i))).rejects.toMatchObject({ code: "audit_chain_broken" });
    await next.flush().catch(() => undefined);
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: false });
    expect(verifyDb(t.db, t.verifier, { full: true })).toMatchObject({ ok: false });
  });

  test("what only --full notices: a signature that was never valid (the key holder's writer stored a wrong one)", async () => {
    const t = await setup();
    let n = 0;
    // A faulty writer: it signs the wrong bytes for its 6th row. Nothing was tampered with after
    // the fact, so the chain (which covers the faulty signature as written) is intact.
    const faulty: Signer = { kid: t.signer.kid, sign: (msg) => t.signer.sign(++n === 6 ? new Uint8Array(32) : msg) };
    writeBatch(t.db, faulty, rows(0, 20));
    const { fast, full, parallel } = await allModes(t.db, t.verifier);
    expect(fast).toMatchObject({ ok: true, mode: "fast" });
    expect(full).toMatchObject({ ok: false, first_bad_seq: 6, reason: expect.stringContaining("does not verify") });
    expect(parallel).toMatchObject({ ok: false, first_bad_seq: 6 });
  });
});

describe("v1 rows (before the v2 format) keep verifying", () => {
  test("a v1 prefix then v2 rows verify; fast checks the v1 signatures the chain does not cover", async () => {
    const t = await setup();
    writeV1Batch(t.db, t.signer, rows(0, 10));
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: true, rows: 10, signatures_checked: 10 });
    writeBatch(t.db, t.signer, rows(10, 10));
    // rows 1..9 (followed by a v1 row) one by one; row 10 is covered by row 11 (v2); the last row ends the chain.
    expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: true, rows: 20, signatures_checked: 10 });
    expect(verifyDb(t.db, t.verifier, { full: true })).toMatchObject({ ok: true, rows: 20, signatures_checked: 20 });
    const lines = [...exportLines(t.db, t.keys, { format: "jsonl" })];
    expect(verifyJsonl(`${lines.join("\n")}\n`, t.verifier)).toMatchObject({ ok: true, rows: 20 });
  });

  for (const [seq, what] of [[4, "a v1 row followed by a v1 row"], [10, "the last v1 row (followed by a v2 row)"]] as const) {
    test(`a modified signature on ${what} is named in both modes`, async () => {
      const t = await setup();
      writeV1Batch(t.db, t.signer, rows(0, 10));
      writeBatch(t.db, t.signer, rows(10, 10));
      const db = t.raw();
      db.run(`UPDATE audit_log SET signature = (SELECT signature FROM audit_log WHERE seq = 2) WHERE seq = ${seq}`);
      db.close();
      const { fast, full, parallel } = await allModes(t.db, t.verifier);
      for (const r of [fast, full, parallel]) expect(r).toMatchObject({ ok: false, first_bad_seq: seq, reason: expect.stringContaining("signature") });
    });
  }

  test("a v2 row cannot be passed off as v1 (re-hashing it breaks the chain's signature)", async () => {
    const t = await setup();
    writeBatch(t.db, t.signer, rows(0, 10));
    // Rewrite row 5 onwards as v1 with correct v1 hashes and links, keeping the original signatures.
    const db = t.raw();
    const all = db.query("SELECT * FROM audit_log ORDER BY seq").all() as Array<Record<string, string | number | null>>;
    let prev = all[3]?.row_hash as string;
    for (const r of all.slice(4)) {
      const h = rowHash(prev, headerOf(r as never, 1), r.content_digest as string);
      db.run("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE seq = ?", [prev, h, r.seq as number]);
      prev = h;
    }
    db.close();
    for (const r of Object.values(await allModes(t.db, t.verifier))) expect(r).toMatchObject({ ok: false, first_bad_seq: 5 });
  });
});

describe("JSONL slices that start mid-chain carry the previous row's signature", () => {
  test("--since: prev_signature on the first row; editing it is caught", async () => {
    const t = await setup();
    const log = openAuditLog(t.db, t.keys);
    await Promise.all(rows(0, 5).map((r) => log.append(r)));
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    await Promise.all(rows(5, 5).map((r) => log.append(r)));
    const lines = [...exportLines(t.db, t.keys, { format: "jsonl", since })];
    const first = JSON.parse(lines[0] as string);
    expect(first.seq).toBe(6);
    expect(typeof first.prev_signature).toBe("string");
    expect(verifyJsonl(`${lines.join("\n")}\n`, t.verifier)).toMatchObject({ ok: true, rows: 5, anchored: true, mode: "fast" });
    expect(verifyJsonl(`${lines.join("\n")}\n`, t.verifier, { full: true })).toMatchObject({ ok: true, rows: 5, mode: "full", signatures_checked: 5 });
    first.prev_signature = JSON.parse(lines[1] as string).signature;
    const edited = [JSON.stringify(first), ...lines.slice(1)];
    expect(verifyJsonl(`${edited.join("\n")}\n`, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 6 });
    delete first.prev_signature;
    const stripped = [JSON.stringify(first), ...lines.slice(1)];
    expect(verifyJsonl(`${stripped.join("\n")}\n`, t.verifier)).toMatchObject({ ok: false, first_bad_seq: 6 });
  });
});

test("content re-stored as a BLOB of the same bytes still verifies (the digest covers bytes) and still reads back", async () => {
  const { readRows } = await import("../../../src/engine/audit/index.ts");
  const t = await setup();
  writeBatch(t.db, t.signer, rows(0, 5));
  const db = t.raw();
  db.run("UPDATE audit_log SET content = CAST(content AS BLOB) WHERE seq = 3");
  db.close();
  expect(verifyDb(t.db, t.verifier)).toMatchObject({ ok: true, rows: 5 });
  expect(readRows(t.db, { after_seq: 2, limit: 1 })[0]?.meta).toMatchObject({ model: "gpt-4o-mini" });
});
