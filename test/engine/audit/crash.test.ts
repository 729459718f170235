/**
 * Durability and multi-process appends: separate writer processes (test/engine/audit/writer.ts)
 * append to the same state.db; some are SIGKILLed mid-load. Afterwards the chain verifies and
 * every row a writer reported as acknowledged is there, with its trace id.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { makeVerifier, readRows, verifyDb } from "../../../src/engine/audit/index.ts";
import { auditHome } from "./helpers.ts";

const WRITER = join(import.meta.dir, "writer.ts");
let cleanup = () => {};
afterEach(() => cleanup());

function spawnWriter(home: string, count: number, conc: number, tag: string, env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, WRITER, home, String(count), String(conc), tag], { stdout: "pipe", stderr: "pipe", env: { ...process.env, TAPPASS_HOME: home, ...env } });
}

/** Read "seq trace" lines as they come; resolve when `until` lines were seen or the stream ends. */
async function readAcks(p: ReturnType<typeof spawnWriter>, acks: Map<number, string>, until = Number.POSITIVE_INFINITY): Promise<number> {
  const reader = p.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let seen = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const [seq, trace] = buf.slice(0, nl).split(" ");
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      const s = Number(seq);
      if (acks.has(s)) throw new Error(`seq ${s} acknowledged twice`);
      acks.set(s, trace as string);
      seen++;
    }
    if (seen >= until) break;
  }
  reader.releaseLock();
  return seen;
}

test("several processes append concurrently to one chain", async () => {
  const h = await auditHome();
  cleanup = h.cleanup;
  const acks = new Map<number, string>();
  const ws = ["a", "b", "c"].map((tag) => spawnWriter(h.home, 400, 8, tag));
  await Promise.all(ws.map((w) => readAcks(w, acks)));
  const codes = await Promise.all(ws.map((w) => w.exited));
  expect(codes).toEqual([0, 0, 0]);
  expect(acks.size).toBe(1200);
  const v = verifyDb(h.db, makeVerifier([h.keys.ed25519]));
  expect(v).toMatchObject({ ok: true, rows: 1200, last_seq: 1200 });
}, 60_000);

test("SIGKILL mid-load, several times: the chain verifies and every acknowledged row survives", async () => {
  const h = await auditHome();
  cleanup = h.cleanup;
  const acks = new Map<number, string>();
  for (let round = 0; round < 4; round++) {
    // Two writers at once, so kills land while the other holds or waits for the write lock; one
    // checkpoints its WAL from a worker thread from the first row on (checkpointer.ts), the other
    // inside COMMIT (SQLite's automatic checkpoint), so kills also land mid-checkpoint.
    const ws = [spawnWriter(h.home, 0, 32, `r${round}a`, { AUDIT_CHECKPOINT_AFTER: "1" }), spawnWriter(h.home, 0, 32, `r${round}b`, { AUDIT_CHECKPOINT_AFTER: "0" })];
    await Promise.all(ws.map((w, i) => readAcks(w, acks, 150 + 97 * i + 31 * round)));
    for (const w of ws) w.kill("SIGKILL");
    const codes = await Promise.all(ws.map((w) => w.exited));
    for (const c of codes) expect(c).not.toBe(0);
  }
  const v = verifyDb(h.db, makeVerifier([h.keys.ed25519]));
  expect(v.ok).toBe(true);
  const rows = new Map(readRows(h.db).map((r) => [r.seq, r.trace_id]));
  expect(acks.size).toBeGreaterThan(1000);
  for (const [seq, trace] of acks) expect(rows.get(seq)).toBe(trace);
  // Killed writers never leave half a batch: every stored row is part of the verified chain.
  expect(rows.size).toBe(v.rows);
}, 90_000);
