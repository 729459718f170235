/**
 * Detector steps: wrap the detectors (../detectors/index.ts) as pipeline steps. A step scans
 * the texts of its phase — request segments (and the arguments of MCP / hook tool calls)
 * before the call, response segments (and the arguments of model-emitted tool calls) after —
 * and acts on findings as its action says: block → deny, redact → rewrite the spans, notify
 * or log → record. Evidence carries type, span and a short hash, never the matched text.
 */
import { detectors, type Finding } from "../detectors/index.ts";
import type { Aspect } from "../../policy/types.ts";
import type { CallContext, Phase, StepDef, StepEnv, StepResult, TextSegment } from "../types.ts";
import { act, num, setPath, shortHash, strs, toolsInScope, walkStrings } from "./_util.ts";

/** A piece of text a step can read and rewrite. */
export interface Target {
  path: string;
  kind: TextSegment["kind"];
  text: string;
  set(text: string): void;
}

/** Texts of a phase; `toolCalls: false` leaves out the arguments of governed tool calls. */
export function targets(ctx: CallContext, phase: Phase, kinds?: string[], opts: { toolCalls?: boolean } = {}): Target[] {
  const out: Target[] = [];
  const segs = phase === "after_call" ? ctx.response : ctx.request;
  for (const seg of segs) {
    if (kinds && !kinds.includes(seg.kind)) continue;
    out.push({ path: seg.path, kind: seg.kind, text: seg.text, set: (t) => (seg.text = t) });
  }
  if (opts.toolCalls !== false && (!kinds || kinds.includes("tool_args"))) {
    for (const call of toolsInScope(ctx, phase)) {
      walkStrings(call.arguments, (p, s) => {
        out.push({ path: `tool:${call.id ?? call.name}.${p}`, kind: "tool_args", text: s, set: (t) => setPath(call.arguments, p, t) });
      });
    }
  }
  return out;
}

/**
 * Memo of detector results by (detector, kind, threshold, text). Detectors are pure functions of
 * these, and agents re-send the same texts call after call (system prompt, tool definitions,
 * every earlier turn of the conversation), so a governed call scans mostly what an earlier call
 * already scanned. Bounded (entries and characters, oldest dropped first); long texts are not
 * kept. A detector that throws is never memoised (the step fails closed every time).
 */
const MEMO_MAX_ENTRIES = 4096;
const MEMO_MAX_TEXT = 32 * 1024;
const MEMO_MAX_CHARS = 16 * 1024 * 1024;
type Bucket = Map<string, readonly Finding[]>;
/** detector → kind → threshold → (text → findings) */
const memo = new Map<string, Map<string, Map<number, Bucket>>>();
let memoEntries = 0;
let memoChars = 0;
/**
 * Insertion order of the memo's entries (oldest at `fifoHead`): eviction is O(1). Walking a
 * bucket's keys from the front after many deletions is not — the engine skips every deleted slot.
 */
let fifo: Array<[Bucket, string] | undefined> = [];
let fifoHead = 0;

function remember(bucket: Bucket, text: string, found: readonly Finding[]): void {
  if (text.length > MEMO_MAX_TEXT) return;
  while ((memoEntries >= MEMO_MAX_ENTRIES || memoChars + text.length > MEMO_MAX_CHARS) && memoEntries > 0) {
    const oldest = fifo[fifoHead];
    fifo[fifoHead++] = undefined;
    if (!oldest) break; // cannot happen: every entry has its place in fifo
    if (oldest[0].delete(oldest[1])) {
      memoEntries--;
      memoChars -= oldest[1].length;
    }
  }
  if (fifoHead > MEMO_MAX_ENTRIES) {
    fifo = fifo.slice(fifoHead);
    fifoHead = 0;
  }
  bucket.set(text, found);
  fifo.push([bucket, text]);
  memoEntries++;
  memoChars += text.length;
}

function bucketOf(name: string, kind: string, threshold: number): Bucket {
  let byKind = memo.get(name);
  if (!byKind) memo.set(name, (byKind = new Map()));
  let byThreshold = byKind.get(kind);
  if (!byThreshold) byKind.set(kind, (byThreshold = new Map()));
  let bucket = byThreshold.get(threshold);
  if (!bucket) byThreshold.set(threshold, (bucket = new Map()));
  return bucket;
}

const copies = (fs: readonly Finding[]): Finding[] => (fs.length === 0 ? [] : fs.map((f) => ({ ...f })));

/**
 * Texts shorter than this are not memoised: the detectors take a few microseconds on them, about
 * what remembering them costs (a tool argument such as a query is new on every call). The last
 * few short scans are kept instead, for the steps of one call that scan the same text again
 * (detect_pii and redact_pii_in_prompt, a tool argument that is also a request segment).
 */
const MEMO_MIN_TEXT = 64;
const RECENT = 32;
const recent: Array<{ name: string; kind: string; threshold: number; text: string; found: readonly Finding[] } | undefined> = new Array(RECENT);
let recentAt = 0;
const NOTHING: readonly Finding[] = Object.freeze([]);

const frozen = (raw: Finding[], threshold: number): readonly Finding[] =>
  raw.length === 0 ? NOTHING : Object.freeze(raw.filter((f) => f.score >= threshold).map((f) => Object.freeze({ ...f })));

export function runDetector(name: string, text: string, kind: TextSegment["kind"], threshold: number): Finding[] {
  const d = detectors[name];
  if (!d) throw new Error(`detector ${name} is not available in this build`);
  if (text.length < MEMO_MIN_TEXT) {
    for (let i = 0; i < RECENT; i++) {
      const r = recent[i];
      if (r !== undefined && r.text === text && r.name === name && r.kind === kind && r.threshold === threshold) return copies(r.found);
    }
    const found = frozen(d.detect(text, { threshold, kind }), threshold);
    recent[recentAt] = { name, kind, threshold, text, found };
    recentAt = (recentAt + 1) % RECENT;
    return copies(found);
  }
  const bucket = bucketOf(name, kind, threshold);
  const hit = bucket.get(text);
  if (hit) return copies(hit);
  const found = frozen(d.detect(text, { threshold, kind }), threshold);
  remember(bucket, text, found);
  return copies(found);
}

/** Replace spans (merged when they overlap) using `replace(finding, original)`. */
export function rewrite(text: string, findings: Finding[], replace: (f: Finding, original: string) => string): string {
  const spans = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = "";
  let pos = 0;
  for (const f of spans) {
    if (f.start < pos) continue; // overlaps an earlier span already replaced
    out += text.slice(pos, f.start) + replace(f, text.slice(f.start, f.end));
    pos = f.end;
  }
  return out + text.slice(pos);
}

/** Reversible tokenisation: the same original always gets the same «TYPE_N» placeholder. */
export function placeholderFor(vault: Map<string, string>, type: string, original: string): string {
  for (const [ph, v] of vault) if (v === original) return ph;
  const base = type.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
  let n = 1;
  const re = new RegExp(`^«${base}_\\d+»$`);
  for (const ph of vault.keys()) if (re.test(ph)) n++;
  const ph = `«${base}_${n}»`;
  vault.set(ph, original);
  return ph;
}

export interface DetectorStepSpec {
  name: string;
  /** Detector names (keys of detectors) this step runs; config.detectors may narrow it. */
  detectors: string[];
  phase: Phase;
  aspect?: Aspect | "none";
  /** Which segment kinds to scan by default. */
  kinds?: string[];
  threshold?: number;
  /** How a "redact" action rewrites: reversible placeholders (request) or [REDACTED:type] (response). */
  redaction?: "reversible" | "mask";
  label: string;
}

export function evidenceOf(hits: Array<{ t: Target; f: Finding }>): Array<Record<string, unknown>> {
  return hits.slice(0, 50).map(({ t, f }) => ({
    detector: f.detector,
    type: f.type,
    path: t.path,
    start: f.start,
    end: f.end,
    score: Math.round(f.score * 100) / 100,
    sha256_12: shortHash(t.text.slice(f.start, f.end)),
  }));
}

export function detectorStep(spec: DetectorStepSpec): StepDef {
  return {
    name: spec.name,
    phase: spec.phase,
    aspect: spec.aspect ?? "pipeline",
    concurrent: spec.phase === "before_call",
    timeout_ms: 1000,
    run(ctx: CallContext, env: StepEnv): StepResult {
      const c = env.step.config ?? {};
      const names = strs(c.detectors, spec.detectors);
      const threshold = num(c.threshold, spec.threshold ?? 0.5);
      const kinds = c.kinds === undefined ? spec.kinds : strs(c.kinds);
      const ts = targets(ctx, env.phase, kinds);
      const hits: Array<{ t: Target; f: Finding }> = [];
      // a text in two places (an MCP argument is a request segment and the tool call's argument)
      // is scanned once: runDetector remembers what it just scanned, and its findings go to both
      for (const t of ts) for (const n of names) for (const f of runDetector(n, t.text, t.kind, threshold)) hits.push({ t, f });
      if (hits.length === 0) return { decision: "allow", evidence: { scanned: ts.length } };
      const types = [...new Set(hits.map((h) => h.f.type))];
      const evidence = { scanned: ts.length, count: hits.length, findings: evidenceOf(hits) };
      const decision = act(env.action);
      if (decision === "redact") {
        redactHits(ctx, hits, spec.redaction ?? "mask");
        return { decision: "redact", reason: `${spec.label} redacted (${types.join(", ")})`, evidence };
      }
      return { decision, reason: `${spec.label} found: ${types.join(", ")} (${spec.name})`, evidence };
    },
  };
}

export function redactHits(ctx: CallContext, hits: Array<{ t: Target; f: Finding }>, how: "reversible" | "mask"): void {
  const byTarget = new Map<Target, Finding[]>();
  for (const h of hits) byTarget.set(h.t, [...(byTarget.get(h.t) ?? []), h.f]);
  for (const [t, fs] of byTarget) {
    const next = rewrite(t.text, fs, (f, orig) => (how === "reversible" ? placeholderFor(ctx.pii_vault, f.type, orig) : `[REDACTED:${f.type}]`));
    t.set(next);
    t.text = next;
  }
}
