import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempHome } from "../helpers/home.ts";
import { tappass } from "../helpers/cli.ts";

let cleanup = () => {};
afterEach(() => cleanup());

test("init creates home, state.db and owner-only keys; a second run changes nothing and says so", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const home = join(t.home, "fresh");
  const first = tappass(["init", "--org", "acme", "--json"], { home });
  expect(first.code).toBe(0);
  expect(first.json).toMatchObject({ org: "acme", changed: true });
  expect(first.json.created).toEqual(expect.arrayContaining(["state.db", "org:acme", "key:ed25519", "key:es256"]));
  for (const f of ["state.db", "keys/ed25519.json", "keys/es256.json"]) {
    expect(statSync(join(home, f)).mode & 0o077).toBe(0);
  }
  expect(statSync(join(home, "keys")).mode & 0o077).toBe(0);
  const keyBefore = readFileSync(join(home, "keys/ed25519.json"), "utf8");

  const second = tappass(["init", "--json"], { home });
  expect(second.code).toBe(0);
  expect(second.json).toMatchObject({ org: "acme", changed: false, created: [] });
  expect(readFileSync(join(home, "keys/ed25519.json"), "utf8")).toBe(keyBefore);
  const human = tappass(["init"], { home });
  expect(human.stdout).toContain("nothing changed");
});

test("init refuses to switch an install to another org (exit 3, one line, JSON error)", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  expect(tappass(["init", "--org", "acme"], { home: t.home }).code).toBe(0);
  const r = tappass(["init", "--org", "other", "--json"], { home: t.home });
  expect(r.code).toBe(3);
  expect(r.json.error.code).toBe("org_mismatch");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});

test("keys export --jwks prints a JWKS whose Ed25519 key verifies a signature made with the install key", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  tappass(["init"], { home: t.home });
  const r = tappass(["keys", "export", "--jwks"], { home: t.home });
  expect(r.code).toBe(0);
  const jwks = r.json;
  expect(jwks.keys).toHaveLength(2);
  const ed = jwks.keys.find((k: { kty: string }) => k.kty === "OKP");
  const es = jwks.keys.find((k: { kty: string }) => k.kty === "EC");
  expect(ed).toMatchObject({ crv: "Ed25519", alg: "EdDSA", use: "sig" });
  expect(es).toMatchObject({ crv: "P-256", alg: "ES256" });
  expect(es.d).toBeUndefined();
  expect(ed.d).toBeUndefined();
  // The published key verifies what the install signs.
  const { loadKeys } = await import("../../src/engine/crypto/keys.ts");
  const { signBytes, verifyBytes, verifyBytesPortable, utf8 } = await import("../../src/engine/crypto/ed25519.ts");
  const keys = loadKeys(t.home);
  const sig = signBytes(utf8("hello"), keys.ed25519.secret);
  expect(verifyBytes(sig, utf8("hello"), new Uint8Array(Buffer.from(ed.x, "base64url")))).toBe(true);
  expect(verifyBytes(sig, utf8("hellO"), new Uint8Array(Buffer.from(ed.x, "base64url")))).toBe(false);
  // The native signature is plain RFC 8032: the pure-JS verifier accepts it, and rejects a change.
  expect(verifyBytesPortable(sig, utf8("hello"), new Uint8Array(Buffer.from(ed.x, "base64url")))).toBe(true);
  expect(verifyBytesPortable(sig, utf8("hellO"), new Uint8Array(Buffer.from(ed.x, "base64url")))).toBe(false);
});

test("usage errors exit 2, missing state exits 3, with one line on stderr", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const bad = tappass(["init", "--no-such-flag"], { home: t.home });
  expect(bad.code).toBe(2);
  expect(tappass(["no-such-command"], { home: t.home }).code).toBe(2);
  // oclif's multi-line parse errors become one line that says what is wrong
  const noLevel = tappass(["policy", "apply", "--json"], { home: t.home });
  expect(noLevel.code).toBe(2);
  expect(noLevel.stderr.trim()).toBe("error: missing required flag --level — see --help");
  expect(JSON.parse(noLevel.stdout)).toEqual({ error: { code: "usage_error", message: "missing required flag --level", hint: "see --help" } });
  expect(tappass(["audit", "tail", "--limit", "abc"], { home: t.home }).stderr).toContain("--limit: Expected an integer but received: abc");
  expect(tappass(["agent", "create"], { home: t.home }).stderr).toContain("Missing 1 required arg: name");
  for (const argv of [["exec"], ["exec", "--json"], ["exec", "--"]]) expect(tappass(argv, { home: t.home }).code).toBe(2); // no command to run
  expect(tappass(["hook", "serve", "--agent", "a", "--port", "99999"], { home: t.home }).code).toBe(2);
  const missing = tappass(["keys", "export", "--jwks"], { home: join(t.home, "nothing-here") });
  expect(missing.code).toBe(3);
  expect(missing.stderr).toContain("tappass init");
  expect(missing.stdout).toBe(""); // `keys export --jwks > f` must not write the error into f
  const file = join(t.home, "a-file");
  writeFileSync(file, "x");
  expect(tappass(["init", "--json"], { home: file }).json).toMatchObject({ error: { code: "bad_home" } });
});

test("capability tokens: issue, verify, expiry and forgery are told apart", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  tappass(["init"], { home: t.home });
  const { loadKeys } = await import("../../src/engine/crypto/keys.ts");
  const { issueToken, verifyToken } = await import("../../src/engine/crypto/tokens.ts");
  const keys = loadKeys(t.home);
  const tok = await issueToken(keys, { agent: "mailer", session_id: "s1", ttlSeconds: 60 });
  expect(await verifyToken(keys, tok)).toMatchObject({ sub: "mailer", sid: "s1" });
  const expired = await issueToken(keys, { agent: "mailer", ttlSeconds: -10 });
  await expect(verifyToken(keys, expired)).rejects.toMatchObject({ code: "token_expired", exitCode: 1 });
  const parts = tok.split(".");
  const forged = [parts[0], Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(parts[1] as string, "base64url").toString()), sub: "root" })).toString("base64url"), parts[2]].join(".");
  await expect(verifyToken(keys, forged)).rejects.toMatchObject({ code: "token_invalid" });
});
