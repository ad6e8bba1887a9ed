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
      const tracked = Promise.resolve(result).then(
        () => {
          this.status.sent++;
        },
        (error: unknown) => recordFailure(this.status, error, this.clock()),
      );
      const done = tracked.finally(() => {
        this.status.pending--;
        this.inFlight.delete(done);
      });
      this.inFlight.add(done);
    }
  }

  async close(deadline: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    await Promise.race([Promise.allSettled([...this.inFlight]), sleepUntil(deadline)]);
  }
}

/** Resolves at `deadline` (Date.now based), without keeping the process alive. */
export function sleepUntil(deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    timer.unref();
  });
}
