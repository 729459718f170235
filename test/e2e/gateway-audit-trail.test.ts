/**
 * An allowed answer goes out before its audit row is committed (server.ts AuditTrail); a row that
 * cannot be committed makes the gateway refuse calls until the log takes a row again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { makeVerifier } from "../../src/engine/audit/signer.ts";
import { verifyDb } from "../../src/engine/audit/verify.ts";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { openState } from "../../src/engine/store/state.ts";
import { auditRows, type Rig, rig } from "./gateway-helpers.ts";

let r: Rig;
beforeAll(async () => {
  r = await rig();
});
afterAll(() => r.close());

async function chat(text: string): Promise<{ status: number; trace: string; body: { choices?: Array<{ message: { content: string } }>; error?: { code?: string; message: string } } }> {
  const res = await fetch(`${r.gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${r.token}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }] }),
  });
  return { status: res.status, trace: res.headers.get("x-tappass-trace-id") ?? "", body: await res.json() };
}

/** The row of a call, once the gateway has committed the rows of the answers it sent. */
async function rowOf(trace: string) {
  await r.gw.settled();
  return auditRows(r.home).find((x) => x.trace_id === trace);
}

test("an answer whose row cannot be committed is the last one: later calls get 503 until the log takes a row, and the chain stays whole", async () => {
  const ok = await chat("first question");
  expect(ok.status).toBe(200);
  expect((await rowOf(ok.trace))?.decision).toBe("allow");

  // the state database refuses audit rows (as a full disk would)
  const side = new Database(join(r.home, "state.db"));
  side.exec("CREATE TRIGGER test_audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END");
  const lost = await chat("second question");
  expect(lost.status).toBe(200); // released before the commit was tried
  expect(lost.body.choices?.[0]?.message.content).toBe("You said: second question");
  await r.gw.settled(); // the commit after the answer fails

  for (let i = 0; i < 2; i++) {
    const refused = await chat("third question");
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe("audit_unavailable");
    expect(refused.body.error?.message).toContain(lost.trace);
    expect(refused.body.error?.message).toContain("disk full (test)");
  }

  side.exec("DROP TRIGGER test_audit_down");
  side.close();
  // the first refusal the log takes clears the fault; its row names the answer that has none
  const recorded = await chat("fourth question");
  expect(recorded.status).toBe(503);
  const row = await rowOf(recorded.trace);
  expect(row?.decision).toBe("deny");
  const frag = row?.step_decisions.find((f: { step: string }) => f.step === "gateway:audit_unavailable");
  expect(frag?.evidence?.failed_trace_id).toBe(lost.trace);
  const again = await chat("fifth question");
  expect(again.status).toBe(200);
  expect((await rowOf(again.trace))?.decision).toBe("allow");
  expect(auditRows(r.home).some((x) => x.trace_id === lost.trace)).toBe(false);

  const v = verifyDb(openState(r.home), makeVerifier([loadKeys(r.home).ed25519]));
  expect(v.ok).toBe(true);
});
