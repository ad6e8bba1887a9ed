/** Retry and circuit-breaker settings of the export targets. */
export interface BreakerPolicy {
  /** First backoff after a failure; doubles with each consecutive failure. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an opened circuit stays open before a half-open probe; doubles per failed probe. */
  openMs: number;
  maxOpenMs: number;
}

export type BreakerState = 'closed' | 'retrying' | 'open' | 'half-open';

/**
 * The health of one target: closed (healthy) → retrying (exponential backoff
 * with jitter) → open after `failureThreshold` consecutive failures → half-open
 * once `openMs` has passed, where one probe request decides: success closes the
 * circuit, failure opens it again for twice as long (up to `maxOpenMs`).
 * A Retry-After from the server is honoured: the target is not tried before it,
 * up to `maxOpenMs` (a server cannot switch a target off for good).
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  failures = 0;
  nextAttemptAt = 0;
  openUntil = 0;
  private opens = 0;
  private probing = false;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * When this target can take a request: 0 = now, a time in the future = wait
   * until then, Infinity = not until a probe in flight has answered.
   */
  readyAt(now: number): number {
    switch (this.state) {
      case 'closed':
        return 0;
      case 'retrying':
        return this.nextAttemptAt <= now ? 0 : this.nextAttemptAt;
      case 'open':
        if (now < this.openUntil) return this.openUntil;
        this.state = 'half-open';
        this.probing = false;
        return 0;
      case 'half-open':
        return this.probing ? Infinity : 0;
    }
  }

  /** True while the circuit is open or half-open (until a probe succeeds). */
  isOpen(now: number): boolean {
    this.readyAt(now);
    return this.state === 'open' || this.state === 'half-open';
  }

  /** A request is about to be sent; returns true when it is the half-open probe. */
  onSend(): boolean {
    if (this.state !== 'half-open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The probe was not sent after all: let another request be the probe. */
  releaseProbe(): void {
    this.probing = false;
  }

  onSuccess(): void {
    this.state = 'closed';
    this.failures = 0;
    this.opens = 0;
    this.probing = false;
    this.nextAttemptAt = 0;
  }

  /**
   * Records a failed request; returns the new state. While the circuit is open or
   * half-open only the probe's failure counts: requests sent before it opened
   * answer late and must not prolong it (a Retry-After still does).
   */
  onFailure(now: number, requestedMs?: number, wasProbe = false): BreakerState {
    const p = this.policy;
    const retryAfterMs = requestedMs === undefined ? undefined : Math.min(requestedMs, p.maxOpenMs);
    if ((this.state === 'open' || this.state === 'half-open') && !wasProbe) {
      if (retryAfterMs !== undefined) this.openUntil = Math.max(this.openUntil, now + retryAfterMs);
      return this.state;
    }
    this.failures++;
    if (wasProbe || this.failures >= p.failureThreshold) {
      this.open(now, retryAfterMs);
      return this.state;
    }
    if (retryAfterMs !== undefined && retryAfterMs > p.maxBackoffMs) {
      // The server asks for a longer pause than we would wait: fail over meanwhile.
      this.open(now, retryAfterMs);
      return this.state;
    }
    const backoff = Math.min(p.maxBackoffMs, p.initialBackoffMs * 2 ** (this.failures - 1));
    const jittered = backoff / 2 + this.random() * (backoff / 2);
    this.state = 'retrying';
    this.nextAttemptAt = now + Math.max(jittered, retryAfterMs ?? 0);
    return this.state;
  }

  private open(now: number, retryAfterMs: number | undefined): void {
    const p = this.policy;
    const duration = Math.min(p.maxOpenMs, p.openMs * 2 ** this.opens);
    this.opens++;
    this.state = 'open';
    this.probing = false;
    this.openUntil = now + Math.max(duration, retryAfterMs ?? 0);
  }
}
