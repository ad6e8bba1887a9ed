/** What notifiers receive and report. */
import { errorMessage } from '../errors';
import type { AlertEvent, NotifierStatus } from '../report';

/** An alert as notifiers see it: firing (now, or still) or resolved. */
export interface NotifyAlert {
  status: 'firing' | 'resolved';
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  fingerprint: string;
  /** Epoch ms when it started firing. */
  startsAtMs: number;
  /** Epoch ms when it resolved (resolved alerts). */
  endsAtMs?: number;
}

export interface Notifier {
  readonly status: NotifierStatus;
  /**
   * One evaluation's news: its firing/resolved transitions, and every alert that is
   * firing now (for reminders). Must return at once; delivery happens later.
   */
  notify(events: readonly AlertEvent[], firing: readonly NotifyAlert[], nowMs: number): void;
  /** Delivers what is queued, giving up at `deadline` (epoch ms of `Date.now`). */
  close(deadline: number): Promise<void>;
}

/** A fresh status record. */
export function notifierStatus(name: string, type: NotifierStatus['type']): NotifierStatus {
  return { name, type, sent: 0, failed: 0, retries: 0, dropped: 0, pending: 0 };
}

/** Records a failure on a status. */
export function recordFailure(status: NotifierStatus, error: unknown, nowMs: number): void {
  status.failed++;
  status.lastError = errorMessage(error);
  status.lastErrorAt = new Date(nowMs).toISOString();
}

/** The alert of a firing or resolved transition, as notifiers see it. */
export function alertOfEvent(event: AlertEvent): NotifyAlert {
  return {
    status: event.to === 'resolved' ? 'resolved' : 'firing',
    labels: event.labels,
    annotations: event.annotations,
    fingerprint: event.fingerprint,
    startsAtMs: Date.parse(event.startsAt ?? event.at),
    endsAtMs: event.endsAt === undefined ? undefined : Date.parse(event.endsAt),
  };
}
