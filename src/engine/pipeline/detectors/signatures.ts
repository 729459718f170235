/**
 * A small scoring engine for signature-based detectors (prompt injection, jailbreak).
 *
 * Signatures are regexes over the NORMALISED text (lower-case, look-alikes folded, invisible
 * characters dropped, leetspeak undone) and over decoded copies of encoded spans. Each has a
 * weight; a text's score is the noisy-OR of the distinct signatures that matched
 * (1 − Π(1 − wᵢ)), so several weak cues add up while one weak cue stays under the threshold.
 * Matching a signature only after undoing an obfuscation adds a bonus: hiding is a signal.
 */
import { type View, toOriginal, views } from "./normalize.ts";
import type { DetectOptions, Finding } from "./types.ts";

export type Kind = NonNullable<DetectOptions["kind"]>;

export interface Signature {
  /** Stable id (one contribution per id) */
  id: string;
  /** Finding type, e.g. instruction_override */
  type: string;
  re: RegExp;
  /** Weight in prompts / system text / responses. */
  weight: number;
  /** Weight when the text is tool output (indirect injection arrives there). */
  toolWeight?: number;
  /** Pre-filter: at least one of these substrings must occur in the normalised text. */
  kw?: string[];
  /**
   * Cheap gate: word prefixes (first 4 letters of a word, or the whole word when shorter), one
   * of which must occur in the text; "=x" means the substring x; "#nonascii" any non-ASCII char.
   */
  gate?: string[];
}

/** Attach gates (id -> space-separated gate entries) to signatures. */
export function withGates(sigs: Signature[], gates: Record<string, string>): Signature[] {
  for (const s of sigs) {
    const g = gates[s.id];
    if (g) s.gate = g.split(" ").filter(Boolean);
  }
  return sigs;
}

const WORD = /[a-z]{2,}/g;
const prefixCache = new WeakMap<View, Set<string>>();

function prefixes(v: View): Set<string> {
  let set = prefixCache.get(v);
  if (!set) {
    set = new Set<string>();
    WORD.lastIndex = 0;
    for (let m = WORD.exec(v.text); m !== null; m = WORD.exec(v.text)) set.add(m[0].length > 4 ? m[0].slice(0, 4) : m[0]);
    if (/[^\x00-\x7f]/.test(v.text)) set.add("#nonascii");
    prefixCache.set(v, set);
  }
  return set;
}

function gateOpen(s: Signature, v: View): boolean {
  if (!s.gate) return true;
  const set = prefixes(v);
  for (const g of s.gate) {
    if (g.startsWith("=") ? v.text.includes(g.slice(1)) : set.has(g)) return true;
  }
  return false;
}

/** s("id", "type", /re/, weight, toolWeight?, kw?) */
export function sig(id: string, type: string, re: RegExp, weight: number, toolWeight?: number, kw?: string[]): Signature {
  const flags = re.flags.includes("g") ? re.flags : `${re.flags}g`;
  return { id, type, re: new RegExp(re.source, flags), weight, toolWeight, kw };
}

let cacheKey: string | null = null;
let cacheViews: View[] = [];

/** Normalised views of a text; the last one is memoised (detectors often run back to back). */
export function cachedViews(text: string): View[] {
  if (cacheKey !== text) {
    cacheViews = views(text);
    cacheKey = text;
  }
  return cacheViews;
}

interface Match {
  sig: Signature;
  weight: number;
  start: number;
  end: number;
}

export interface EngineOptions {
  detector: string;
  threshold: number;
  /** Extra findings computed by the caller (structural checks), merged into the score. */
  extra?: (text: string, views: View[], kind: Kind) => { id: string; type: string; weight: number; start: number; end: number }[];
}

const MAX_MATCHES_PER_SIG = 50;

export function runSignatures(sigs: Signature[], text: string, opts: DetectOptions, eng: EngineOptions): Finding[] {
  if (text.length === 0) return [];
  const kind: Kind = opts.kind ?? "prompt";
  const tool = kind === "tool_output";
  const vs = cachedViews(text);
  const matches: Match[] = [];
  for (const v of vs) {
    const decoded = v.kind !== "plain";
    for (const s of sigs) {
      if (s.kw && !s.kw.some((k) => v.text.includes(k))) continue;
      if (!gateOpen(s, v)) continue;
      const base = tool && s.toolWeight !== undefined ? s.toolWeight : s.weight;
      if (base <= 0) continue;
      s.re.lastIndex = 0;
      let n = 0;
      for (let m = s.re.exec(v.text); m !== null && n < MAX_MATCHES_PER_SIG; m = s.re.exec(v.text), n++) {
        if (m[0].length === 0) {
          s.re.lastIndex++;
          continue;
        }
        const span = toOriginal(v, m.index, m.index + m[0].length);
        // An obfuscated match: the original text differs from what matched.
        const hidden = decoded || (v.obfuscated && text.slice(span.start, span.end).toLowerCase() !== m[0]);
        matches.push({ sig: s, weight: Math.min(0.99, base + (hidden ? 0.15 : 0)), start: span.start, end: span.end });
      }
    }
  }
  for (const x of eng.extra?.(text, vs, kind) ?? []) {
    matches.push({ sig: { id: x.id, type: x.type, re: /$^/, weight: x.weight }, weight: x.weight, start: x.start, end: x.end });
  }
  if (matches.length === 0) return [];
  // Noisy-OR over distinct signature ids (strongest match per id).
  const best = new Map<string, number>();
  for (const m of matches) best.set(m.sig.id, Math.max(best.get(m.sig.id) ?? 0, m.weight));
  let miss = 1;
  for (const w of best.values()) miss *= 1 - w;
  const total = Math.min(0.99, 1 - miss);
  if (total < eng.threshold) return [];
  // Report the contributing spans (weight ≥ 0.2), one per (type, span), scored by the total.
  const out: Finding[] = [];
  const seen = new Set<string>();
  matches.sort((a, b) => a.start - b.start || b.weight - a.weight);
  for (const m of matches) {
    if (m.weight < 0.2) continue;
    const key = `${m.sig.type}:${m.start}:${m.end}`;
    if (seen.has(key)) continue;
    // Skip spans fully inside an already reported span of the same type.
    if (out.some((f) => f.type === m.sig.type && f.start <= m.start && m.end <= f.end)) continue;
    seen.add(key);
    out.push({ detector: eng.detector, type: m.sig.type, start: m.start, end: m.end, score: Number(Math.max(m.weight, total).toFixed(3)) });
  }
  return out;
}
