/**
 * A webhook notifier: each evaluation's firing and resolved alerts (and reminders
 * of alerts still firing, every `repeat_interval`) become payloads in a bounded
 * queue, delivered one at a time with a timeout and retries with exponential
 * backoff. Evaluation only enqueues; a slow or failing receiver delays nothing but
 * its own queue, and every failure is counted.
 */
import { redactUrl, type WebhookConfig } from '../config/notifiers-section';
import type { AlertEvent, NotifierStatus } from '../report';
import { apiAlerts, webhookPayloads } from './alertmanager';
import { errorMessage, isWebhookStatus } from '../errors';
import { postJson } from './http';
import { alertOfEvent, notifierStatus, recordFailure, type Notifier, type NotifyAlert } from './types';

export class WebhookNotifier implements Notifier {
  readonly status: NotifierStatus;
  private readonly url: URL;
  private readonly queue: string[] = [];
  /** Fingerprint -> when it was last sent as firing. */
  private readonly lastSent = new Map<string, number>();
  private draining: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  /** Set by `close()`: a retry due after this is not waited for. */
  private closeDeadline = Infinity;
  /** The backoff sleep in progress: when it ends, and how to end it early. */
  private backoff: { until: number; wake: () => void } | undefined;

  /**
   * `evaluationIntervalMs`: how often the notifier is called; for `alertmanager_api`,
   * a firing alert stays valid for 4 x max(repeat_interval, evaluation interval).
   */
  constructor(
    private readonly config: WebhookConfig,
    private readonly externalUrl: string,
    private readonly clock: () => number,
    private readonly evaluationIntervalMs = 0,
  ) {
    this.url = new URL(config.url);
    this.status = { ...notifierStatus(config.name, 'webhook'), url: redactUrl(this.url.href) };
  }

  notify(events: readonly AlertEvent[], firing: readonly NotifyAlert[], nowMs: number): void {
    const alerts: NotifyAlert[] = [];
    const included = new Set<string>();
    for (const event of events) {
      if (event.to === 'firing') {
        alerts.push(alertOfEvent(event));
        included.add(event.fingerprint);
        this.lastSent.set(event.fingerprint, nowMs);
      } else if (event.to === 'resolved') {
        this.lastSent.delete(event.fingerprint);
        if (this.config.sendResolved) alerts.push(alertOfEvent(event));
        included.add(event.fingerprint);
      }
    }
    if (this.config.repeatIntervalMs > 0) {
      for (const alert of firing) {
        if (included.has(alert.fingerprint)) continue;
        const last = this.lastSent.get(alert.fingerprint);
        if (last !== undefined && nowMs - last < this.config.repeatIntervalMs) continue;
        alerts.push(alert);
        this.lastSent.set(alert.fingerprint, nowMs);
      }
    }
    if (alerts.length === 0) return;
    for (const body of this.bodies(alerts, nowMs)) this.enqueue(body);
  }

  private bodies(alerts: NotifyAlert[], nowMs: number): string[] {
    if (this.config.format === 'alertmanager_api') {
      // As Prometheus: valid until 4 re-sends, a re-send being at most every evaluation.
      const resendMs = Math.max(this.config.repeatIntervalMs, this.evaluationIntervalMs);
      return [JSON.stringify(apiAlerts(alerts, nowMs, resendMs, this.externalUrl))];
    }
    return webhookPayloads(alerts, {
      receiver: this.config.receiver,
      groupBy: this.config.groupBy,
      maxAlerts: this.config.maxAlerts,
      externalUrl: this.externalUrl,
    }).map((payload) => JSON.stringify(payload));
  }

  private enqueue(body: string): void {
    // an evaluation that ran while the processor shut down: its payloads are not sent, and counted
    if (this.closed) {
      this.status.dropped++;
      return;
    }
    if (this.queue.length >= this.config.queueSize) {
      this.queue.shift();
      this.status.dropped++;
    }
    this.queue.push(body);
    this.status.pending = this.queue.length + (this.draining === undefined ? 0 : 1);
    if (this.draining === undefined) this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    for (let body = this.queue.shift(); body !== undefined; body = this.queue.shift()) {
      this.status.pending = this.queue.length + 1;
      await this.deliver(body);
      this.status.pending = this.queue.length;
    }
  }

  /** One payload, with retries; never rejects. */
  private async deliver(body: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await postJson(this.url, body, this.config.headers, this.config.timeoutMs, this.abort.signal);
        this.status.sent++;
        this.status.lastSuccessAt = new Date(this.clock()).toISOString();
        return;
      } catch (error) {
        const retryable = !isWebhookStatus(error) || error.retryable;
        if (this.abort.signal.aborted) {
          this.status.dropped++;
          return;
        }
        if (!retryable || attempt >= this.config.maxRetries) {
          recordFailure(this.status, error, this.clock());
          return;
        }
        this.status.retries++;
        this.status.lastError = errorMessage(error);
        const delay = Math.min(this.config.maxBackoffMs, this.config.retryBackoffMs * 2 ** attempt);
        const until = Date.now() + delay;
        // At shutdown, a retry due after the deadline would be abandoned anyway: count it now.
        if (until <= this.closeDeadline) await this.sleep(until);
        if (this.abort.signal.aborted || until > this.closeDeadline) {
          this.status.dropped++;
          return;
        }
      }
    }
  }

  /** Resolves at `until`, when the abort fires, or when `close()` cuts the backoff short; unref'd. */
  private sleep(until: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        this.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, until - Date.now()));
      timer.unref();
      signal.addEventListener('abort', wake, { once: true });
      this.backoff = { until, wake };
      if (signal.aborted) wake();
    });
  }

  /** Delivers what is queued until `deadline`, then drops the rest (counted). */
  async close(deadline: number): Promise<void> {
    this.closed = true;
    this.closeDeadline = deadline;
    // A backoff that ends after the deadline: its payload is abandoned (counted) now.
    if (this.backoff !== undefined && this.backoff.until > deadline) this.backoff.wake();
    const draining = this.draining;
    if (draining !== undefined) {
      // Sockets and backoff timers are unref'd: hold the process while delivering, up to the deadline.
      let hold: NodeJS.Timeout | undefined;
      await Promise.race([draining, new Promise<void>((resolve) => (hold = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(hold);
    }
    if (this.draining !== undefined || this.queue.length > 0) {
      this.status.dropped += this.queue.length;
      this.queue.length = 0;
      this.abort.abort();
      await this.draining;
    }
    this.status.pending = 0;
  }
}
