/**
 * One circuit breaker per upstream origin. After `threshold` consecutive failures (5xx,
 * timeouts, connection errors) it OPENS: calls fail fast for `cooldownMs` without touching
 * the upstream. Then it is HALF-OPEN: one trial call goes through; success closes it,
 * failure opens it again for another cooldown.
 */

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private st: BreakerState = "closed";
  readonly threshold: number;
  readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(opts: BreakerOptions = {}) {
    this.threshold = opts.threshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.st === "open" && this.now() - this.openedAt >= this.cooldownMs) this.st = "half_open";
    return this.st;
  }

  /** Milliseconds until a trial call is allowed (0 when calls may go through). */
  retryAfterMs(): number {
    return this.state === "open" ? Math.max(0, this.cooldownMs - (this.now() - this.openedAt)) : 0;
  }

  /** May a call go to the upstream now? In half-open state only one trial call at a time. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === "closed") return true;
    if (s === "open") return false;
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.st = "closed";
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.st === "half_open" || this.failures >= this.threshold) {
      this.st = "open";
      this.openedAt = this.now();
    }
  }

  /** A call that ended without telling us about upstream health (e.g. client went away). */
  release(): void {
    this.trialInFlight = false;
  }
}

/** Breakers by upstream origin. */
export class BreakerRegistry {
  private map = new Map<string, CircuitBreaker>();
  constructor(private readonly opts: BreakerOptions = {}) {}
  get(origin: string): CircuitBreaker {
    let b = this.map.get(origin);
    if (!b) this.map.set(origin, (b = new CircuitBreaker(this.opts)));
    return b;
  }
}
