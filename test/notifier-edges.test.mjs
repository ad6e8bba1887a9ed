// Webhook notifier edges: shutdown during a retry backoff, tracing suppression of
// the POSTs, Alertmanager API `endsAt` vs the evaluation interval, config bounds and
// header checks, an in-flight POST not keeping the process alive, URL redaction.
import test from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { ConfigError, loadConfig, parseYamlConfig } from 'spanmeter';
import { eventually, startReceiver } from './helpers/receiver.mjs';
import { MINUTE, SECOND, sloHarness } from './helpers/slo.mjs';

const require = createRequire(import.meta.url);
const TICK = 10 * SECOND;

function rules(webhook, alerting = {}) {
  return {
    alerting: { rules: [{ name: 'CheckoutErrors', type: 'error_rate', selector: { service: 'checkout' }, window: '10m', above: 50, min_events: 1 }], ...alerting },
    notifiers: { webhooks: [{ name: 'am', ...webhook }] },
  };
}

const webhookOf = async (h) => (await h.processor.stats()).notifiers.find((n) => n.type === 'webhook');

test.serial('shutdown does not wait out a retry backoff that ends after its deadline; the payload is counted as dropped', async (t) => {
  const receiver = await startReceiver(() => 503);
  const h = sloHarness(rules({ url: receiver.url, retry_backoff: '20s', max_backoff: '20s', max_retries: 5 }));
  await h.tick(TICK, () => h.traffic(10, 10));
  await receiver.received(1);
  await eventually(async () => (await webhookOf(h)).retries === 1, 'first retry scheduled');
  await h.close();
  // had shutdown waited out the 20 s backoff, the retry would have been sent: a second request, nothing dropped
  t.like(await webhookOf(h), { sent: 0, retries: 1, dropped: 1, pending: 0 });
  t.is(receiver.requests.length, 1);
  await receiver.close();
});

test.serial('shutdown still waits for a retry due before its deadline', async (t) => {
  const receiver = await startReceiver((_, i) => (i === 0 ? 503 : 200));
  const h = sloHarness(rules({ url: receiver.url, retry_backoff: '300ms', max_retries: 2 }));
  await h.tick(TICK, () => h.traffic(10, 10));
  await eventually(async () => (await webhookOf(h)).retries === 1, 'first retry scheduled');
  await h.close();
  t.like(await webhookOf(h), { sent: 1, retries: 1, dropped: 0, pending: 0 });
  await receiver.close();
});

test.serial('webhook POSTs run with tracing suppressed, so an http instrumentation makes no span for them', async (t) => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const receiver = await startReceiver();
  const h = sloHarness(rules({ url: receiver.url }));
  // What @opentelemetry/instrumentation-http does: a client span per request unless tracing is suppressed.
  const original = http.request;
  const seen = [];
  http.request = function (...args) {
    const suppressed = isTracingSuppressed(context.active());
    seen.push(suppressed);
    if (!suppressed) h.tracer.startSpan('POST', { kind: 2 }).end();
    return original.apply(this, args);
  };
  try {
    await h.tick(TICK, () => h.traffic(10, 10));
    await receiver.received(1);
    await eventually(async () => (await webhookOf(h)).sent === 1, 'delivered');
  } finally {
    http.request = original;
  }
  t.deepEqual(seen, [true]);
  await h.flush();
  const stats = await h.processor.stats();
  t.false(JSON.stringify(stats.operations ?? stats).includes('"POST"'), 'no span counted for the alert POST');
  await h.close();
  await receiver.close();
  context.disable();
  trace.disable();
});

test.serial('alertmanager_api: endsAt covers 4 x max(repeat_interval, evaluation interval)', async (t) => {
  const { WebhookNotifier } = require('../dist/notify/webhook.js');
  const receiver = await startReceiver();
  const now = Date.UTC(2026, 0, 1);
  const config = loadConfig({ notifiers: { webhooks: [{ name: 'am', url: receiver.url, format: 'alertmanager_api', repeat_interval: '1m' }] } }).notifiers.webhooks[0];
  const notifier = new WebhookNotifier(config, '', () => now, 5 * MINUTE);
  const at = new Date(now).toISOString();
  notifier.notify([{ to: 'firing', labels: { alertname: 'E' }, annotations: {}, fingerprint: 'f', at, startsAt: at }], [], now);
  const [first] = await receiver.received(1);
  t.is(first.body[0].endsAt, new Date(now + 4 * 5 * MINUTE).toISOString());
  await notifier.close(Date.now() + 5000);
  await receiver.close();
});

test.serial('alertmanager_api through the processor: endsAt outlives the next evaluation', async (t) => {
  const receiver = await startReceiver();
  const h = sloHarness(rules({ url: receiver.url, format: 'alertmanager_api', repeat_interval: '1m' }, { evaluation_interval: '5m' }));
  try {
    await h.tick(5 * MINUTE, () => h.traffic(10, 10));
    const [first] = await receiver.received(1);
    t.is(first.body[0].endsAt, new Date(h.now + 4 * 5 * MINUTE).toISOString());
  } finally {
    await h.close();
    await receiver.close();
  }
});

const configProblem = (yaml) => {
  try {
    parseYamlConfig(yaml, 'tracing.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n').slice(1).map((l) => l.trim());
    throw error;
  }
  return [];
};
const HOOK = 'notifiers:\n  webhooks:\n    - name: am\n      url: http://x\n';

test('config: retry_backoff and max_backoff are capped at the largest timer', (t) => {
  t.deepEqual(configProblem(`${HOOK}      retry_backoff: 30d\n`), ['tracing.yaml:5 notifiers.webhooks[0].retry_backoff: must be at most 2147483647ms, got "30d"']);
  t.deepEqual(configProblem(`${HOOK}      max_backoff: 25d\n`), ['tracing.yaml:5 notifiers.webhooks[0].max_backoff: must be at most 2147483647ms, got "25d"']);
  t.deepEqual(configProblem(`${HOOK}      max_backoff: 24d\n`), []);
});

test('config: header names and values are checked at load', (t) => {
  const empty = loadConfig.bind(null, { notifiers: { webhooks: [{ name: 'am', url: 'http://x', headers: { '': 'v' } }] } });
  t.regex(t.throws(empty, { instanceOf: ConfigError }).message, /notifiers\.webhooks\[0\]\.headers.*: is not a valid HTTP header/);
  const problems = configProblem(`${HOOK}      headers:\n        x-token: "a\\nb"\n        "bad name": v\n        authorization: Bearer ok\n`);
  t.is(problems.length, 2);
  t.regex(problems[0], /^tracing\.yaml:\d+ notifiers\.webhooks\[0\]\.headers\.x-token: is not a valid HTTP header/);
  t.regex(problems[1], /^tracing\.yaml:\d+ notifiers\.webhooks\[0\]\.headers\.bad name: is not a valid HTTP header/);
});

test('config: the invalid-scheme error does not print the password', (t) => {
  const [problem] = configProblem('notifiers:\n  webhooks:\n    - name: am\n      url: ftp://user:s3cret@example.com/x?token=abc\n');
  t.is(problem, 'tracing.yaml:4 notifiers.webhooks[0].url: must be an http:// or https:// URL, got "ftp://***@example.com/x?token=***"');
});

test.serial('stats() shows the webhook URL without credentials and query values', async (t) => {
  const receiver = await startReceiver();
  const url = new URL(receiver.url);
  const h = sloHarness(rules({ url: `http://user:s3cret@${url.host}/hook?token=abc123&channel=ops` }));
  const { url: shown } = await webhookOf(h);
  t.is(shown, `http://***@${url.host}/hook?token=***&channel=***`);
  await h.close();
  await receiver.close();
});

test.serial('an alert POST in flight does not keep a process alive that never calls shutdown()', async (t) => {
  const receiver = await startReceiver(() => new Promise(() => {}));
  const script = `
    const { SpanMeterProcessor } = require('spanmeter');
    const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
    const { resourceFromAttributes } = require('@opentelemetry/resources');
    let now = Date.UTC(2026, 0, 1);
    const processor = new SpanMeterProcessor({ clock: () => now, config: {
      alerting: { rules: [{ name: 'E', type: 'error_rate', window: '10s', above: 50, min_events: 1 }] },
      notifiers: { log: { enabled: false }, webhooks: [{ name: 'w', url: ${JSON.stringify(receiver.url)}, timeout: '30s', max_retries: 0 }] } } });
    const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout' }), spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    now += 10000;
    for (let i = 0; i < 10; i++) { const s = tracer.startSpan('x'); s.setStatus({ code: 2 }); s.end(); }
    processor.evaluateNow();
  `;
  const child = spawn(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'ignore', 'inherit'] });
  await receiver.received(1);
  const started = Date.now();
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.is(code, 0);
  t.true(Date.now() - started < 5000, `exited ${Date.now() - started} ms after the POST arrived`);
  await receiver.close();
});
