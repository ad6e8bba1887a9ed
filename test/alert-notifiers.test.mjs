// The onAlert callback and the structured log line.
import test from 'ava';
import { SECOND, sloHarness } from './helpers/slo.mjs';
import { eventually } from './helpers/receiver.mjs';

const TICK = 10 * SECOND;
const rule = { name: 'CheckoutErrors', type: 'error_rate', selector: { service: 'checkout' }, window: '10s', above: 50, min_events: 1, severity: 'page' };

test('onAlert gets each firing and resolved transition (not pending ones); throws and rejections are counted', async (t) => {
  const seen = [];
  let calls = 0;
  const h = sloHarness(
    { alerting: { rules: [rule, { ...rule, name: 'Slow', for: '1h' }] } },
    {
      onAlert: (event) => {
        calls++;
        seen.push(`${event.alertname}:${event.to}`);
        if (calls === 2) throw new Error('callback bug');
        if (calls === 3) return Promise.reject(new Error('async callback bug'));
        return undefined;
      },
    },
  );
  await h.tick(TICK, () => h.traffic(10, 10));
  t.deepEqual(seen, ['CheckoutErrors:firing'], 'called before evaluateNow resolves; Slow is only pending');
  await h.tick(TICK, () => h.traffic(10, 0));
  await h.tick(TICK, () => h.traffic(10, 10));
  t.deepEqual(seen, ['CheckoutErrors:firing', 'CheckoutErrors:resolved', 'CheckoutErrors:firing']);
  await eventually(async () => (await h.processor.stats()).notifiers[0].failed === 2, 'failures counted');
  const status = (await h.processor.stats()).notifiers[0];
  t.like(status, { name: 'onAlert', type: 'callback', sent: 1, failed: 2, pending: 0, lastError: 'async callback bug' });
  await h.close();
});

test('the log notifier writes one JSON line per firing/resolved transition, or logfmt', async (t) => {
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => {
    if (String(chunk).includes('spanmeter alert')) {
      lines.push(String(chunk));
      return true;
    }
    return write.call(process.stderr, chunk, ...rest);
  };
  try {
    const h = sloHarness({ alerting: { rules: [rule] }, notifiers: { log: { enabled: true } } });
    await h.tick(TICK, () => h.traffic(10, 10));
    await h.tick(TICK, () => h.traffic(10, 0));
    await h.close();
    const logfmt = sloHarness({ alerting: { rules: [rule] }, notifiers: { log: { enabled: true, format: 'logfmt' } } });
    await logfmt.tick(TICK, () => logfmt.traffic(10, 10));
    await logfmt.close();
  } finally {
    process.stderr.write = write;
  }
  t.is(lines.length, 3);
  t.true(lines.every((l) => l.endsWith('\n')));
  const firing = JSON.parse(lines[0]);
  t.like(firing, { level: 'warn', msg: 'spanmeter alert firing', alertname: 'CheckoutErrors', status: 'firing', severity: 'page', value: 1, value_unit: 'ratio' });
  t.deepEqual(firing.labels, { alertname: 'CheckoutErrors', service: 'checkout', severity: 'page' });
  t.regex(firing.fingerprint, /^[0-9a-f]{16}$/);
  const resolved = JSON.parse(lines[1]);
  t.like(resolved, { level: 'info', status: 'resolved', starts_at: firing.starts_at });
  t.truthy(resolved.ends_at);
  t.regex(lines[2], /^time=\S+ level=warn msg="spanmeter alert firing" alertname=CheckoutErrors status=firing severity=page fingerprint=[0-9a-f]{16} value=1 value_unit=ratio starts_at=\S+ summary="error rate over 10s above 50%" labels.alertname=CheckoutErrors labels.service=checkout labels.severity=page\n$/);
});

test('an onAlert that awaits stats() during shutdown() gets a report of every span, and shutdown waits for it rather than the other way round', async (t) => {
  const order = [];
  let openGate;
  const gate = new Promise((resolve) => (openGate = resolve));
  let inCallback;
  const h = sloHarness(
    { alerting: { rules: [rule] } },
    {
      onAlert: (event) => {
        inCallback = (async () => {
          await gate;
          const report = await h.processor.stats();
          order.push(`callback's stats(): ${report.totals.spans} spans`);
        })();
        return inCallback;
      },
    },
  );
  await h.tick(TICK, () => h.traffic(10, 10));
  t.truthy(inCallback, 'the alert fired');
  const shutdown = h.processor.shutdown().then(() => order.push('shutdown'));
  await new Promise(setImmediate);
  openGate();
  await shutdown;
  await inCallback;
  // before: the callback's stats() waited for shutdown, which waited 5 s for the callback
  t.deepEqual(order, ["callback's stats(): 10 spans", 'shutdown']);
  t.is((await h.processor.stats()).totals.spans, 10, 'the final report after shutdown');
  await h.close();
});
