/**
 * The streaming output guard for one run of text (an Anthropic text block, an OpenAI choice,
 * a Responses output_text part). Text is inspected as it flows and released with a bounded
 * hold-back: the trailing run of non-space characters plus a small margin, never more than
 * HOLD_MAX_BYTES (1 KiB). A secret split across chunks stays unreleased until it is whole,
 * so the detector sees all of it; text already released is kept as look-behind context so
 * keyword-anchored rules still fire.
 *
 * The inspector is the pipeline's own response-side text steps run over the window (see
 * stream.ts); it returns a block or the window rewritten (redactions). A block cuts the
 * stream; a rewrite is applied to the unreleased text before it goes out. A rewrite that
 * would need to change text already released also cuts (fail closed).
 */

export const HOLD_MAX_BYTES = 1024;
/** How far back a run of number-like groups is held (longest: an IBAN written in groups of four). */
const NUMBER_RUN_CHARS = 48;
/** Longest single group in such a run. */
const NUMBER_GROUP_CHARS = 12;
const LOOKBEHIND_CHARS = 256;

export interface InspectResult {
  block?: { step: string; reason: string };
  /** The window after redaction steps (same as the input when nothing changed). */
  text: string;
  /** Steps that rewrote the window. */
  redacted_by?: string[];
}

export type Inspector = (window: string) => InspectResult | Promise<InspectResult>;

export interface GuardStep {
  /** Text to send to the client now (already restored / redacted). */
  release: string;
  cut?: { step: string; reason: string };
}

export class TextGuard {
  /** Everything the upstream sent (after in-stream redactions), for the final after_call. */
  raw = "";
  /** Everything released to the client. */
  out = "";
  redactions = 0;
  private pending = "";
  private tail = "";
  private cut_: { step: string; reason: string } | undefined;

  constructor(
    private readonly inspect: Inspector,
    /** Rewrite applied at release (PII placeholders → originals). */
    private readonly restore: (s: string) => string = (s) => s,
    /** Tokens that must not be split at the release point (PII placeholders). */
    private readonly atomic: () => string[] = () => [],
    private readonly holdMaxBytes = HOLD_MAX_BYTES,
  ) {}

  get cutBy(): { step: string; reason: string } | undefined {
    return this.cut_;
  }

  /** Unreleased text (for the final check at the end of the stream). */
  get held(): string {
    return this.pending;
  }

  async push(delta: string): Promise<GuardStep> {
    if (this.cut_) return { release: "", cut: this.cut_ };
    this.pending += delta;
    return this.step(false);
  }

  /** End of this run of text: inspect and release everything left. */
  async flush(): Promise<GuardStep> {
    if (this.cut_) return { release: "", cut: this.cut_ };
    return this.step(true);
  }

  private async step(final: boolean): Promise<GuardStep> {
    if (this.pending.length === 0) return { release: "" };
    // nothing could go out yet (a word still arriving): inspect when something can, or at the end
    let n = final ? this.pending.length : this.releasePoint();
    if (n <= 0) return { release: "" };
    const window = this.tail + this.pending;
    const r = await this.inspect(window);
    if (r.block) {
      this.cut_ = r.block;
      this.raw += this.pending;
      this.pending = "";
      return { release: "", cut: r.block };
    }
    if (r.text !== window) {
      let p = 0;
      const max = Math.min(r.text.length, window.length);
      while (p < max && r.text.charCodeAt(p) === window.charCodeAt(p)) p++;
      if (p < this.tail.length) {
        this.cut_ = { step: r.redacted_by?.[0] ?? "stream_guard", reason: "a redaction was needed in text already sent; the stream was stopped" };
        this.raw += this.pending;
        this.pending = "";
        return { release: "", cut: this.cut_ };
      }
      this.pending = r.text.slice(this.tail.length);
      this.redactions++;
      n = final ? this.pending.length : this.releasePoint(); // the rewrite moved the boundaries
    }
    if (n <= 0) return { release: "" };
    const chunk = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    this.raw += chunk;
    this.tail = (this.tail + chunk).slice(-LOOKBEHIND_CHARS);
    const released = this.restore(chunk);
    this.out += released;
    return { release: released };
  }

  /** How much of `pending` may go out now. */
  private releasePoint(): number {
    const p = this.pending;
    let r = holdStart(p);
    // …but never hold more than holdMaxBytes
    let bytes = 0;
    let j = p.length;
    while (j > r) {
      const c = p.charCodeAt(j - 1);
      const b = c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3; // a surrogate pair is 4 bytes
      if (bytes + b > this.holdMaxBytes) break;
      bytes += b;
      j--;
    }
    r = j;
    if (r <= 0) return 0;
    // never split a placeholder or a surrogate pair
    for (const tok of this.atomic()) {
      if (!tok) continue;
      let from = Math.max(0, r - tok.length + 1);
      for (;;) {
        const at = p.indexOf(tok, from);
        if (at < 0 || at >= r) break;
        if (at + tok.length > r) {
          r = at;
          break;
        }
        from = at + 1;
      }
    }
    const c = p.charCodeAt(r - 1);
    if (c >= 0xd800 && c <= 0xdbff) r--;
    return r;
  }
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 0xa0 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a);
const hasLower = (s: string) => /\p{Ll}/u.test(s);
const hasDigit = (s: string) => /\p{Nd}/u.test(s);

/** Where the held (not yet releasable) suffix of `p` starts. */
export function holdStart(p: string): number {
  // the trailing run of non-space characters
  let i = p.length;
  while (i > 0 && !isSpace(p.charCodeAt(i - 1))) i--;
  let start = i;
  // number-like groups before it: no lowercase letters, short, and at least one digit in the run
  let digit = hasDigit(p.slice(i));
  let j = i;
  for (;;) {
    let w = j;
    while (w > 0 && isSpace(p.charCodeAt(w - 1)) && j - w < 2) w--;
    if (w === j || w === 0 || isSpace(p.charCodeAt(w - 1))) break;
    let g = w;
    while (g > 0 && !isSpace(p.charCodeAt(g - 1))) g--;
    const group = p.slice(g, w);
    if (group.length > NUMBER_GROUP_CHARS || p.length - g > NUMBER_RUN_CHARS || hasLower(group)) break;
    if (hasDigit(group)) digit = true;
    j = g;
    if (digit) start = g;
  }
  return start;
}
