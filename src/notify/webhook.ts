/**
 * A webhook notifier: each evaluation's firing and resolved alerts (and reminders
 * of alerts still firing, every `repeat_interval`) become payloads in a bounded
 * queue, delivered one at a time with a timeout and retries with exponential
 * backoff. Evaluation only enqueues; a slow or failing receiver delays nothing but
 * its own queue, and every failure is counted.
 */
import type { WebhookConfig } from '../config/notifiers-section';
import type { AlertEvent, NotifierStatus } from '../report';
import { sleepUntil } from './callback';
import { apiAlerts, webhookPayloads } from './alertmanager';
import { isWebhookStatus } from '../errors';
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

  constructor(
    private readonly config: WebhookConfig,
    private readonly externalUrl: string,
    private readonly clock: () => number,
  ) {
    this.url = new URL(config.url);
    this.status = { ...notifierStatus(config.name, 'webhook'), url: redact(this.url) };
  }

  notify(events: readonly AlertEvent[], firing: readonly NotifyAlert[], nowMs: number): void {
    if (this.closed) return;
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
    if (this.config.format === 'alertmanager_api') return [JSON.stringify(apiAlerts(alerts, nowMs, this.config.repeatIntervalMs, this.externalUrl))];
    return webhookPayloads(alerts, {
      receiver: this.config.receiver,
      groupBy: this.config.groupBy,
      maxAlerts: this.config.maxAlerts,
      externalUrl: this.externalUrl,
    }).map((payload) => JSON.stringify(payload));
  }

  private enqueue(body: string): void {
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
        this.status.lastError = error instanceof Error ? error.message : String(error);
        const delay = Math.min(this.config.maxBackoffMs, this.config.retryBackoffMs * 2 ** attempt);
        await sleepUntil(Date.now() + delay);
        if (this.abort.signal.aborted) {
          this.status.dropped++;
          return;
        }
      }
    }
  }

  /** Delivers what is queued until `deadline`, then drops the rest (counted). */
  async close(deadline: number): Promise<void> {
    this.closed = true;
    const draining = this.draining;
    if (draining !== undefined) await Promise.race([draining, sleepUntil(deadline)]);
    if (this.draining !== undefined || this.queue.length > 0) {
      this.status.dropped += this.queue.length;
      this.queue.length = 0;
      this.abort.abort();
      await this.draining;
    }
    this.status.pending = 0;
  }
}

/** The URL without credentials, for reports. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username !== '' || copy.password !== '') {
    copy.username = '***';
    copy.password = '';
  }
  return copy.href;
}
