import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";
import { root } from "../helpers/cli.ts";

let cleanup = () => {};
afterEach(() => cleanup());

function seed(home: string, n: number) {
  const p = Bun.spawnSync([process.execPath, join(root, "test/engine/audit/writer.ts"), home, String(n), "4", "cli"], { env: { ...process.env, TAPPASS_HOME: home } });
  expect(p.exitCode).toBe(0);
}

test("audit tail / verify / export / erase from the CLI, and verify catches tampering with exit 1", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const home = t.home;
  expect(tappass(["init"], { home }).code).toBe(0);
  seed(home, 30);

  const tail = tappass(["audit", "tail", "--json", "-n", "5"], { home });
  expect(tail.code).toBe(0);
  expect(tail.json.rows.map((r: { seq: number }) => r.seq)).toEqual([26, 27, 28, 29, 30]);
  const mine = tappass(["audit", "tail", "--agent", "coder", "--json"], { home });
  expect(mine.json.rows.every((r: { agent_id: string }) => r.agent_id === "coder")).toBe(true);
  expect(tappass(["audit", "tail"], { home }).stdout).toContain("detect_secrets");

  const ok = tappass(["audit", "verify", "--json"], { home });
  expect(ok.code).toBe(0);
  expect(ok.json).toMatchObject({ ok: true, rows: 30, mode: "fast" });
  const full = tappass(["audit", "verify", "--full", "--json"], { home });
  expect(full.code).toBe(0);
  expect(full.json).toMatchObject({ ok: true, rows: 30, mode: "full" });
  expect(full.json.signatures_checked).toBeGreaterThanOrEqual(30);

  const jwks = join(home, "jwks.json");
  writeFileSync(jwks, tappass(["keys", "export", "--jwks"], { home }).stdout);
  const out = join(home, "audit.jsonl");
  expect(tappass(["audit", "export", "--format", "jsonl", "--out", out], { home }).code).toBe(0);
  expect(tappass(["audit", "verify", "--file", out, "--pubkey", jwks, "--json"], { home }).json).toMatchObject({ ok: true, rows: 30 });
  const ocsf = tappass(["audit", "export", "--format", "ocsf"], { home });
  expect(ocsf.stdout.trim().split("\n")).toHaveLength(30);
  const cef = tappass(["audit", "export", "--format", "cef", "--since", "2000-01-01"], { home });
  expect(cef.stdout.startsWith("CEF:0|TapPass|")).toBe(true);
  expect(tappass(["audit", "export", "--format", "xml"], { home }).code).toBe(2);
  expect(tappass(["audit", "export", "--format", "cef", "--json"], { home }).code).toBe(2); // stdout is the export: no room for a JSON document
  expect(tappass(["audit", "export", "--format", "cef", "--out", join(home, "a.cef"), "--json"], { home }).json).toMatchObject({ format: "cef", rows: 30 });
  expect(tappass(["audit", "export", "--format", "cef", "--since", "yesterday"], { home }).code).toBe(2);
  // an --out that cannot be written: exit 3, the path the user gave, nothing left behind
  const missingDir = tappass(["audit", "export", "--format", "jsonl", "--out", join(home, "no", "such", "dir", "a.jsonl"), "--json"], { home });
  expect(missingDir.code).toBe(3);
  expect(missingDir.json).toMatchObject({ error: { code: "file_error", message: `cannot write ${join(home, "no", "such", "dir", "a.jsonl")}: no such file or directory` } });
  const onDir = tappass(["audit", "export", "--format", "jsonl", "--out", home], { home });
  expect(onDir.code).toBe(3);
  expect(onDir.stderr).toContain(`cannot write ${home}: it is a directory`);
  expect(readdirSync(home).filter((f) => f.includes(".tmp-"))).toEqual([]);

  expect(tappass(["audit", "tail", "--agent", "no-such-agent"], { home }).code).toBe(3); // a typo is not a quiet agent
  const erase = tappass(["audit", "erase", "--trace", "cli-3", "--json"], { home });
  expect(erase.code).toBe(0);
  expect(erase.json.erased).toHaveLength(1);
  const afterErase = tappass(["audit", "verify", "--json"], { home }).json;
  expect(afterErase).toMatchObject({ ok: true, rows: 31, erased: 1 });
  expect(afterErase.unsealed).toBeUndefined(); // the erasure's own row is under the signed head

  // Tamper: offline verification of a copy with the published key finds the first bad row.
  const db = new Database(join(home, "state.db"));
  db.run("UPDATE audit_log SET decision = 'tampered' WHERE seq = 12");
  db.close();
  const bad = tappass(["audit", "verify", "--db", join(home, "state.db"), "--pubkey", jwks, "--json"], { home });
  expect(bad.code).toBe(1);
  expect(bad.json).toMatchObject({ ok: false, first_bad_seq: 12, reason: expect.any(String) });
  const badFull = tappass(["audit", "verify", "--db", join(home, "state.db"), "--pubkey", jwks, "--full", "--json"], { home });
  expect(badFull.code).toBe(1);
  expect(badFull.json).toMatchObject({ ok: false, first_bad_seq: 12, reason: bad.json.reason });
  const human = tappass(["audit", "verify"], { home });
  expect(human.code).toBe(1);
  expect(human.stdout).toContain("BROKEN at seq 12");

  // A JSONL file with a row removed.
  const lines = require("node:fs").readFileSync(out, "utf8").trim().split("\n");
  lines.splice(9, 1);
  writeFileSync(out, `${lines.join("\n")}\n`);
  expect(tappass(["audit", "verify", "--file", out, "--pubkey", jwks, "--json"], { home }).json).toMatchObject({ ok: false, first_bad_seq: 10 });
  // Wrong key.
  const other = tempHome();
  tappass(["init"], { home: other.home });
  const otherJwks = join(home, "other.jwks");
  writeFileSync(otherJwks, tappass(["keys", "export", "--jwks"], { home: other.home }).stdout);
  const wrong = tappass(["audit", "verify", "--file", out, "--pubkey", otherJwks, "--json"], { home });
  expect(wrong.code).toBe(1);
  expect(wrong.json.first_bad_seq).toBe(1);
  expect(tappass(["audit", "verify", "--db", join(home, "nope.db")], { home }).code).toBe(3);
}, 60_000);

test("audit tail --follow prints rows as other processes append them", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const home = t.home;
  tappass(["init"], { home });
  seed(home, 2);
  const p = Bun.spawn([process.execPath, join(root, "src/cli/main.ts"), "audit", "tail", "--follow", "--json", "--interval", "50"], {
    env: { ...process.env, TAPPASS_HOME: home, NO_COLOR: "1" },
    stdout: "pipe",
  });
  const reader = p.stdout.getReader();
  let text = "";
  const readUntil = async (n: number) => {
    while (text.trim().split("\n").filter(Boolean).length < n) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  };
  await readUntil(2);
  seed(home, 3);
  await readUntil(5);
  p.kill("SIGTERM");
  await p.exited;
  const seqs = text.trim().split("\n").map((l) => JSON.parse(l).seq);
  expect(seqs.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
}, 30_000);

test("a large export to a pipe whose reader is slow arrives whole (nothing lost when the command exits)", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const home = t.home;
  expect(tappass(["init"], { home }).code).toBe(0);
  seed(home, 2000); // ~1.3 MB of JSONL: far more than a pipe holds
  const p = Bun.spawn([process.execPath, join(root, "src", "cli", "main.ts"), "audit", "export", "--format", "jsonl"], {
    env: { ...process.env, TAPPASS_HOME: home, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  await Bun.sleep(1500); // the command has long filled the pipe (and, before the fix, exited with the rest unwritten)
  const text = await new Response(p.stdout).text();
  expect(await p.exited).toBe(0);
  const lines = text.trim().split("\n");
  expect(lines).toHaveLength(2001); // every row and the signed checkpoint
  expect(JSON.parse(lines[1999] as string).seq).toBe(2000);
}, 60_000);
