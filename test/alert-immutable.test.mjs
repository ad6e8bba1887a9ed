// An alert's labels and annotations belong to the alert: an onAlert callback or a stats()
// reader that edits what it was handed changes nothing anyone else sees. Before, both got
// the alert definition's own objects, so an edit changed every later report and payload.
import test from 'ava';
import { startReceiver } from './helpers/receiver.mjs';
import { sloHarness } from './helpers/slo.mjs';

const LABELS = { alertname: 'Errors', service: 'checkout', severity: 'warning' };
const ANNOTATIONS = { summary: 'error rate over 5m above 5%' };

function harness(onAlert, webhookUrl) {
  return sloHarness(
    {
      alerting: { rules: [{ name: 'Errors', type: 'error_rate', selector: { service: 'checkout' }, window: '5m', above: 5 }] },
      ...(webhookUrl === undefined ? {} : { notifiers: { log: { enabled: false }, webhooks: [{ name: 'w', url: webhookUrl, repeat_interval: '0s' }] } }),
    },
    { onAlert },
  );
}

test('an onAlert callback that edits an event fails (counted) and changes no report or payload', async (t) => {
  const receiver = await startReceiver();
  const seen = [];
  const h = harness((event) => {
    seen.push(event.to);
    event.labels.severity = 'edited';
  }, receiver.url);
  await h.tick(1000, () => h.traffic(100, 50));
  const [fired] = await receiver.received(1);
  t.deepEqual(fired.body.alerts[0].labels, LABELS);
  t.deepEqual(fired.body.alerts[0].annotations, ANNOTATIONS);
  let report = await h.processor.stats();
  t.deepEqual(report.alerts.firing[0].labels, LABELS);
  const callback = report.notifiers.find((n) => n.type === 'callback');
  t.is(callback.failed, 1, 'the edit threw inside the callback');
  t.regex(callback.lastError, /read.only|frozen|Cannot assign/);
  // resolved 10 minutes later: the same labels again, in the callback's event and the payload
  await h.tick(600_000, () => h.traffic(100));
  const [, resolved] = await receiver.received(2);
  t.is(resolved.body.status, 'resolved');
  t.deepEqual(resolved.body.alerts[0].labels, LABELS);
  t.deepEqual(seen, ['firing', 'resolved']);
  report = await h.processor.stats();
  t.is(report.notifiers.find((n) => n.type === 'callback').failed, 2);
  t.deepEqual(
    report.alerts.recent.map((e) => [e.to, e.labels]),
    [
      ['resolved', LABELS],
      ['firing', LABELS],
    ],
  );
  await h.close();
  await receiver.close();
});

test('a stats() reader may edit its report: the next report is unchanged', async (t) => {
  const h = harness(undefined);
  await h.tick(1000, () => h.traffic(100, 50));
  const first = await h.processor.stats();
  first.alerts.firing[0].labels.extra = 'added';
  first.alerts.firing[0].annotations.summary = 'edited';
  first.alerts.recent[0].labels.severity = 'edited';
  delete first.alerts.recent[0].annotations.summary;
  const second = await h.processor.stats();
  t.deepEqual(second.alerts.firing[0].labels, LABELS);
  t.deepEqual(second.alerts.firing[0].annotations, ANNOTATIONS);
  t.deepEqual(second.alerts.recent[0].labels, LABELS);
  t.deepEqual(second.alerts.recent[0].annotations, ANNOTATIONS);
  await h.close();
});
