// The webhook notifier against real HTTP servers on loopback: Alertmanager's
// version-4 payload, grouping, retries with backoff, timeouts, a receiver that
// fails and recovers, one that hangs, and Alertmanager's /api/v2/alerts format.
import test from 'ava';
import { alertFingerprint } from 'spanmeter';
import { eventually, startReceiver } from './helpers/receiver.mjs';
import { SECOND, sloHarness } from './helpers/slo.mjs';

const TICK = 10 * SECOND;

function rules(names, webhook, notifiers = {}) {
  return {
    alerting: {
      rules: names.map((name) => ({
        name,
        type: 'error_rate',
        selector: { service: 'checkout' },
        window: '10s',
        above: 50,
        min_events: 1,
        severity: 'page',
        labels: { team: 'payments' },
        annotations: { summary: `${name} is failing`, runbook_url: `https://runbooks.example/${name}` },
      })),
    },
    notifiers: { external_url: 'https://checkout.example/spanmeter', webhooks: [{ name: 'am', retry_backoff: '10ms', ...webhook }], ...notifiers },
  };
}

const webhookOf = async (h) => (await h.processor.stats()).notifiers.find((n) => n.type === 'webhook');

test('POSTs Alertmanager webhook payload version 4 on firing and on resolved', async (t) => {
  const receiver = await startReceiver();
  const h = sloHarness(rules(['CheckoutErrors'], { url: receiver.url, receiver: 'team-pager', headers: { authorization: 'Bearer s3cret' } }));
  await h.tick(TICK, () => h.traffic(10, 10));
  const firedAt = new Date(h.now).toISOString();
  const [first] = await receiver.received(1);
  const labels = { alertname: 'CheckoutErrors', service: 'checkout', severity: 'page', team: 'payments' };
  const annotations = { summary: 'CheckoutErrors is failing', runbook_url: 'https://runbooks.example/CheckoutErrors' };
  t.is(first.method, 'POST');
  t.is(first.headers['content-type'], 'application/json');
  t.is(first.headers.authorization, 'Bearer s3cret');
  t.deepEqual(first.body, {
    version: '4',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'team-pager',
    groupLabels: {},
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'https://checkout.example/spanmeter',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations,
        startsAt: firedAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'https://checkout.example/spanmeter',
        fingerprint: alertFingerprint(labels),
      },
    ],
  });

  await h.tick(TICK, () => h.traffic(10, 0));
  const resolvedAt = new Date(h.now).toISOString();
  const [, second] = await receiver.received(2);
  t.is(second.body.status, 'resolved');
  t.is(second.body.alerts[0].status, 'resolved');
  t.is(second.body.alerts[0].startsAt, firedAt);
  t.is(second.body.alerts[0].endsAt, resolvedAt);
  t.is(second.body.alerts[0].fingerprint, first.body.alerts[0].fingerprint);
  await eventually(async () => (await webhookOf(h)).sent === 2, 'two deliveries');
  const status = await webhookOf(h);
  t.like(status, { name: 'am', type: 'webhook', sent: 2, failed: 0, retries: 0, dropped: 0, pending: 0, url: receiver.url });
  await h.close();
  await receiver.close();
});

test('group_by splits alerts into payloads with their group labels; max_alerts truncates', async (t) => {
  const receiver = await startReceiver();
  const h = sloHarness(rules(['A', 'B'], { url: receiver.url, group_by: ['alertname'] }));
  await h.tick(TICK, () => h.traffic(10, 10));
  const payloads = (await receiver.received(2)).map((r) => r.body);
  t.deepEqual(
    payloads.map((p) => [p.groupKey, p.groupLabels, p.alerts.length]).sort(),
    [
      ['{}:{alertname="A"}', { alertname: 'A' }, 1],
      ['{}:{alertname="B"}', { alertname: 'B' }, 1],
    ],
  );
  await h.close();
  await receiver.close();

  const one = await startReceiver();
  const h2 = sloHarness(rules(['A', 'B', 'C'], { url: one.url, max_alerts: 2 }));
  await h2.tick(TICK, () => h2.traffic(10, 10));
  const [{ body }] = await one.received(1);
  t.is(body.groupKey, '{}:{}');
  t.is(body.alerts.length, 2);
  t.is(body.truncatedAlerts, 1);
  t.deepEqual(body.commonLabels, { service: 'checkout', severity: 'page', team: 'payments' }, 'alertname differs, so it is not common');
  t.deepEqual(body.commonAnnotations, {});
  await h2.close();
  await one.close();
});

test('a receiver that fails twice and recovers gets the payload, with the retries counted', async (t) => {
  const receiver = await startReceiver((_, i) => (i < 2 ? 503 : 200));
  const h = sloHarness(rules(['CheckoutErrors'], { url: receiver.url, max_retries: 3 }));
  await h.tick(TICK, () => h.traffic(10, 10));
  const attempts = await receiver.received(3);
  t.deepEqual(attempts[0].body, attempts[2].body, 'the same payload is retried');
  await eventually(async () => (await webhookOf(h)).sent === 1, 'delivery');
  t.like(await webhookOf(h), { sent: 1, failed: 0, retries: 2, pending: 0, lastError: 'HTTP 503' });
  await h.close();
  await receiver.close();
});

test('a receiver that keeps failing: given up after max_retries, counted; a 4xx is not retried', async (t) => {
  const receiver = await startReceiver((request) => (request.body.alerts[0].labels.alertname === 'Rejected' ? 400 : 500));
  const h = sloHarness(rules(['Broken'], { url: receiver.url, max_retries: 2 }));
  await h.tick(TICK, () => h.traffic(10, 10));
  await eventually(async () => (await webhookOf(h)).failed === 1, 'failure');
  t.like(await webhookOf(h), { sent: 0, failed: 1, retries: 2, lastError: 'HTTP 500' });
  t.is(receiver.requests.length, 3);
  t.truthy((await webhookOf(h)).lastErrorAt);
  await h.close();

  const h2 = sloHarness(rules(['Rejected'], { url: receiver.url, max_retries: 5 }));
  await h2.tick(TICK, () => h2.traffic(10, 10));
  await eventually(async () => (await webhookOf(h2)).failed === 1, 'failure');
  t.like(await webhookOf(h2), { sent: 0, failed: 1, retries: 0, lastError: 'HTTP 400' });
  await h2.close();
  await receiver.close();
});

test('a hanging receiver never blocks evaluation; timeouts are counted and the queue is bounded', async (t) => {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const receiver = await startReceiver(() => held.then(() => 200));
  const h = sloHarness(rules(['CheckoutErrors'], { url: receiver.url, timeout: '300ms', max_retries: 1, queue_size: 1 }));
  // Fire: the POST hangs at the receiver, and the evaluation has already returned.
  const events = await h.tick(TICK, () => h.traffic(10, 10));
  t.deepEqual(
    events.map((e) => e.to),
    ['firing'],
  );
  await receiver.received(1);
  t.is((await webhookOf(h)).pending, 1, 'in flight while the evaluation is done');
  // More evaluations go on meanwhile: resolve, fire, resolve. The queue keeps one payload.
  t.deepEqual((await h.tick(TICK, () => h.traffic(10, 0))).map((e) => e.to), ['resolved']);
  t.deepEqual((await h.tick(TICK, () => h.traffic(10, 10))).map((e) => e.to), ['firing']);
  t.deepEqual((await h.tick(TICK, () => h.traffic(10, 0))).map((e) => e.to), ['resolved']);
  t.is((await webhookOf(h)).dropped, 2, 'queue_size 1: two of three waiting payloads dropped');
  // The first POST times out, is retried once, times out again: failed.
  await eventually(async () => (await webhookOf(h)).failed >= 1, 'timeouts');
  const status = await webhookOf(h);
  t.is(status.retries >= 1, true);
  t.regex(status.lastError, /no answer within 300 ms/);
  release();
  await eventually(async () => (await webhookOf(h)).pending === 0, 'queue drained');
  t.is((await webhookOf(h)).sent, 1, 'the payload that stayed queued is delivered once the receiver answers');
  await h.close();
  await receiver.close();
});

test('a receiver that is down (connection refused) fails after the retries', async (t) => {
  const receiver = await startReceiver();
  const url = receiver.url;
  await receiver.close();
  const h = sloHarness(rules(['CheckoutErrors'], { url, max_retries: 2 }));
  await h.tick(TICK, () => h.traffic(10, 10));
  await eventually(async () => (await webhookOf(h)).failed === 1, 'failure');
  t.like(await webhookOf(h), { sent: 0, failed: 1, retries: 2 });
  t.regex((await webhookOf(h)).lastError, /ECONNREFUSED/);
  await h.close();
});

test('format alertmanager_api: POSTs alerts as Prometheus sends them to /api/v2/alerts, re-sent every repeat_interval', async (t) => {
  const receiver = await startReceiver();
  const h = sloHarness(rules(['CheckoutErrors'], { url: receiver.url, format: 'alertmanager_api', repeat_interval: '30s' }));
  await h.tick(TICK, () => h.traffic(10, 10));
  const startsAt = new Date(h.now).toISOString();
  const [first] = await receiver.received(1);
  t.true(Array.isArray(first.body));
  t.deepEqual(first.body, [
    {
      labels: { alertname: 'CheckoutErrors', service: 'checkout', severity: 'page', team: 'payments' },
      annotations: { summary: 'CheckoutErrors is failing', runbook_url: 'https://runbooks.example/CheckoutErrors' },
      startsAt,
      // Valid for four re-send intervals, as Prometheus does.
      endsAt: new Date(h.now + 4 * 30 * SECOND).toISOString(),
      generatorURL: 'https://checkout.example/spanmeter',
    },
  ]);
  // Still firing: 10 s and 20 s later nothing is re-sent; 30 s later it is.
  await h.tick(TICK, () => h.traffic(10, 10));
  await h.tick(TICK, () => h.traffic(10, 10));
  await eventually(async () => (await webhookOf(h)).pending === 0, 'idle');
  t.is(receiver.requests.length, 1);
  await h.tick(TICK, () => h.traffic(10, 10));
  const [, reminder] = await receiver.received(2);
  t.is(reminder.body[0].startsAt, startsAt);
  t.is(reminder.body[0].endsAt, new Date(h.now + 4 * 30 * SECOND).toISOString());
  // Resolved: endsAt is when it resolved.
  await h.tick(TICK, () => h.traffic(10, 0));
  const [, , resolved] = await receiver.received(3);
  t.is(resolved.body[0].endsAt, new Date(h.now).toISOString());
  await h.close();
  await receiver.close();
});

test('send_resolved: false sends only firing alerts', async (t) => {
  const receiver = await startReceiver();
  const h = sloHarness(rules(['CheckoutErrors'], { url: receiver.url, send_resolved: false }));
  await h.tick(TICK, () => h.traffic(10, 10));
  await h.tick(TICK, () => h.traffic(10, 0));
  await h.tick(TICK, () => h.traffic(10, 10));
  const bodies = (await receiver.received(2)).map((r) => r.body.status);
  t.deepEqual(bodies, ['firing', 'firing']);
  await eventually(async () => (await webhookOf(h)).pending === 0, 'idle');
  t.is(receiver.requests.length, 2);
  await h.close();
  await receiver.close();
});
