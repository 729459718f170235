// The exec-time compiled-policy cache: a hit only while the envelope is exactly what compiling
// now would give (same sources, agent, org, TTL setting, key, compiler), signed, and young.
import { afterEach, beforeEach, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { initInstall } from "../../../src/engine/install.ts";
import { applyPolicy } from "../../../src/engine/policy/apply.ts";
import { envelopeForExec, policyCacheKey, readCachedPolicy, readPolicyKey } from "../../../src/engine/policy/cache.ts";
import { compileForAgent, verifyEnvelope } from "../../../src/engine/policy/index.ts";
import { createAgent, createProject } from "../../../src/engine/policy/registry.ts";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { openState, setMeta } from "../../../src/engine/store/state.ts";
import { tempHome } from "../../helpers/home.ts";

setDefaultTimeout(60_000);

let t: { home: string; cleanup: () => void };
let db: Db;
beforeEach(async () => {
  t = tempHome();
  await initInstall({ home: t.home, org: "acme" });
  db = openState(t.home);
  createProject(db, "p");
  createAgent(db, { name: "dev", project: "p", function: "coding_assistant" });
});
afterEach(() => t.cleanup());

const file = (name: string, text: string) => {
  const p = join(t.home, name);
  writeFileSync(p, text);
  return p;
};
const cachePath = () => join(t.home, "cache", "policy-dev.json");

test("first run compiles and caches; the next returns the same signed envelope, which verifies", async () => {
  const a = await envelopeForExec(db, "dev");
  expect(a.cached).toBe(false);
  const b = await envelopeForExec(db, "dev");
  expect(b.cached).toBe(true);
  expect(b.envelope).toEqual(a.envelope);
  expect(verifyEnvelope(b.envelope, [loadKeys(t.home).ed25519]).ok).toBe(true);
  // the same version compileForAgent hands out
  expect(b.envelope.payload.policy_version).toBe(compileForAgent(db, "dev").payload.policy_version);
});

test("any change to the sources, the agent, the org or the TTL setting is a miss, and the new policy is used", async () => {
  await envelopeForExec(db, "dev");
  applyPolicy(db, { level: "agent=dev", files: [file("a.yaml", "tools: { deny: [NotebookEdit] }\n")] });
  const r1 = await envelopeForExec(db, "dev");
  expect(r1.cached).toBe(false);
  expect(r1.envelope.payload.tools.deny).toContain("NotebookEdit");
  expect((await envelopeForExec(db, "dev")).cached).toBe(true);

  applyPolicy(db, { level: "project=p", packs: ["gdpr"] });
  expect((await envelopeForExec(db, "dev")).cached).toBe(false);
  applyPolicy(db, { level: "org", files: [file("o.yaml", "tools: { deny: [WebSearch] }\n")] });
  const r2 = await envelopeForExec(db, "dev");
  expect(r2.cached).toBe(false);
  expect(r2.envelope.payload.tools.deny).toContain("WebSearch");

  setMeta(db, "policy_ttl_seconds", "7200");
  const r3 = await envelopeForExec(db, "dev");
  expect(r3.cached).toBe(false);
  expect(Date.parse(r3.envelope.payload.expires_at) - Date.parse(r3.envelope.payload.issued_at)).toBe(7_200_000);

  db.prepare("UPDATE agents SET categories = ? WHERE name = ?").run(JSON.stringify(["source_code"]), "dev");
  expect((await envelopeForExec(db, "dev")).cached).toBe(false);
  setMeta(db, "org", "other");
  const r4 = await envelopeForExec(db, "dev");
  expect(r4.cached).toBe(false);
  expect(r4.envelope.payload.org).toBe("other");
});

test("a tampered, re-signed-by-another-key, stale or superseded cache entry is never used", async () => {
  await envelopeForExec(db, "dev");
  const good = readFileSync(cachePath(), "utf8");
  const pk = readPolicyKey(t.home)!;
  const key = policyCacheKey(db, "dev", pk)!;
  expect(await readCachedPolicy(db, "dev", pk, key)).not.toBeNull();

  // payload changed after signing
  const tampered = JSON.parse(good);
  const payload = JSON.parse(tampered.signed);
  payload.network.egress = "open";
  tampered.signed = JSON.stringify(payload);
  writeFileSync(cachePath(), JSON.stringify(tampered));
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();
  const r = await envelopeForExec(db, "dev");
  expect(r.cached).toBe(false);
  expect(r.envelope.payload.network.egress).not.toBe("open");

  // signature swapped for garbage / unsigned
  const unsigned = JSON.parse(good);
  unsigned.signature = `ed25519:${pk.kid}:${Buffer.alloc(64).toString("base64")}`;
  writeFileSync(cachePath(), JSON.stringify(unsigned));
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();
  delete unsigned.signature;
  writeFileSync(cachePath(), JSON.stringify(unsigned));
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();

  // another key id (key rotation) changes the cache key and fails the signature check
  expect(policyCacheKey(db, "dev", { kid: "0000000000000000", public: pk.public })).not.toBe(key);
  writeFileSync(cachePath(), good);
  expect(await readCachedPolicy(db, "dev", { kid: "0000000000000000", public: pk.public }, key)).toBeNull();

  // more than a quarter of its lifetime gone: compile afresh
  const p = JSON.parse(JSON.parse(good).signed);
  const life = Date.parse(p.expires_at) - Date.parse(p.issued_at);
  expect(await readCachedPolicy(db, "dev", pk, key, Date.parse(p.issued_at) + life * 0.2)).not.toBeNull();
  expect(await readCachedPolicy(db, "dev", pk, key, Date.parse(p.issued_at) + life * 0.3)).toBeNull();

  // a newer compiled version for the agent supersedes the cached one
  db.prepare("INSERT INTO compiled_policies (policy_version, agent, content_hash, payload, created_at) VALUES (?, ?, ?, ?, ?)").run(999, "dev", "x", "{}", new Date().toISOString());
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();

  // an entry in the earlier format (the envelope as an object): a miss
  const { signed, signature, v: _v, ...rest } = JSON.parse(good);
  writeFileSync(cachePath(), JSON.stringify({ ...rest, envelope: { payload: JSON.parse(signed), signature } }));
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();

  // garbage file: a miss, not an error
  writeFileSync(cachePath(), "not json");
  expect(await readCachedPolicy(db, "dev", pk, key)).toBeNull();
  expect(dirname(cachePath())).toBe(join(t.home, "cache"));
});

test("Rego sources that read the clock, randomness or the network are never cached", async () => {
  applyPolicy(db, {
    level: "agent=dev",
    files: [file("t.rego", "package tappass.aspects\n\nbudget := {\"tokens_per_day\": 1000} if { time.now_ns() > 0 }\n")],
  });
  expect(policyCacheKey(db, "dev", readPolicyKey(t.home)!)).toBeNull();
  expect((await envelopeForExec(db, "dev")).cached).toBe(false);
  expect((await envelopeForExec(db, "dev")).cached).toBe(false);
});
