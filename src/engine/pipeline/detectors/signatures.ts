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
    if (g) {
      s.gate = g.split(" ").filter(Boolean);
      for (const e of s.gate) if (/^[a-z]{2,4}$/.test(e)) WANTED.add(prefixKey(e));
    }
    // Compile the runner now: anchored signatures register the words the index must record.
    runnerOf(s);
  }
  return sigs;
}

/**
 * Per-view trigger index, built in ONE pass over the normalised text (a char-code loop, no
 * regex, no substrings): the words (runs of 2+ ASCII letters) whose prefix — first 4 letters,
 * or the whole word when shorter — is a gate entry of some signature, with their positions, and
 * whether the text holds non-ASCII characters. Gates are answered from it, and so are the
 * windows that a gated signature is run in (see `execSignature`).
 */
interface TriggerIndex {
  /** prefix key -> flat [start, end, start, end, ...] of the words having that prefix */
  words: Map<number, number[]>;
  /** literal key (2..4 letters) -> ascending starts of the words BEGINNING with those letters */
  starts: Map<number, number[]>;
  /** flat [start, end, ...] of non-ASCII characters (only built when needed) */
  nonAscii: number[] | null;
  hasNonAscii: boolean;
}

/** Integer key of a word prefix: letters as base-32 digits 1..26 (so "you" ≠ "youn"). */
function prefixKey(p: string): number {
  let k = 0;
  for (let i = 0; i < p.length && i < 4; i++) k = k * 32 + (p.charCodeAt(i) - 96);
  return k;
}

/** Keys of every word-prefix gate entry in use (filled by withGates). */
const WANTED = new Set<number>();
/** Keys of the leading literals of anchored signatures (filled lazily by anchorsOf). */
const WANTED_START = new Set<number>();

const indexCache = new WeakMap<View, TriggerIndex>();
const NON_ASCII_G = /[^\x00-\x7f]/g;

function triggerIndex(v: View): TriggerIndex {
  let idx = indexCache.get(v);
  if (!idx) {
    const words = new Map<number, number[]>();
    const starts = new Map<number, number[]>();
    const t = v.text;
    const n = t.length;
    let hasNonAscii = false;
    let i = 0;
    while (i < n) {
      let c = t.charCodeAt(i);
      if (c < 97 || c > 122) {
        if (c > 127) hasNonAscii = true;
        i++;
        continue;
      }
      const start = i;
      let key = 0;
      do {
        if (i - start < 4) key = key * 32 + (c - 96);
        i++;
        c = i < n ? t.charCodeAt(i) : 0;
      } while (c >= 97 && c <= 122);
      const len = i - start;
      if (len >= 2) {
        if (WANTED.has(key)) {
          const list = words.get(key);
          if (list) list.push(start, i);
          else words.set(key, [start, i]);
        }
        // key of the first 2, 3 and 4 letters (key holds min(4, len) letters)
        for (let k = len >= 4 ? key : key, l = Math.min(4, len); l >= 2; l--, k = Math.floor(k / 32)) {
          if (WANTED_START.has(k)) {
            const list = starts.get(k);
            if (list) list.push(start);
            else starts.set(k, [start]);
          }
        }
      }
    }
    idx = { words, starts, nonAscii: null, hasNonAscii };
    indexCache.set(v, idx);
  }
  return idx;
}

function nonAsciiPositions(v: View, idx: TriggerIndex): number[] {
  if (!idx.nonAscii) {
    const out: number[] = [];
    NON_ASCII_G.lastIndex = 0;
    for (let m = NON_ASCII_G.exec(v.text); m !== null; m = NON_ASCII_G.exec(v.text)) out.push(m.index, m.index + 1);
    idx.nonAscii = out;
  }
  return idx.nonAscii;
}

/** A signature's gate entries, parsed once: word-prefix keys, "=x" substrings, "#nonascii". */
interface CompiledGate {
  src: string[];
  keys: number[];
  subs: string[];
  nonAscii: boolean;
}

const compiledGates = new WeakMap<Signature, CompiledGate>();

function gateOf(s: Signature): CompiledGate {
  const src = s.gate as string[];
  let c = compiledGates.get(s);
  if (!c || c.src !== src) {
    c = { src, keys: [], subs: [], nonAscii: false };
    for (const g of src) {
      if (g.charCodeAt(0) === 61 /* = */) c.subs.push(g.slice(1));
      else if (g === "#nonascii") c.nonAscii = true;
      else c.keys.push(prefixKey(g));
    }
    compiledGates.set(s, c);
  }
  return c;
}

/**
 * The gates of a signature list, inverted: which signatures each word-prefix key, substring and
 * non-ASCII text opens. A view then costs one pass over the few gate words it holds instead of
 * testing every signature's gate (most texts open none or a handful).
 */
interface GatePlan {
  gates: Array<string[] | undefined>;
  ungated: number[];
  byKey: Map<number, number[]>;
  /** "=x" entries holding only ASCII characters … */
  subs: Array<[string, number]>;
  /** … and those holding some non-ASCII one (never inside a text without any) */
  wideSubs: Array<[string, number]>;
  nonAscii: number[];
  open: Uint8Array;
}

const plans = new WeakMap<Signature[], GatePlan>();

function gatePlan(sigs: Signature[]): GatePlan {
  let p = plans.get(sigs);
  if (p && p.gates.length === sigs.length && p.gates.every((g, i) => g === (sigs[i] as Signature).gate)) return p;
  p = { gates: sigs.map((s) => s.gate), ungated: [], byKey: new Map(), subs: [], wideSubs: [], nonAscii: [], open: new Uint8Array(sigs.length) };
  for (let i = 0; i < sigs.length; i++) {
    const s = sigs[i] as Signature;
    if (!s.gate) {
      p.ungated.push(i);
      continue;
    }
    const g = gateOf(s);
    if (g.nonAscii) p.nonAscii.push(i);
    for (const k of g.keys) {
      const list = p.byKey.get(k);
      if (list) list.push(i);
      else p.byKey.set(k, [i]);
    }
    for (const sub of g.subs) (/^[\x00-\x7f]*$/.test(sub) ? p.subs : p.wideSubs).push([sub, i]);
  }
  plans.set(sigs, p);
  return p;
}

/** open[i] = 1 when gateOpen(sigs[i], v) (the plan's buffer: read it before the next call). */
function openGates(p: GatePlan, v: View): Uint8Array {
  const open = p.open;
  open.fill(0);
  for (const i of p.ungated) open[i] = 1;
  const idx = triggerIndex(v);
  if (idx.hasNonAscii) for (const i of p.nonAscii) open[i] = 1;
  for (const k of idx.words.keys()) {
    const list = p.byKey.get(k);
    if (list) for (const i of list) open[i] = 1;
  }
  for (const [sub, i] of p.subs) if (open[i] === 0 && v.text.includes(sub)) open[i] = 1;
  if (idx.hasNonAscii) for (const [sub, i] of p.wideSubs) if (open[i] === 0 && v.text.includes(sub)) open[i] = 1;
  return open;
}

/** Which of sigs runSignatures would run on v, by the inverted plan (tests compare it with gateOpen). */
export function plannedGates(sigs: Signature[], v: View): boolean[] {
  return Array.from(openGates(gatePlan(sigs), v), (x) => x === 1);
}

/** Is one of s's gate entries present in v? (the same answer as testing each entry in turn) */
function gateOpen(s: Signature, v: View): boolean {
  if (!s.gate) return true;
  const g = gateOf(s);
  const idx = triggerIndex(v);
  if (g.nonAscii && idx.hasNonAscii) return true;
  if (idx.words.size > 0) for (const k of g.keys) if (idx.words.has(k)) return true;
  for (const sub of g.subs) if (v.text.includes(sub)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Windowed execution.
//
// A gated signature's match always overlaps one of its gate words, and (for regexes with only
// bounded quantifiers) is at most `maxLen` UTF-16 units long. So a match can only START in
// [wordStart - maxLen, wordEnd] for some gate word. Instead of scanning the whole text, a sticky
// companion regex `[\s\S]{0,WIN}?(re)` is run on the FULL text (so \b, ^, look-arounds see
// the real context) at the start of each such range: the lazy prefix finds the leftmost match
// starting within WIN characters, exactly what a plain scan from that point would find first.

const WIN = 256;

/** Upper bound (UTF-16 units) on the length of any match of a regex source; Infinity if unbounded. */
export function maxMatchLength(src: string, unicode = false): number {
  /** Units one class / escape / dot can match: a surrogate pair in u-mode. */
  const U = unicode ? 2 : 1;
  let i = 0;
  function alt(): number {
    let best = seq();
    while (src[i] === "|") {
      i++;
      best = Math.max(best, seq());
    }
    return best;
  }
  function seq(): number {
    let total = 0;
    while (i < src.length && src[i] !== "|" && src[i] !== ")") {
      let len = atom();
      // quantifier
      const c = src[i];
      if (c === "*" || c === "+") {
        i++;
        len = len === 0 ? 0 : Number.POSITIVE_INFINITY;
      } else if (c === "?") {
        i++;
      } else if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (m) {
          i += m[0].length;
          const hi = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
          len = len === 0 ? 0 : len * hi;
        }
      }
      if (src[i] === "?" && (c === "*" || c === "+" || c === "?" || c === "{")) i++; // lazy
      total += len;
    }
    return total;
  }
  function atom(): number {
    const c = src[i] as string;
    if (c === "(") {
      i++;
      let look = false;
      if (src[i] === "?") {
        if (src.startsWith("?:", i)) i += 2;
        else if (src.startsWith("?=", i) || src.startsWith("?!", i)) {
          i += 2;
          look = true;
        } else if (src.startsWith("?<=", i) || src.startsWith("?<!", i)) {
          i += 3;
          look = true;
        }
        else if (src.startsWith("?<", i)) i = src.indexOf(">", i) + 1;
      }
      const len = alt();
      i++; // ")"
      return look ? 0 : len;
    }
    if (c === "[") {
      i++;
      if (src[i] === "^") i++;
      if (src[i] === "]") i++;
      while (i < src.length && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
      i++;
      return U;
    }
    if (c === "\\") {
      const n = src[i + 1];
      i += 2;
      if (n === "b" || n === "B") return 0;
      if (n === "u" && src[i] === "{") i = src.indexOf("}", i) + 1;
      else if (n === "u") i += 4;
      else if (n === "x") i += 2;
      return U;
    }
    i++;
    if (c === "^" || c === "$") return 0;
    if (c === ".") return U;
    return 1;
  }
  const n = alt();
  return i < src.length ? Number.POSITIVE_INFINITY : n;
}

/**
 * Leading literals of an "anchored" regex: every top-level branch starts with \\b and either a
 * literal word or a group of alternatives that each start with 2+ literal letters. Then a match
 * can only start at a word that begins with one of those literals. Returns the distinct
 * literals (2..4 letters), or null when the regex is not of that shape.
 */
export function anchorsOf(src: string): string[] | null {
  const out = new Set<string>();
  // Split top-level branches.
  const branches: string[] = [];
  let depth = 0;
  let cls = false;
  let last = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (cls) {
      if (c === "]") cls = false;
      continue;
    }
    if (c === "[") cls = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) {
      branches.push(src.slice(last, i));
      last = i + 1;
    }
  }
  branches.push(src.slice(last));
  const lead = (alt: string): string | null => {
    let k = 0;
    while (k < alt.length && k < 4 && /[a-z]/.test(alt[k] as string)) k++;
    // A quantifier after the last letter makes it optional.
    if (k < alt.length && /[?*{]/.test(alt[k] as string)) k--;
    return k >= 2 ? alt.slice(0, k) : null;
  };
  for (const b of branches) {
    if (!b.startsWith("\\b")) return null;
    const rest = b.slice(2);
    if (rest.startsWith("(?:")) {
      // the group's alternatives, then anything; the group must not be optional
      let d = 0;
      let end = -1;
      const alts: string[] = [];
      let from = 3;
      for (let i = 0; i < rest.length; i++) {
        const c = rest[i];
        if (c === "\\") {
          i++;
          continue;
        }
        if (c === "[") {
          while (i < rest.length && rest[i] !== "]") i += rest[i] === "\\" ? 2 : 1;
          continue;
        }
        if (c === "(") d++;
        else if (c === ")") {
          d--;
          if (d === 0) {
            alts.push(rest.slice(from, i));
            end = i;
            break;
          }
        } else if (c === "|" && d === 1) {
          alts.push(rest.slice(from, i));
          from = i + 1;
        }
      }
      if (end < 0 || /[?*{]/.test(rest[end + 1] ?? "")) return null;
      for (const a of alts) {
        const l = lead(a);
        if (!l) return null;
        out.add(l);
      }
    } else {
      const l = lead(rest);
      if (!l) return null;
      out.add(l);
    }
  }
  return [...out];
}

interface Runner {
  maxLen: number;
  sticky: RegExp | null;
  /** Anchored signatures: literal keys of the words a match must start at, and a plain sticky regex. */
  anchors: number[] | null;
  at: RegExp | null;
}

const runners = new WeakMap<Signature, Runner>();

function runnerOf(s: Signature): Runner {
  let r = runners.get(s);
  if (!r) {
    const maxLen = s.gate ? maxMatchLength(s.re.source, s.re.flags.includes("u")) : Number.POSITIVE_INFINITY;
    const flags = s.re.flags.replace("g", "");
    const lits = s.gate && !s.re.flags.includes("i") ? anchorsOf(s.re.source) : null;
    const anchors = lits ? lits.map(prefixKey) : null;
    if (anchors) for (const k of anchors) WANTED_START.add(k);
    r = {
      maxLen,
      sticky: Number.isFinite(maxLen) ? new RegExp(`[\\s\\S]{0,${WIN}}?(${s.re.source})`, `${flags}y`) : null,
      anchors,
      at: anchors ? new RegExp(s.re.source, `${flags}y`) : null,
    };
    runners.set(s, r);
  }
  return r;
}

const hitBuf: number[] = [];

/**
 * Candidate start ranges (flat [a, b, ...], merged, ascending) for a gated signature on a view,
 * or null when a plain scan is as cheap (no bound, or the ranges cover most of the text).
 */
function windows(s: Signature, v: View, maxLen: number): number[] | null {
  const idx = triggerIndex(v);
  const text = v.text;
  hitBuf.length = 0;
  for (const g of s.gate as string[]) {
    if (g.charCodeAt(0) === 61) {
      const sub = g.slice(1);
      for (let p = text.indexOf(sub); p >= 0; p = text.indexOf(sub, p + 1)) hitBuf.push(p, p + sub.length);
    } else if (g === "#nonascii") {
      if (idx.hasNonAscii) for (const x of nonAsciiPositions(v, idx)) hitBuf.push(x);
    } else {
      const list = idx.words.get(prefixKey(g));
      if (list) for (const x of list) hitBuf.push(x);
    }
    if (hitBuf.length > 4096) return null;
  }
  // Sort pairs by start.
  const n = hitBuf.length >> 1;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  if (s.gate && s.gate.length > 1) order.sort((x, y) => (hitBuf[2 * x] as number) - (hitBuf[2 * y] as number));
  const out: number[] = [];
  let covered = 0;
  for (let k = 0; k < n; k++) {
    const o = order[k] as number;
    const a = Math.max(0, (hitBuf[2 * o] as number) - maxLen);
    const b = hitBuf[2 * o + 1] as number;
    const last = out.length - 1;
    if (last > 0 && a <= (out[last] as number) + 1) {
      if (b > (out[last] as number)) {
        covered += b - (out[last] as number);
        out[last] = b;
      }
    } else {
      out.push(a, b);
      covered += b - a + 1;
    }
  }
  return covered * 5 > text.length * 4 ? null : out;
}

/** Calls onMatch(start, end) for each match of s on v (at most `limit`), as a full scan would. */
function execSignature(s: Signature, v: View, limit: number, onMatch: (start: number, end: number, text: string) => void): void {
  const text = v.text;
  const r = runnerOf(s);
  if (r.anchors && s.gate) {
    // Anchored: try the regex only at the words its match could start with, in text order.
    const idx = triggerIndex(v);
    let cand: number[] | undefined;
    let merged = false;
    for (const k of r.anchors) {
      const list = idx.starts.get(k);
      if (!list) continue;
      if (!cand) cand = list;
      else {
        cand = merged ? cand.concat(list) : [...cand, ...list];
        merged = true;
      }
    }
    if (!cand) return;
    if (merged) cand.sort((x, y) => x - y);
    const at = r.at as RegExp;
    let pos = 0;
    let n = 0;
    for (const p of cand) {
      if (p < pos) continue;
      at.lastIndex = p;
      const m = at.exec(text);
      if (m === null) continue;
      if (++n > limit) break;
      if (m[0].length === 0) continue;
      onMatch(p, p + m[0].length, m[0]);
      pos = p + m[0].length;
    }
    return;
  }
  const ranges = r.sticky ? windows(s, v, r.maxLen) : null;
  if (!ranges) {
    s.re.lastIndex = 0;
    let n = 0;
    for (let m = s.re.exec(text); m !== null && n < limit; m = s.re.exec(text), n++) {
      if (m[0].length === 0) {
        s.re.lastIndex++;
        continue;
      }
      onMatch(m.index, m.index + m[0].length, m[0]);
    }
    return;
  }
  const y = r.sticky as RegExp;
  let pos = 0;
  let n = 0;
  let ri = 0;
  while (ri < ranges.length && n < limit) {
    const a = Math.max(ranges[ri] as number, pos);
    const b = ranges[ri + 1] as number;
    if (a > b) {
      ri += 2;
      continue;
    }
    y.lastIndex = a;
    const m = y.exec(text);
    if (m === null) {
      pos = a + WIN + 1;
      continue;
    }
    const body = m[1] as string;
    const start = m.index + m[0].length - body.length;
    n++;
    if (body.length === 0) {
      pos = start + 1;
      continue;
    }
    onMatch(start, start + body.length, body);
    pos = start + body.length;
  }
}

/** First match of a signature on a view (windowed like the engine), or null. */
export function firstMatch(s: Signature, v: View): { start: number; end: number } | null {
  if (!gateOpen(s, v)) return null;
  let res: { start: number; end: number } | null = null;
  execSignature(s, v, 1, (start, end) => {
    res = { start, end };
  });
  return res;
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
  const plan = gatePlan(sigs);
  for (const v of vs) {
    const decoded = v.kind !== "plain";
    const open = openGates(plan, v);
    for (let i = 0; i < sigs.length; i++) {
      if (open[i] === 0) continue;
      const s = sigs[i] as Signature;
      if (s.kw && !s.kw.some((k) => v.text.includes(k))) continue;
      const base = tool && s.toolWeight !== undefined ? s.toolWeight : s.weight;
      if (base <= 0) continue;
      execSignature(s, v, MAX_MATCHES_PER_SIG, (ms, me, body) => {
        const span = toOriginal(v, ms, me);
        // An obfuscated match: the original text differs from what matched.
        const hidden = decoded || (v.obfuscated && text.slice(span.start, span.end).toLowerCase() !== body);
        matches.push({ sig: s, weight: Math.min(0.99, base + (hidden ? 0.15 : 0)), start: span.start, end: span.end });
      });
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

/**
 * Match spans of one signature on a view: as the engine runs it (null when the gate is closed),
 * or by a plain full scan (tests).
 */
export function matchSpans(s: Signature, v: View, engine = true): [number, number][] | null {
  const out: [number, number][] = [];
  if (engine) {
    if (!gateOpen(s, v)) return null;
    execSignature(s, v, 1e9, (a, b) => out.push([a, b]));
    return out;
  }
  const re = new RegExp(s.re.source, s.re.flags);
  for (let m = re.exec(v.text); m !== null; m = re.exec(v.text)) {
    if (m[0].length === 0) re.lastIndex++;
    else out.push([m.index, m.index + m[0].length]);
  }
  return out;
}
