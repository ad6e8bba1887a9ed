/**
 * `notifiers:` — where alert transitions go besides the `onAlert` callback: a
 * structured log line and webhooks speaking Alertmanager's formats.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { boolean, duration, formatDuration, list, mapping, MAX_TIMER_MS, number, required, string, type ConfigPath, type Issues } from './schema';
import { LABEL_NAME, stringList, stringMap, uniqueNames } from './slo-common';

export interface LogNotifierConfig {
  enabled: boolean;
  stream: 'stderr' | 'stdout';
  format: 'json' | 'logfmt';
}

/**
 * `alertmanager_webhook`: the payload Alertmanager sends to webhook receivers
 * (version 4). `alertmanager_api`: a list of alerts POSTed to Alertmanager's own
 * `/api/v2/alerts`, the way Prometheus sends them.
 */
export type WebhookFormat = 'alertmanager_webhook' | 'alertmanager_api';

export interface WebhookConfig {
  name: string;
  url: string;
  format: WebhookFormat;
  /** The payload's `receiver`. */
  receiver: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxRetries: number;
  retryBackoffMs: number;
  maxBackoffMs: number;
  sendResolved: boolean;
  /** Labels that split alerts into groups, one POST per group. Empty: one group. */
  groupBy: string[];
  /** At most this many alerts per POST (the rest are counted in `truncatedAlerts`); 0 = no limit. */
  maxAlerts: number;
  /** Firing alerts are sent again this often; 0 = only on transitions. */
  repeatIntervalMs: number;
  /** Payloads waiting while the receiver is slow or down; beyond this the oldest is dropped and counted. */
  queueSize: number;
}

export interface NotifiersConfig {
  /** `externalURL` of webhook payloads, and the base of each alert's `generatorURL`. */
  externalUrl: string;
  log: LogNotifierConfig;
  webhooks: WebhookConfig[];
}

export const NOTIFIERS_KEYS = ['external_url', 'log', 'webhooks'] as const;
const LOG_KEYS = ['enabled', 'stream', 'format'] as const;
const WEBHOOK_KEYS = [
  'name',
  'url',
  'format',
  'receiver',
  'headers',
  'timeout',
  'max_retries',
  'retry_backoff',
  'max_backoff',
  'send_resolved',
  'group_by',
  'max_alerts',
  'repeat_interval',
  'queue_size',
] as const;

export function notifiersSection(value: unknown, path: ConfigPath, issues: Issues, _env: NodeJS.ProcessEnv): NotifiersConfig {
  const m = mapping(value, path, issues, NOTIFIERS_KEYS);
  const log = mapping(m.log, [...path, 'log'], issues, LOG_KEYS);
  const logPath = [...path, 'log'];
  const webhooksPath = [...path, 'webhooks'];
  const webhooks = list(m.webhooks, webhooksPath, issues, (item, at) => webhookConfig(item, at, issues));
  uniqueNames(m.webhooks, webhooksPath, issues, 'webhook');
  const externalUrl = string(m, 'external_url', path, issues, {}, '');
  if (externalUrl !== '' && httpUrlProblem(externalUrl) !== undefined) issues.add([...path, 'external_url'], httpUrlProblem(externalUrl)!);
  return {
    externalUrl,
    log: {
      enabled: boolean(log, 'enabled', logPath, issues, true),
      stream: string(log, 'stream', logPath, issues, { oneOf: ['stderr', 'stdout'] }, 'stderr') as LogNotifierConfig['stream'],
      format: string(log, 'format', logPath, issues, { oneOf: ['json', 'logfmt'] }, 'json') as LogNotifierConfig['format'],
    },
    webhooks,
  };
}

/** Re-sending more often than the default evaluation interval floods a receiver for nothing. */
const MIN_REPEAT_MS = 10_000;

function webhookConfig(item: unknown, path: ConfigPath, issues: Issues): WebhookConfig | undefined {
  const m = mapping(item, path, issues, WEBHOOK_KEYS);
  const hasName = required(m, 'name', path, issues);
  const hasUrl = required(m, 'url', path, issues);
  const name = string(m, 'name', path, issues, { nonEmpty: true });
  const url = string(m, 'url', path, issues, { nonEmpty: true });
  if (url !== undefined && httpUrlProblem(url) !== undefined) issues.add([...path, 'url'], httpUrlProblem(url)!);
  const format = string(m, 'format', path, issues, { oneOf: ['alertmanager_webhook', 'alertmanager_api'] }, 'alertmanager_webhook') as WebhookFormat;
  const config = {
    receiver: string(m, 'receiver', path, issues, { nonEmpty: true }, name ?? 'spanmeter'),
    headers: headerMap(m.headers, [...path, 'headers'], issues),
    timeoutMs: duration(m, 'timeout', path, issues, { minMs: 1, maxMs: 300_000 }, 5000),
    maxRetries: number(m, 'max_retries', path, issues, { integer: true, min: 0, max: 100 }, 3),
    // Node's timers hold at most 2^31-1 ms (beyond, they fire after 1 ms).
    retryBackoffMs: duration(m, 'retry_backoff', path, issues, { minMs: 1, maxMs: MAX_TIMER_MS }, 1000),
    maxBackoffMs: duration(m, 'max_backoff', path, issues, { minMs: 1, maxMs: MAX_TIMER_MS }, 30_000),
    sendResolved: boolean(m, 'send_resolved', path, issues, true),
    groupBy: stringList(m.group_by, [...path, 'group_by'], issues, (s) => (LABEL_NAME.test(s) ? undefined : `${JSON.stringify(s)} is not a valid label name`)),
    maxAlerts: number(m, 'max_alerts', path, issues, { integer: true, min: 0 }, 0),
    // Alertmanager forgets an alert that is not re-sent; Prometheus re-sends every minute.
    repeatIntervalMs: duration(m, 'repeat_interval', path, issues, { maxMs: MAX_TIMER_MS }, format === 'alertmanager_api' ? 60_000 : 4 * 3_600_000),
    queueSize: number(m, 'queue_size', path, issues, { integer: true, min: 1, max: 100_000 }, 100),
  };
  if (config.repeatIntervalMs > 0 && config.repeatIntervalMs < MIN_REPEAT_MS) {
    issues.add([...path, 'repeat_interval'], `must be 0 (send changes only) or at least ${formatDuration(MIN_REPEAT_MS)}, got ${formatDuration(config.repeatIntervalMs)}`);
  }
  if (format === 'alertmanager_api' && config.repeatIntervalMs === 0) issues.add([...path, 'repeat_interval'], 'must be above 0 for format alertmanager_api (Alertmanager resolves alerts that are not re-sent)');
  if (!hasName || !hasUrl || name === undefined || url === undefined) return undefined;
  return { name, url, format, ...config };
}

/** Header names and values checked as Node checks them when sending, so a bad one fails at load. */
function headerMap(value: unknown, path: ConfigPath, issues: Issues): Record<string, string> {
  const headers = stringMap(value, path, issues, false);
  for (const [name, v] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, v);
    } catch (error) {
      issues.add([...path, name], `is not a valid HTTP header: ${(error as Error).message}`);
      delete headers[name];
    }
  }
  return headers;
}

function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `must be an absolute http:// or https:// URL, got ${JSON.stringify(redactUrl(text))}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, got ${JSON.stringify(redactUrl(text))}`;
  return undefined;
}

/**
 * A URL for reports and errors: user and password become `***`, and so does every
 * query value (the keys stay), which may carry tokens.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL: still hide what looks like credentials and query values.
    return text.replace(/\/\/[^/?#]*@/, '//***@').replace(/([?&][^=&#]*)=[^&#]*/g, '$1=***');
  }
  if (url.username === '' && url.password === '' && url.search === '') return text;
  if (url.username !== '' || url.password !== '') {
    url.username = '***';
    url.password = '';
  }
  if (url.search !== '') {
    const keys = [...url.searchParams.keys()];
    url.search = keys.map((key) => `${encodeURIComponent(key)}=***`).join('&');
  }
  return url.href;
}
