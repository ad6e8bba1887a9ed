// Alert states with Prometheus semantics: pending for `for`, firing, resolved after
// `keep_firing_for`, flapping, history and fingerprints.
import test from 'ava';
import { alertFingerprint } from 'spanmeter';
import { SECOND, sloHarness } from './helpers/slo.mjs';
import { eventually } from './helpers/receiver.mjs';

const TICK = 10 * SECOND;

/** An error-rate rule over a 10 s window (one slice), so each tick decides the condition alone. */
function errorRule(extra = {}) {
  return {
    alerting: {
      history_size: 50,
      rules: [{ name: 'CheckoutErrors', type: 'error_rate', selector: { service: 'checkout' }, window: '10s', above: 50, min_events: 1, severity: 'page', ...extra }],
    },
  };
}

/** Runs one tick per letter: B = the condition holds (all spans fail), G = it does not. */
async function run(h, pattern) {
  const start = h.now;
  for (const letter of pattern) await h.tick(TICK, () => h.traffic(10, letter === 'B' ? 10 : 0));
  // [tick number (1-based), transition]
  return h.events.map((e) => [Math.round((Date.parse(e.at) - start) / TICK), e.to]);
}

test('inactive -> pending -> firing after `for`; keep_firing_for holds it; a new pending is cancelled', async (t) => {
  const h = sloHarness(errorRule({ for: '30s', keep_firing_for: '20s' }));
  const transitions = await run(h, 'BBBBGGBGGGBG');
  t.deepEqual(transitions, [
    [1, 'pending'],
    [4, 'firing'], // 30 s after the condition started
    [10, 'resolved'], // 20 s after the first clean evaluation (tick 8); tick 7 held again and reset it
    [11, 'pending'],
    [12, 'inactive'],
  ]);
  const resolved = h.events.find((e) => e.to === 'resolved');
  const firing = h.events.find((e) => e.to === 'firing');
  t.is(resolved.startsAt, firing.at);
  t.is(resolved.endsAt, resolved.at);
  t.is(resolved.from, 'firing');
  t.is(h.events[0].from, 'inactive');
  await h.close();
});

test('with for: 0 an alert fires in the evaluation where its condition first holds', async (t) => {
  const h = sloHarness(errorRule());
  t.deepEqual(await run(h, 'GBBG'), [
    [2, 'firing'],
    [4, 'resolved'],
  ]);
  await h.close();
});

test('flapping: without for/keep_firing_for every flap notifies; `for` keeps it pending; keep_firing_for keeps it firing', async (t) => {
  const plain = sloHarness(errorRule());
  t.deepEqual(
    (await run(plain, 'BGBGBG')).map(([, to]) => to),
    ['firing', 'resolved', 'firing', 'resolved', 'firing', 'resolved'],
  );
  await plain.close();

  const withFor = sloHarness(errorRule({ for: '30s' }));
  const pendingOnly = (await run(withFor, 'BGBGBG')).map(([, to]) => to);
  t.deepEqual(pendingOnly, ['pending', 'inactive', 'pending', 'inactive', 'pending', 'inactive']);
  t.deepEqual((await withFor.processor.stats()).alerts.firing, []);
  await withFor.close();

  const withKeep = sloHarness(errorRule({ keep_firing_for: '30s' }));
  t.deepEqual(await run(withKeep, 'BGBGBGGGG'), [
    [1, 'firing'],
    [9, 'resolved'], // the last B was tick 5; ticks 6, 7, 8 keep it firing, 30 s after tick 6
  ]);
  await withKeep.close();
});

test('stats().alerts: firing and pending states, recent transitions newest first, bounded history', async (t) => {
  const h = sloHarness({
    alerting: {
      history_size: 3,
      rules: [
        { name: 'Fast', type: 'error_rate', selector: { service: 'checkout' }, window: '10s', above: '50%', min_events: 1, labels: { team: 'pay' }, annotations: { runbook_url: 'https://runbooks/fast' } },
        { name: 'Slow', type: 'error_rate', selector: { service: 'checkout' }, window: '10s', above: 50, min_events: 1, for: '1h' },
      ],
    },
  });
  await run(h, 'BGBB');
  const report = await h.processor.stats();
  const [firing] = report.alerts.firing;
  t.is(report.alerts.firing.length, 1);
  t.is(firing.alertname, 'Fast');
  t.deepEqual(firing.labels, { alertname: 'Fast', service: 'checkout', severity: 'warning', team: 'pay' });
  t.deepEqual(Object.keys(firing.labels), ['alertname', 'service', 'severity', 'team'], 'labels sorted');
  t.is(firing.annotations.runbook_url, 'https://runbooks/fast');
  t.is(firing.annotations.summary, 'error rate over 10s above 50%');
  t.is(firing.fingerprint, alertFingerprint(firing.labels));
  t.is(firing.value, 1);
  t.is(firing.valueUnit, 'ratio');
  t.deepEqual(firing.services, ['checkout']);
  t.is(firing.firedAt, firing.activeAt);
  t.deepEqual(
    report.alerts.pending.map((a) => [a.alertname, a.state]),
    [['Slow', 'pending']],
  );
  // 6 transitions happened (Fast: firing, resolved, firing; Slow: pending, inactive, pending); 3 are kept.
  t.is(h.events.length, 6);
  t.deepEqual(
    report.alerts.recent.map((e) => `${e.alertname}:${e.to}`),
    ['Slow:pending', 'Fast:firing', 'Slow:inactive'],
  );
  t.is(report.alerts.evaluation.evaluations, 4);
  t.is(report.alerts.evaluation.failures, 0);
  t.true(report.alerts.evaluation.counterBytes > 0);
  await h.close();
});

test('fingerprints are Alertmanager\'s: FNV-1a 64 over sorted labels (Prometheus\' published test vectors)', (t) => {
  // github.com/prometheus/common model/labelset_test.go: TestMetricToFingerprint
  t.is(alertFingerprint({}), (14695981039346656037n).toString(16));
  t.is(alertFingerprint({ name: 'garland, briggs', fear: 'love is not enough' }), (5799056148416392346n).toString(16).padStart(16, '0'));
  t.is(alertFingerprint({ b: '1', a: '2' }), alertFingerprint({ a: '2', b: '1' }), 'order does not matter');
  t.not(alertFingerprint({ a: '1' }), alertFingerprint({ a: '2' }));
});

test('the evaluation timer evaluates on its own, every evaluation_interval', async (t) => {
  const h = sloHarness({ ...errorRule(), alerting: { ...errorRule().alerting, evaluation_interval: '1s' } });
  h.traffic(10, 10);
  await h.flush();
  // No evaluateNow(): the unref'd timer runs the evaluation (a bound on waiting, not a timing assertion).
  await eventually(async () => (await h.processor.stats()).alerts.firing.length === 1, 'the timer to fire the alert');
  const { evaluation } = (await h.processor.stats()).alerts;
  t.true(evaluation.evaluations >= 1);
  t.is(evaluation.failures, 0);
  t.true(evaluation.lastWorkerMs > 0);
  await h.close();
});
