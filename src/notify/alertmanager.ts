/**
 * Alertmanager's formats:
 * - the webhook payload, version 4, which Alertmanager POSTs to webhook receivers
 *   (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config);
 * - the list of alerts that Prometheus POSTs to Alertmanager's `/api/v2/alerts`.
 */
import type { NotifyAlert } from './types';

/** Go's zero time, which Alertmanager writes as `endsAt` of firing alerts. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** The Alertmanager webhook payload, version 4. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

export interface PayloadOptions {
  receiver: string;
  groupBy: readonly string[];
  /** 0 = no limit. */
  maxAlerts: number;
  externalUrl: string;
}

/** Splits alerts into groups by the `groupBy` label values and builds one payload per group. */
export function webhookPayloads(alerts: readonly NotifyAlert[], options: PayloadOptions): WebhookPayload[] {
  const groups = new Map<string, { labels: Record<string, string>; alerts: NotifyAlert[] }>();
  for (const alert of alerts) {
    const labels: Record<string, string> = {};
    for (const name of [...options.groupBy].sort()) {
      if (alert.labels[name] !== undefined) labels[name] = alert.labels[name];
    }
    const key = labelSetString(labels);
    let group = groups.get(key);
    if (group === undefined) {
      group = { labels, alerts: [] };
      groups.set(key, group);
    }
    group.alerts.push(alert);
  }
  const payloads: WebhookPayload[] = [];
  for (const [key, group] of groups) {
    const kept = options.maxAlerts > 0 ? group.alerts.slice(0, options.maxAlerts) : group.alerts;
    payloads.push({
      version: '4',
      // Alertmanager: the route's key, then the group labels; spanmeter has one route, `{}`.
      groupKey: `{}:${key}`,
      truncatedAlerts: group.alerts.length - kept.length,
      status: group.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      receiver: options.receiver,
      groupLabels: group.labels,
      commonLabels: common(group.alerts.map((a) => a.labels)),
      commonAnnotations: common(group.alerts.map((a) => a.annotations)),
      externalURL: options.externalUrl,
      alerts: kept.map((a) => ({
        status: a.status,
        labels: { ...a.labels },
        annotations: { ...a.annotations },
        startsAt: new Date(a.startsAtMs).toISOString(),
        endsAt: a.status === 'resolved' && a.endsAtMs !== undefined ? new Date(a.endsAtMs).toISOString() : ZERO_TIME,
        generatorURL: options.externalUrl,
        fingerprint: a.fingerprint,
      })),
    });
  }
  return payloads;
}

/** An alert for Alertmanager's `POST /api/v2/alerts`. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/**
 * Alerts as Prometheus sends them: a firing alert is valid until four re-send
 * intervals from now (Alertmanager resolves it if it is not re-sent by then); a
 * resolved one ends when it resolved.
 */
export function apiAlerts(alerts: readonly NotifyAlert[], nowMs: number, resendMs: number, externalUrl: string): PostableAlert[] {
  return alerts.map((a) => ({
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: new Date(a.startsAtMs).toISOString(),
    endsAt: new Date(a.status === 'resolved' && a.endsAtMs !== undefined ? a.endsAtMs : nowMs + 4 * resendMs).toISOString(),
    generatorURL: externalUrl,
  }));
}

/** Go's `model.LabelSet.String()`: `{a="1", b="2"}`, names sorted. */
export function labelSetString(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`;
}

/** The entries every map has with the same value. */
function common(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (maps.length === 0) return out;
  for (const [name, value] of Object.entries(maps[0])) {
    if (maps.every((m) => m[name] === value)) out[name] = value;
  }
  return out;
}
