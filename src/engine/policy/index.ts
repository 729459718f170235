/**
 * The policy subsystem's library API. Consumers (gateway, MCP broker, exec, pipeline,
 * interpreter ring) call compileForAgent / verifyEnvelope / ensureDefaultAgent; the CLI
 * commands call the rest.
 *
 *   const env = compileForAgent(db, "mailer");          // signed, schema-valid, versioned
 *   const v = verifyEnvelope(env, [loadKeys().ed25519]); // offline check: schema, signature, expiry
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { canonicalJson } from "../canonical.ts";
import { parseSignature, signatureString, utf8, verifyBytes } from "../crypto/ed25519.ts";
import { loadKeys } from "../crypto/keys.ts";
import { inputError, internalError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { getMeta, setMeta } from "../store/state.ts";
import { type Aspects, type ExplainRow, finalize } from "./finalize.ts";
import { catalog } from "./catalog.ts";
import type { Pack } from "./packs.ts";
import { createAgent, createProject, currentSources, getAgent, orgName, requireAgent, type SourceFile } from "./registry.ts";
import { buildLayers, type Ctx, mergeLayers, resolveEff } from "./resolve.ts";
import { checkPacks } from "./sources.ts";
import { validateEnvelope, validatePayload } from "./schema.ts";
import type { Because, CompiledPolicyEnvelope, CompiledPolicyPayload } from "./types.ts";

export type { CompiledPolicyEnvelope, CompiledPolicyPayload } from "./types.ts";

/** Default lifetime of a Compiled Policy (meta key policy_ttl_seconds overrides it per install). */
export const DEFAULT_TTL_SECONDS = 24 * 3600;

export function agentCtx(db: Db, agent: string): Ctx {
  const rec = requireAgent(db, agent);
  return { org: orgName(db), project: rec.project, agent: rec };
}

/** The effective policy of an agent with its because-trails, without compiling or signing. */
export function explainAgent(db: Db, agent: string): { agent: string; project: string; org: string; rules: ExplainRow[] } {
  const ctx = agentCtx(db, agent);
  const { rows } = finalize(resolveEff(db, ctx), ctx);
  return { agent, project: ctx.project ?? "", org: ctx.org, rules: rows.map((r) => ({ ...r, because: r.because.map(asContractBecause) })) };
}

/** Where the shipped catalog's parts come from (files embedded in the binary). */
const SHIPPED: Array<[RegExp, string]> = [
  [/^builtin:baseline$/, "file:catalog/baseline.yaml"],
  [/^preset:/, "file:catalog/presets.yaml"],
  [/^tools:/, "file:catalog/tools.yaml"],
  [/^concern:/, "file:catalog/concerns.yaml"],
  [/^adapter:/, "file:catalog/baseline.yaml"],
];

/**
 * A because-entry in the forms CONTRACT.md gives `policy explain` (level org|project|agent,
 * source pack:|file:|function:|category:): what TapPass ships is the org's starting point, so a
 * built-in entry is an org-level one whose source is the embedded catalog file, and its detail
 * says it is built in.
 */
function asContractBecause(b: Because): Because {
  const sourceOk = /^(pack|file|function|category):/.test(b.source);
  if (b.level !== "builtin" && sourceOk) return b;
  const source = sourceOk ? b.source : (SHIPPED.find(([re]) => re.test(b.source))?.[1] ?? `file:catalog/${b.source.replace(/[:/]/g, "-")}`);
  return { level: b.level === "builtin" ? "org" : b.level, source, detail: `built in (${b.source}): ${b.detail}` };
}

/** The aspects an agent would get now (no version, no signature). */
export function effectiveAspects(db: Db, agent: string): Aspects {
  const ctx = agentCtx(db, agent);
  return finalize(resolveEff(db, ctx), ctx).aspects;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Next policy_version: strictly greater than any issued before on this install. */
function nextVersion(db: Db): number {
  const cur = Number(getMeta(db, "policy_version") ?? 0);
  const stored = db.prepare<{ v: number | null }>("SELECT MAX(policy_version) AS v FROM compiled_policies").get()?.v ?? 0;
  const next = Math.max(cur, stored) + 1;
  setMeta(db, "policy_version", String(next));
  return next;
}

/** The compliance packs shipped in the binary (id → pack: concerns, detectors, constraints, rules, probes). */
export function listPacks(): Pack[] {
  return Object.values(catalog().packs);
}

/** One pack by id; unknown → exit 3. */
export function getPack(id: string): Pack {
  checkPacks([id], id);
  return catalog().packs[id] as Pack;
}

function signPayload(db: Db, payload: CompiledPolicyPayload): CompiledPolicyEnvelope {
  const valid = validatePayload(payload);
  if (!valid.ok) throw internalError(`compiled policy for ${payload.agent} fails its schema: ${valid.errors.slice(0, 3).join("; ")}`);
  const keys = loadKeys(dirname(db.path));
  return { payload, signature: signatureString(keys.ed25519.kid, utf8(canonicalJson(payload)), keys.ed25519.secret) };
}

function envelopeOf(db: Db, aspects: Aspects, policy_version: number, opts: { sandbox_id?: string | null; ttlSeconds?: number }): CompiledPolicyEnvelope {
  const ttl = opts.ttlSeconds ?? Number(getMeta(db, "policy_ttl_seconds") ?? DEFAULT_TTL_SECONDS);
  const now = Date.now();
  return signPayload(db, {
    policy_version,
    sandbox_id: opts.sandbox_id ?? null,
    agent: aspects.agent,
    project: aspects.project,
    org: aspects.org,
    issued_at: new Date(now).toISOString(),
    expires_at: new Date(now + ttl * 1000).toISOString(),
    identity: aspects.identity,
    network: aspects.network,
    filesystem: aspects.filesystem,
    tools: aspects.tools,
    interpreter: aspects.interpreter,
    budget: aspects.budget,
    compliance_tags: aspects.compliance_tags,
    pipeline: aspects.pipeline,
    rules: aspects.rules,
    ...(aspects.models ? { models: aspects.models } : {}),
  });
}

/**
 * What-if (e.g. `tappass eval run --policy FILE --packs a,b`): the agent's policy with extra packs
 * and sources added at its agent level, signed but NOT stored and without a new version (it
 * carries the install's current policy_version). Floors are not checked here; strictest-wins
 * merging still means extra sources can only tighten project and org floors.
 */
export function previewForAgent(db: Db, agent: string, extra: { packs?: string[]; files?: SourceFile[]; sandbox_id?: string | null; ttlSeconds?: number } = {}): CompiledPolicyEnvelope {
  const ctx = agentCtx(db, agent);
  checkPacks(extra.packs ?? []);
  const ref = { level: "agent" as const, target: agent };
  const cur = currentSources(db, ref).spec;
  const spec = {
    packs: [...new Set([...cur.packs, ...(extra.packs ?? [])])],
    files: [...cur.files.filter((f) => !(extra.files ?? []).some((x) => x.path === f.path)), ...(extra.files ?? [])],
  };
  const { aspects } = finalize(mergeLayers(buildLayers(db, ctx, { override: { ref, spec } })), ctx);
  const version = Math.max(1, Number(getMeta(db, "policy_version") ?? 0));
  return envelopeOf(db, aspects, version, extra);
}

export function compileForAgent(db: Db, agent: string, opts: { sandbox_id?: string | null; ttlSeconds?: number } = {}): CompiledPolicyEnvelope {
  const aspects = effectiveAspects(db, agent);
  const hash = sha256(canonicalJson(aspects));
  const policy_version = db.transaction(() => {
    const last = db
      .prepare<{ policy_version: number; content_hash: string }>("SELECT policy_version, content_hash FROM compiled_policies WHERE agent = ? ORDER BY policy_version DESC LIMIT 1")
      .get(agent);
    if (last && last.content_hash === hash) return last.policy_version;
    const v = nextVersion(db);
    db.prepare("INSERT INTO compiled_policies (policy_version, agent, content_hash, payload, created_at) VALUES (?, ?, ?, ?, ?)").run(
      v, agent, hash, canonicalJson({ policy_version: v, ...aspects }), new Date().toISOString(),
    );
    return v;
  });
  return envelopeOf(db, aspects, policy_version, opts);
}

export function verifyEnvelope(
  env: unknown,
  keys: Array<{ kid: string; public: Uint8Array }>,
  opts: { now?: number } = {},
): { ok: true; payload: CompiledPolicyPayload } | { ok: false; reason: string } {
  const shape = validateEnvelope(env);
  if (!shape.ok) return { ok: false, reason: `not a valid Compiled Policy envelope: ${shape.errors.slice(0, 3).join("; ")}` };
  const e = env as CompiledPolicyEnvelope;
  const sig = parseSignature(e.signature);
  if (!sig) return { ok: false, reason: "malformed signature (want ed25519:<kid>:<base64 of 64 bytes>)" };
  const key = keys.find((k) => k.kid === sig.kid);
  if (!key) return { ok: false, reason: `signed with key ${sig.kid}, which is not among the trusted keys (${keys.map((k) => k.kid).join(", ") || "none"})` };
  if (!verifyBytes(sig.sig, utf8(canonicalJson(e.payload)), key.public)) return { ok: false, reason: "signature does not match the payload (modified or signed by another key)" };
  const now = opts.now ?? Date.now();
  const exp = Date.parse(e.payload.expires_at);
  if (!(exp > now)) return { ok: false, reason: `policy expired at ${e.payload.expires_at}; compile a fresh one` };
  return { ok: true, payload: e.payload };
}

/** For `tappass exec` without --agent: a default project + agent governed by the org baseline. */
export function ensureDefaultAgent(db: Db, name = "local"): string {
  if (getAgent(db, name)) return name;
  db.transaction(() => {
    createProject(db, "default");
    if (!getAgent(db, name)) createAgent(db, { name, project: "default", function: null, categories: [] });
  });
  return name;
}

/** A stored compiled payload by version (for diff). */
export function storedPayload(db: Db, version: number): Record<string, unknown> {
  const r = db.prepare<{ payload: string }>("SELECT payload FROM compiled_policies WHERE policy_version = ?").get(version);
  if (!r) {
    const known = db.prepare<{ v: number; agent: string }>("SELECT policy_version AS v, agent FROM compiled_policies ORDER BY policy_version DESC LIMIT 10").all();
    throw inputError("unknown_version", `no compiled policy with policy_version ${version}`, {
      hint: known.length ? `latest versions: ${known.map((k) => `${k.v} (${k.agent})`).join(", ")}` : "compile one first: tappass policy compile --agent NAME",
    });
  }
  return JSON.parse(r.payload) as Record<string, unknown>;
}

export interface DiffEntry {
  path: string;
  op: "added" | "removed" | "changed";
  from?: unknown;
  to?: unknown;
}

/** Structural diff of two stored payloads (list items of strings compared as sets). */
/**
 * What changed between two stored versions. Versions are numbered across the install, so two
 * may be two agents' policies: `agents` then names them (from, to), and the caller says so.
 */
export function diffVersions(db: Db, from: number, to: number): { from: number; to: number; changes: DiffEntry[]; agents?: [string, string] } {
  const a = storedPayload(db, from);
  const b = storedPayload(db, to);
  const out: DiffEntry[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (canonicalJson(x) === canonicalJson(y)) return;
    const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
    if (isObj(x) && isObj(y)) {
      const xo = x as Record<string, unknown>;
      const yo = y as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(xo), ...Object.keys(yo)])].sort()) {
        const p = path ? `${path}.${k}` : k;
        if (!(k in xo)) out.push({ path: p, op: "added", to: yo[k] });
        else if (!(k in yo)) out.push({ path: p, op: "removed", from: xo[k] });
        else walk(xo[k], yo[k], p);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && [...x, ...y].every((v) => typeof v === "string")) {
      for (const v of y) if (!x.includes(v)) out.push({ path, op: "added", to: v });
      for (const v of x) if (!y.includes(v)) out.push({ path, op: "removed", from: v });
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      // lists of objects: match items by name / id, otherwise by content (without because-trails)
      const key = (v: unknown) => {
        const o = (v ?? {}) as Record<string, unknown>;
        if (typeof o.name === "string") return o.name;
        if (typeof o.id === "string") return o.id;
        const { because: _b, ...rest } = o;
        return canonicalJson(typeof v === "object" ? rest : v);
      };
      const xm = new Map(x.map((v) => [key(v), v]));
      const ym = new Map(y.map((v) => [key(v), v]));
      for (const [k, v] of ym) if (!xm.has(k)) out.push({ path: `${path}[${k}]`, op: "added", to: v });
      for (const [k, v] of xm) if (!ym.has(k)) out.push({ path: `${path}[${k}]`, op: "removed", from: v });
      for (const [k, v] of xm) if (ym.has(k)) walk(v, ym.get(k), `${path}[${k}]`);
      return;
    }
    out.push({ path, op: "changed", from: x, to: y });
  };
  walk(a, b, "");
  const agents: [string, string] = [String(a.agent ?? ""), String(b.agent ?? "")];
  return { from, to, changes: out, ...(agents[0] !== agents[1] ? { agents } : {}) };
}
