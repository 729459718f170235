/** Per-step timing: a ring of recent durations per step, summarised as p50/p99. */
export class StepTimings {
  private readonly rings = new Map<string, { buf: Float64Array; n: number; count: number }>();
  constructor(private readonly size = 2048) {}

  record(step: string, ms: number): void {
    let r = this.rings.get(step);
    if (!r) {
      r = { buf: new Float64Array(this.size), n: 0, count: 0 };
      this.rings.set(step, r);
    }
    r.buf[r.count % this.size] = ms;
    r.count++;
    r.n = Math.min(r.n + 1, this.size);
  }

  summary(): Record<string, { count: number; p50_ms: number; p99_ms: number }> {
    const out: Record<string, { count: number; p50_ms: number; p99_ms: number }> = {};
    for (const [step, r] of this.rings) {
      const s = Array.from(r.buf.subarray(0, r.n)).sort((a, b) => a - b);
      const q = (p: number) => Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 1000) / 1000;
      out[step] = { count: r.count, p50_ms: q(0.5), p99_ms: q(0.99) };
    }
    return out;
  }
}
