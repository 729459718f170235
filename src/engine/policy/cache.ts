/**
 * The compiled-policy cache `tappass exec` starts from. Compiling an agent's policy (resolve the
 * cascade, evaluate Rego, validate the schema, sign) is deterministic in its inputs, so the
 * signed envelope is kept in TAPPASS_HOME/cache/ keyed by a hash of ALL of them:
 *   - the compiler itself and the catalogs/packs shipped with it (the binary's identity, or
 *     the source tree's when running from source),
 *   - the org name and the policy TTL setting (meta), the agent's record (project, function,
 *     categories), the newest org / project / agent policy sources,
 *   - the signing key (its id and public key).
 * A cached envelope is used only when the key matches, its Ed25519 signature verifies with the
 * install's current key, it is the agent's newest stored policy_version (the same version
 * compileForAgent would hand out) and at least three quarters of its lifetime are left.
 * Otherwise — or when a Rego source calls a builtin whose result can change between runs
 * (time, randomness, network) — the policy is compiled and signed afresh and the cache rewritten.
 * The cache is never trusted blindly: a missing, unreadable, mismatched or wrongly-signed file is
 * a miss, never an error. TAPPASS_HOME is masked from the agent inside the kernel ring.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { canonicalJson } from "../canonical.ts";
import type { Db } from "../store/db.ts";
import type { CompiledPolicyEnvelope, CompiledPolicyPayload } from "./types.ts";

// Kept free of node:crypto and the key/token modules (their first import costs more than the
// whole cache check): hashes through Bun.CryptoHasher, the signature through Web Crypto.

/** The install's policy-signing public key, as crypto/keys.ts stores it. */
export interface PolicyKey {
  kid: string;
  public: Uint8Array;
}

/** The Ed25519 public key from TAPPASS_HOME/keys/ed25519.json, or null (then the full path loads and reports it). */
export function readPolicyKey(home: string): PolicyKey | null {
  try {
    const k = JSON.parse(readFileSync(join(home, "keys", "ed25519.json"), "utf8")) as { kid?: unknown; public?: unknown };
    if (typeof k.kid !== "string" || typeof k.public !== "string") return null;
    return { kid: k.kid, public: new Uint8Array(Buffer.from(k.public, "base64")) };
  } catch {
    return null;
  }
}

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

/** Ed25519 verification (Web Crypto; a malformed key or signature is `false`). */
async function verifyEd25519(pub: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", pub as BufferSource, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, sig as BufferSource, msg as BufferSource);
  } catch {
    return false;
  }
}

/** "ed25519:<kid>:<base64 of 64 bytes>" → parts (the format of crypto/ed25519.ts signatureString). */
function parseSig(s: string): { kid: string; sig: Uint8Array } | null {
  const m = /^ed25519:([^:]+):([A-Za-z0-9+/=]+)$/.exec(s);
  if (!m) return null;
  const sig = new Uint8Array(Buffer.from(m[2] as string, "base64"));
  return sig.length === 64 ? { kid: m[1] as string, sig } : null;
}

/** Rego builtins whose result is not a function of the sources alone. */
const NONDETERMINISTIC = /\b(time\.now_ns|rand\.|uuid\.|http\.send|opa\.runtime|net\.lookup|crypto\.x509\.parse_and_verify)/;

/** Share of an envelope's lifetime that must remain for the cached copy to be handed out. */
const MIN_REMAINING = 0.75;

/**
 * A cache file. The payload is kept as the exact string that was signed (canonicalJson of it):
 * a hit verifies the signature over those bytes and parses them, never re-canonicalising the
 * payload (the largest cost of a hit when cold).
 */
interface Entry {
  v: 2;
  key: string;
  policy_version: number;
  content_hash: string;
  signed: string;
  signature: string;
}

const isCompiled = () => import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");

let buildIdMemo: string | undefined;

/**
 * Identity of the compiler and everything shipped with it: the executable's inode, size and
 * mtime for the compiled binary; from source, the size and mtime of every file under src/engine
 * and packs/ (so editing the compiler or a pack invalidates the cache).
 */
export function buildId(): string {
  if (buildIdMemo) return buildIdMemo;
  const h = new Bun.CryptoHasher("sha256");
  if (isCompiled()) {
    const st = statSync(process.execPath);
    h.update(`bin:${process.execPath}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`);
  } else {
    const engine = resolve(import.meta.dir, "..");
    const roots = [engine, resolve(engine, "..", "..", "packs")];
    for (const r of roots) {
      let names: string[] = [];
      try {
        names = (readdirSync(r, { recursive: true }) as string[]).sort();
      } catch {
        continue;
      }
      for (const n of names) {
        try {
          const st = statSync(join(r, n));
          if (st.isFile()) h.update(`${n}:${st.size}:${st.mtimeMs}\n`);
        } catch {}
      }
    }
  }
  buildIdMemo = h.digest("hex");
  return buildIdMemo;
}

const cacheFile = (db: Db, agent: string) => join(dirname(db.path), "cache", `policy-${agent}.json`);

/** The cache key for an agent's policy, or null when it cannot be cached (unknown agent, nondeterministic Rego). */
export function policyCacheKey(db: Db, agent: string, key: PolicyKey): string | null {
  const rec = db.prepare<{ project: string; function: string | null; categories: string }>("SELECT project, function, categories FROM agents WHERE name = ?").get(agent);
  if (!rec) return null;
  const meta = (k: string) => db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = ?").get(k)?.value ?? null;
  const source = (level: string, target: string) =>
    db.prepare<{ version: number; spec: string }>("SELECT version, spec FROM policy_sources WHERE level = ? AND target = ? ORDER BY version DESC LIMIT 1").get(level, target) ?? null;
  const sources = [source("org", ""), source("project", rec.project), source("agent", agent)];
  for (const s of sources) {
    if (!s) continue;
    const spec = JSON.parse(s.spec) as { files?: Array<{ kind?: string; text?: string }> };
    if ((spec.files ?? []).some((f) => f.kind === "rego" && NONDETERMINISTIC.test(f.text ?? ""))) return null;
  }
  const material = {
    v: 1,
    build: buildId(),
    org: meta("org"),
    ttl: meta("policy_ttl_seconds"),
    kid: key.kid,
    pub: Buffer.from(key.public).toString("base64"),
    agent: { name: agent, project: rec.project, function: rec.function, categories: rec.categories },
    sources,
  };
  return sha256(canonicalJson(material));
}

function latestCompiled(db: Db, agent: string): { policy_version: number; content_hash: string } | undefined {
  return db
    .prepare<{ policy_version: number; content_hash: string }>("SELECT policy_version, content_hash FROM compiled_policies WHERE agent = ? ORDER BY policy_version DESC LIMIT 1")
    .get(agent);
}

/** The cached envelope for this key, if it is still exactly what a compile would produce now. */
export async function readCachedPolicy(db: Db, agent: string, pk: PolicyKey, key: string, now = Date.now()): Promise<CompiledPolicyEnvelope | null> {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(cacheFile(db, agent), "utf8")) as Entry;
  } catch {
    return null;
  }
  if (entry?.v !== 2 || entry.key !== key || typeof entry.signed !== "string" || typeof entry.signature !== "string") return null;
  const last = latestCompiled(db, agent);
  if (!last || last.policy_version !== entry.policy_version || last.content_hash !== entry.content_hash) return null;
  const sig = parseSig(entry.signature);
  if (!sig || sig.kid !== pk.kid || !(await verifyEd25519(pk.public, sig.sig, new TextEncoder().encode(entry.signed)))) return null;
  // Signed by the install's key, so well-formed as compiled; checked anyway, as a hit must be exact.
  let p: CompiledPolicyPayload;
  try {
    p = JSON.parse(entry.signed) as CompiledPolicyPayload;
  } catch {
    return null;
  }
  if (p?.agent !== agent || p.policy_version !== entry.policy_version) return null;
  const issued = Date.parse(p.issued_at);
  const expires = Date.parse(p.expires_at);
  if (!(expires > issued) || now < issued || expires - now < (expires - issued) * MIN_REMAINING) return null;
  return { payload: p, signature: entry.signature };
}

/** Remember a freshly compiled envelope (best effort: a cache that cannot be written is only slower). */
export function writeCachedPolicy(db: Db, agent: string, key: string, envelope: CompiledPolicyEnvelope): void {
  const last = latestCompiled(db, agent);
  if (!last || last.policy_version !== envelope.payload.policy_version) return;
  const entry: Entry = { v: 2, key, policy_version: last.policy_version, content_hash: last.content_hash, signed: canonicalJson(envelope.payload), signature: envelope.signature };
  const file = cacheFile(db, agent);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // read-only home, full disk: compile every time
  }
}

/**
 * The agent's signed Compiled Policy for `exec`: the cached envelope when it is still exactly
 * what compiling now would give, otherwise compiled (compileForAgent), signed and cached.
 */
export async function envelopeForExec(db: Db, agent: string): Promise<{ envelope: CompiledPolicyEnvelope; cached: boolean }> {
  const pk = readPolicyKey(dirname(db.path));
  const key = pk ? policyCacheKey(db, agent, pk) : null;
  if (pk && key) {
    const hit = await readCachedPolicy(db, agent, pk, key);
    if (hit) return { envelope: hit, cached: true };
  }
  const { compileForAgent } = await import("./index.ts");
  const envelope = compileForAgent(db, agent);
  // Cache under the key the envelope was actually signed with (compileForAgent loads it).
  const signedBy = readPolicyKey(dirname(db.path));
  const signedKey = signedBy ? policyCacheKey(db, agent, signedBy) : null;
  if (signedKey && signedKey === key) writeCachedPolicy(db, agent, signedKey, envelope);
  return { envelope, cached: false };
}
