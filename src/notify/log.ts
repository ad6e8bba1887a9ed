/** The structured log line: one line per firing or resolved transition, JSON or logfmt. */
import type { LogNotifierConfig } from '../config/notifiers-section';
import type { AlertEvent } from '../report';
import { notifierStatus, recordFailure, type Notifier } from './types';

export class LogNotifier implements Notifier {
  readonly status = notifierStatus('log', 'log');

  constructor(
    private readonly config: LogNotifierConfig,
    private readonly clock: () => number,
  ) {}

  notify(events: readonly AlertEvent[]): void {
    for (const event of events) {
      if (event.to !== 'firing' && event.to !== 'resolved') continue;
      try {
        const stream = this.config.stream === 'stdout' ? process.stdout : process.stderr;
        stream.write(`${formatLine(event, this.config.format)}\n`);
        this.status.sent++;
      } catch (error) {
        recordFailure(this.status, error, this.clock());
      }
    }
  }

  async close(): Promise<void> {}
}

/** The fields of a log line, in order. */
export function logFields(event: AlertEvent): Record<string, unknown> {
  return {
    time: event.at,
    level: event.to === 'firing' ? 'warn' : 'info',
    msg: `spanmeter alert ${event.to}`,
    alertname: event.alertname,
    status: event.to,
    severity: event.severity,
    fingerprint: event.fingerprint,
    value: event.value,
    value_unit: event.valueUnit,
    starts_at: event.startsAt,
    ends_at: event.endsAt,
    summary: event.annotations.summary,
    labels: event.labels,
  };
}

export function formatLine(event: AlertEvent, format: LogNotifierConfig['format']): string {
  const fields = logFields(event);
  if (format === 'json') return JSON.stringify(fields);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (key === 'labels') {
      for (const [name, v] of Object.entries(value as Record<string, string>)) parts.push(`labels.${name}=${logfmtValue(v)}`);
    } else {
      parts.push(`${key}=${logfmtValue(value)}`);
    }
  }
  return parts.join(' ');
}

function logfmtValue(value: unknown): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}
