/**
 * The `onAlert` callback: called with each firing and resolved transition, right
 * after an evaluation is applied. A returned promise is not awaited; a throw or a
 * rejection is counted, never propagated.
 */
import type { AlertEvent } from '../report';
import { notifierStatus, recordFailure, type Notifier } from './types';

export type AlertCallback = (event: AlertEvent) => void | Promise<void>;

export class CallbackNotifier implements Notifier {
  readonly status = notifierStatus('onAlert', 'callback');
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly callback: AlertCallback,
    private readonly clock: () => number,
  ) {}

  notify(events: readonly AlertEvent[]): void {
    for (const event of events) {
      if (event.to !== 'firing' && event.to !== 'resolved') continue;
      let result: void | Promise<void>;
      try {
        result = this.callback(event);
      } catch (error) {
        recordFailure(this.status, error, this.clock());
        continue;
      }
      if (result === null || typeof (result as Promise<void> | undefined)?.then !== 'function') {
        this.status.sent++;
        continue;
      }
      this.status.pending++;
      // settled after close() gave up on it: already counted as dropped
      const counted = (): boolean => !this.inFlight.has(done);
      const done: Promise<void> = Promise.resolve(result)
        .then(
          () => {
            if (!counted()) this.status.sent++;
          },
          (error: unknown) => {
            if (!counted()) recordFailure(this.status, error, this.clock());
          },
        )
        .finally(() => {
          if (counted()) return;
          this.status.pending--;
          this.inFlight.delete(done);
        });
      this.inFlight.add(done);
    }
  }

  /** Waits for the callbacks' promises until `deadline`; those still pending then are counted as dropped. */
  async close(deadline: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    // a referenced timer: the application awaits shutdown(), and an unref'd one let the
    // process exit before shutdown resolved when nothing else held it
    let hold: NodeJS.Timeout | undefined;
    const deadlinePassed = new Promise<void>((resolve) => (hold = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    // again while calls made meanwhile (an evaluation finishing) are still out, up to the deadline
    while (this.inFlight.size > 0 && Date.now() < deadline) await Promise.race([Promise.allSettled([...this.inFlight]), deadlinePassed]);
    clearTimeout(hold);
    this.status.dropped += this.inFlight.size;
    this.status.pending -= this.inFlight.size;
    this.inFlight.clear();
  }
}
