/**
 * forbidden_zones: no tool argument may touch a forbidden path (tools.forbidden_zones,
 * filesystem.deny_paths, and built-in credential locations: ~/.ssh, ~/.aws, ~/.gnupg, cloud and
 * kube credentials, /etc/shadow, ...). Every string argument — and every path-looking word in
 * it, so shell commands are covered — is normalised first: Unicode NFKC, NUL and control
 * characters dropped, percent-decoding, backslashes, ~ / $HOME / ${HOME} expansion, `//`
 * collapsed and `..` resolved (relative paths against the workspace).
 */
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { posix } from "node:path";
import { tappassHome } from "../../home.ts";
import type { CompiledPolicyPayload } from "../../policy/types.ts";
import type { StepDef } from "../types.ts";
import { globMatch, strs, toolVerdict, toolsInScope, walkStrings, type ToolHit } from "./_util.ts";

export const DEFAULT_ZONES = [
  "~/.ssh/**",
  "~/.aws/**",
  "~/.gnupg/**",
  "~/.config/gcloud/**",
  "~/.azure/**",
  "~/.kube/config",
  "~/.docker/config.json",
  "~/.netrc",
  "~/.npmrc",
  "~/.pypirc",
  "~/.git-credentials",
  "~/.config/gh/hosts.yml",
  "/etc/shadow",
  "/etc/gshadow",
  "/etc/sudoers",
  "/etc/sudoers.d/**",
  "/root/**",
  "/home/*/.ssh/**",
  "/home/*/.aws/**",
  "/proc/*/environ",
  "/var/run/secrets/**",
];

/** Normalise a path-ish string the way an attacker would hope we don't. */
export function normalizePath(raw: string, opts: { home: string; cwd: string }): string | undefined {
  let s = raw.normalize("NFKC");
  s = s.replace(/[\u0000-\u001f\u007f\u200b-\u200f\u2060\ufeff]/g, "");
  if (/%[0-9a-f]{2}/i.test(s)) {
    try {
      s = decodeURIComponent(s);
    } catch {
      s = s.replace(/%2e/gi, ".").replace(/%2f/gi, "/").replace(/%5c/gi, "\\");
    }
    s = s.replace(/[\u0000-\u001f\u007f]/g, "");
  }
  s = s.replace(/^file:\/\//i, "");
  s = s.replace(/\\/g, "/");
  s = s.replace(/^["'`]+|["'`]+$/g, "");
  s = s.replace(/\$\{HOME\}|\$HOME\b/g, opts.home);
  if (s === "~" || s.startsWith("~/")) s = opts.home + s.slice(1);
  if (!s) return undefined;
  const abs = s.startsWith("/") ? s : posix.join(opts.cwd, s);
  let n = posix.normalize(abs.replace(/\/{2,}/g, "/"));
  if (n.length > 1 && n.endsWith("/")) n = n.slice(0, -1);
  return n;
}

/** Path-looking pieces of a value: the whole string and its words (for shell commands). */
export function pathCandidates(s: string): string[] {
  const out = new Set<string>();
  const looksLikePath = (x: string) => /[\/~]|\$HOME|\$\{HOME\}|%2f|%2e|^\.\.?$/i.test(x);
  if (looksLikePath(s) && s.length < 4096) out.add(s.trim());
  for (const w of s.split(/[\s"'`;|&<>()=,]+/)) if (w && looksLikePath(w)) out.add(w);
  return [...out];
}

export function zoneMatch(zone: string, path: string): boolean {
  if (globMatch(zone, path, { path: true })) return true;
  const base = zone.replace(/\/\*\*$/, "");
  if (!/[*?]/.test(base)) return path === base || path.startsWith(`${base}/`);
  return globMatch(`${base}/**`, path, { path: true }) || globMatch(base, path, { path: true });
}

/**
 * Where a path really leads (symbolic links resolved, in the path or in a parent of a file not
 * there yet), or undefined when nothing of it exists. One realpath(3) per candidate.
 */
function realOf(p: string, parents = true): string | undefined {
  try {
    return realpathSync.native(p);
  } catch {
    if (!parents) return undefined;
    try {
      return posix.join(realpathSync.native(posix.dirname(p)), posix.basename(p));
    } catch {
      return undefined;
    }
  }
}

/**
 * The forbidden zone (as written) an absolute, resolved path falls in, for the interpreter ring's
 * workspace functions: the policy's zones and deny paths plus the built-in credential locations.
 */
export function zonePredicate(zonesRaw: string[], norm: { home: string; cwd: string }): (absPath: string) => string | undefined {
  const { zones, anywhere } = expandZones([...zonesRaw, ...DEFAULT_ZONES], norm);
  return (p) => {
    const leaf = p.slice(p.lastIndexOf("/") + 1);
    return (
      anywhere.find((a) => !a.leaf.includes("/") && globMatch(a.leaf, leaf, { path: true }))?.zone ?? zones.find((z) => zoneMatch(z.expanded, p))?.zone
    );
  };
}

type Zones = { zones: Array<{ zone: string; expanded: string }>; anywhere: Array<{ zone: string; leaf: string }> };

/**
 * Zones as written → matchable. A zone that starts with "**" and a slash means "its rest anywhere",
 * never anchored to the working directory (an MCP server's paths live under its own roots, not
 * ours); other relative zones are relative to the workspace.
 */
function expandZones(zonesRaw: string[], norm: { home: string; cwd: string }): Zones {
  const zones = [...new Set(zonesRaw)].map((z) => ({ zone: z, expanded: z.startsWith("**/") ? `/${z}` : (normalizePath(z, norm) ?? z) }));
  const anywhere = zones.filter((z) => z.zone.startsWith("**/")).map((z) => ({ zone: z.zone, leaf: z.zone.slice(3) }));
  return { zones, anywhere };
}

const zoneCache = new WeakMap<object, { key: string; z: Zones }>();

/** The policy's zones, normalised once per Compiled Policy step config (and home / cwd). */
function zonesFor(policy: CompiledPolicyPayload, c: Record<string, unknown>, norm: { home: string; cwd: string }): Zones {
  const key = `${norm.home}\u0000${norm.cwd}\u0000${tappassHome()}`;
  const hit = zoneCache.get(c);
  if (hit && hit.key === key && zoneCache.get(policy) === hit) return hit.z;
  // TapPass's own state (signing keys, provider keys, the audit log) wherever TAPPASS_HOME puts it
  const own = `${tappassHome()}/**`;
  const zonesRaw = [...policy.tools.forbidden_zones, ...policy.filesystem.deny_paths, ...strs(c.zones), ...(c.include_defaults === false ? [] : DEFAULT_ZONES), own];
  const entry = { key, z: expandZones(zonesRaw, norm) };
  zoneCache.set(c, entry);
  zoneCache.set(policy, entry);
  return entry.z;
}

const step: StepDef = {
  name: "forbidden_zones",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "filesystem",
  run(ctx, env) {
    const calls = toolsInScope(ctx, env.phase);
    if (calls.length === 0) return { decision: "allow", evidence: {} };
    const c = env.step.config ?? {};
    const home = process.env.HOME || homedir();
    const ws = env.policy.filesystem.workspace;
    const cwd = typeof c.cwd === "string" ? c.cwd : !ws || ws.includes("${") ? process.cwd() : ws;
    const norm = { home, cwd };
    const { zones, anywhere } = zonesFor(env.policy, c, norm);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      let hit: ToolHit | undefined;
      walkStrings(call.arguments, (argPath, value) => {
        if (hit) return;
        // A bare file name ("id_rsa", ".env") can still name a forbidden file on the server's side.
        for (const word of value.split(/[\s"'`;|&<>()=,]+/)) {
          const leaf = word.includes("/") ? word.slice(word.lastIndexOf("/") + 1) : word;
          const z = leaf && !leaf.includes("*") ? anywhere.find((a) => !a.leaf.includes("/") && globMatch(a.leaf, leaf, { path: true })) : undefined;
          if (z) {
            hit = { call, reason: `tool "${call.name}" argument ${argPath} touches forbidden zone ${z.zone}`, detail: { arg: argPath, zone: z.zone, path: word } };
            return;
          }
        }
        // the whole value (a bare "notes" may be a symlink to ~/.netrc) and every path-looking word
        const cands = pathCandidates(value);
        const whole = value.trim();
        const bare = whole && whole.length < 256 && !/[\s]/.test(whole) && !cands.includes(whole) ? whole : undefined;
        if (bare) cands.push(bare);
        for (const cand of cands) {
          const p = normalizePath(cand, norm);
          if (!p) continue;
          // the path as written, then where it leads: a symlink (made by the agent in its workspace)
          // must not carry a server on this side of the kernel ring into a forbidden zone. A bare
          // word counts only as the link it is, when there is one.
          const real = realOf(p, cand !== bare);
          const qs = cand === bare ? (real && real !== p ? [real] : []) : real && real !== p ? [p, real] : [p];
          for (const q of qs) {
            const z = zones.find((zz) => zoneMatch(zz.expanded, q));
            if (z) {
              const via = q === p ? "" : ` (through a symbolic link: ${p} → ${q})`;
              hit = { call, reason: `tool "${call.name}" argument ${argPath} touches forbidden zone ${z.zone}${via}`, detail: { arg: argPath, zone: z.zone, path: q } };
              return;
            }
          }
        }
      });
      if (hit) hits.push(hit);
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
