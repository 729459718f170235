/**
 * The stream guard against the shared secret corpus: every gitleaks true positive the detector
 * finds in one piece is embedded in an answer and streamed in chunks of several sizes (and split
 * in the middle of the secret). The client must never receive a whole secret; the detector must
 * fire on the stream exactly as it does on the whole text.
 */
import { expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scan } from "../../../src/engine/pipeline/detectors/index.ts";
import { HOLD_MAX_BYTES, TextGuard } from "../../../src/engine/gateway/stream-guard.ts";
import { corporaDir } from "../../helpers/home.ts";

const corpus = JSON.parse(readFileSync(join(corporaDir, "secrets/gitleaks-fixtures.json"), "utf8")) as { rules: { rule_id: string; tps: string[] }[] };

async function streamThrough(text: string, cuts: number[]): Promise<{ out: string; cut: boolean }> {
  const g = new TextGuard((w) => (scan(w, ["detect_secrets"]).findings.length ? { block: { step: "detect_secrets_in_response", reason: "secret" }, text: w } : { text: w }));
  let out = "";
  let prev = 0;
  for (const c of [...cuts, text.length]) {
    const r = await g.push(text.slice(prev, c));
    prev = c;
    out += r.release;
    if (r.cut) return { out, cut: true };
  }
  const f = await g.flush();
  return { out: out + f.release, cut: !!f.cut };
}

test("no secret from the corpus reaches the client whole, however the stream is chunked", async () => {
  let cases = 0;
  const leaks: string[] = [];
  for (const rule of corpus.rules) {
    for (const tp of rule.tps) {
      const whole = scan(tp, ["detect_secrets"]).findings;
      const f = whole[0];
      if (!f || f.end - f.start > HOLD_MAX_BYTES / 2) continue; // the guard holds at most 1 KiB
      const text = `Here is the configuration you asked for:\n${tp}\nKeep it somewhere safe.`;
      const value = tp.slice(f.start, f.end);
      const at = text.indexOf(value);
      const mid = at + Math.floor(value.length / 2);
      for (const cuts of [[mid], [at + 1], [at + value.length - 1], ...[5, 16, 64].map((n) => Array.from({ length: Math.ceil(text.length / n) - 1 }, (_, i) => (i + 1) * n))]) {
        cases++;
        const r = await streamThrough(text, cuts);
        if (!r.cut) leaks.push(`${rule.rule_id}: not detected in the stream (cuts ${cuts.slice(0, 3)}…)`);
        else if (r.out.includes(value)) leaks.push(`${rule.rule_id}: released whole`);
        else for (const line of value.split(/\r?\n/)) if (line.length >= 20 && !line.startsWith("-----") && r.out.includes(line)) leaks.push(`${rule.rule_id}: a line of it was released`);
      }
    }
  }
  expect(cases).toBeGreaterThan(300);
  expect(leaks).toEqual([]);
}, 60_000);

test("a real 2048-bit RSA private key (longer than the 1 KiB hold-back) is stopped at its first line", async () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  for (const type of ["pkcs1", "pkcs8"] as const) {
    const pem = privateKey.export({ type, format: "pem" }) as string;
    expect(pem.length).toBeGreaterThan(1500);
    const text = `Sure, here is the key from the server:\n${pem}\nUse it carefully.`;
    const lines = pem.split("\n").filter((l) => l.length >= 20 && !l.startsWith("-----"));
    for (const n of [4, 16, 65, 200]) {
      const r = await streamThrough(text, Array.from({ length: Math.ceil(text.length / n) - 1 }, (_, i) => (i + 1) * n));
      expect(r.cut).toBe(true);
      expect(lines.filter((l) => r.out.includes(l))).toEqual([]);
    }
  }
});
