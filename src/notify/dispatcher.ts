/** Fans an evaluation's news out to every notifier; a notifier that throws is counted, never propagated. */
import type { AlertEvent, NotifierStatus } from '../report';
import { recordFailure, type Notifier, type NotifyAlert } from './types';

export class Dispatcher {
  constructor(
    private readonly notifiers: readonly Notifier[],
    private readonly clock: () => number,
  ) {}

  get size(): number {
    return this.notifiers.length;
  }

  dispatch(events: readonly AlertEvent[], firing: readonly NotifyAlert[], nowMs: number): void {
    for (const notifier of this.notifiers) {
      try {
        notifier.notify(events, firing, nowMs);
      } catch (error) {
        recordFailure(notifier.status, error, this.clock());
      }
    }
  }

  statuses(): NotifierStatus[] {
    return this.notifiers.map((n) => ({ ...n.status }));
  }

  async close(deadline: number): Promise<void> {
    await Promise.allSettled(this.notifiers.map((n) => n.close(deadline)));
  }
}
