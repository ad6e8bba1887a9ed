/**
 * Alert states with Prometheus' semantics, in typed arrays (one slot per alert):
 *
 * - inactive -> pending when the condition starts to hold; pending -> firing once
 *   it has held for `for` (with `for: 0` it fires in the same evaluation);
 * - pending -> inactive when the condition stops holding before that;
 * - firing -> inactive ("resolved") when the condition has not held for
 *   `keep_firing_for`, counted from the first evaluation where it did not hold;
 *   a condition that holds again meanwhile keeps the alert firing, untouched.
 */

export const INACTIVE = 0;
export const PENDING = 1;
export const FIRING = 2;

export const STATE_NAMES = ['inactive', 'pending', 'firing'] as const;

/** What a step did. */
export type Transition = 'pending' | 'firing' | 'resolved' | 'inactive';

export class AlertStateTable {
  readonly state: Uint8Array;
  /** When the condition started to hold (pending or firing alerts). */
  readonly activeAt: Float64Array;
  readonly firedAt: Float64Array;
  /** First evaluation without the condition while firing; NaN when the condition holds. */
  readonly keepFiringSince: Float64Array;
  readonly value: Float64Array;

  constructor(readonly size: number) {
    this.state = new Uint8Array(size);
    this.activeAt = new Float64Array(size);
    this.firedAt = new Float64Array(size);
    this.keepFiringSince = new Float64Array(size).fill(NaN);
    this.value = new Float64Array(size);
  }

  /** Advances alert `i` to `nowMs`; returns the transition, if any. O(1), no allocation. */
  step(i: number, active: boolean, value: number, nowMs: number, forMs: number, keepFiringForMs: number): Transition | undefined {
    this.value[i] = value;
    switch (this.state[i]) {
      case INACTIVE:
        if (!active) return undefined;
        this.activeAt[i] = nowMs;
        if (forMs <= 0) return this.fire(i, nowMs);
        this.state[i] = PENDING;
        return 'pending';
      case PENDING:
        if (!active) {
          this.state[i] = INACTIVE;
          return 'inactive';
        }
        return nowMs - this.activeAt[i] >= forMs ? this.fire(i, nowMs) : undefined;
      default: // FIRING
        if (active) {
          this.keepFiringSince[i] = NaN;
          return undefined;
        }
        if (keepFiringForMs > 0) {
          if (Number.isNaN(this.keepFiringSince[i])) this.keepFiringSince[i] = nowMs;
          if (nowMs - this.keepFiringSince[i] < keepFiringForMs) return undefined;
        }
        this.state[i] = INACTIVE;
        this.keepFiringSince[i] = NaN;
        return 'resolved';
    }
  }

  private fire(i: number, nowMs: number): Transition {
    this.state[i] = FIRING;
    this.firedAt[i] = nowMs;
    this.keepFiringSince[i] = NaN;
    return 'firing';
  }
}
