import { performance } from 'node:perf_hooks';

/**
 * Epoch milliseconds that never step: the wall clock when the process
 * started, advanced by the monotonic clock. `Date.now()` steps when the
 * system clock is set (NTP, a VM resuming): one step forward and back again
 * put every series in a slice that no window reached until the wall clock
 * caught up, and the windows went blind for the length of the step.
 */
export function monotonicEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The range of a `Date` (ECMA-262): ±8.64e15 ms. */
const MAX_DATE_MS = 8.64e15;

/**
 * The clock a processor and its extensions read: the configured one, made
 * safe. A reading that throws, is not a finite number or is beyond a
 * `Date`'s range (a clock in nanoseconds, say: every timestamp of the report
 * threw a RangeError, and `stats()`, `shutdown()` and `evaluateNow()`
 * rejected) is counted and replaced by the last good one
 * (`monotonicEpochMs()` before any), so that a broken clock neither throws
 * into `onEnd` nor loses a batch.
 */
export class SafeClock {
  /** Readings that threw, were not finite numbers or were beyond a `Date`'s range. */
  failures = 0;
  private last = Number.NaN;

  constructor(private readonly source: () => number) {}

  /** The current time in epoch milliseconds. */
  readonly now = (): number => {
    let t: unknown;
    try {
      t = this.source();
    } catch {
      t = undefined;
    }
    if (typeof t === 'number' && t >= -MAX_DATE_MS && t <= MAX_DATE_MS) {
      this.last = t;
      return t;
    }
    this.failures++;
    return Number.isNaN(this.last) ? monotonicEpochMs() : this.last;
  };
}
