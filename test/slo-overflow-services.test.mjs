// "Every span counts, ... including spans folded into the overflow series" and
// "SLOs and alerts count for the services whose spans fed them". Spans beyond
// stats.max_operations are counted for their SLOs and rules, but the services they come
// from were never recorded (only onNewSeries recorded them), so the alerts they fired listed
// no service and the service's health ignored the breached SLO and the firing alerts.
import test from 'ava';
import { sloHarness } from './helpers/slo.mjs';

const selector = { service: 'check*', span_name: 'second' };

test('alerts and health attribute spans beyond the cardinality cap to their service', async (t) => {
  const h = sloHarness(
    {
      slos: [{ name: 'avail', selector, indicator: 'availability', objective: 99.9, time_window: '30d' }],
      alerting: { rules: [{ name: 'Err', type: 'error_rate', selector, window: '5m', above: 10, min_events: 1 }] },
    },
    { maxOperations: 1 },
  );
  await h.tick(10_000, () => {
    h.span({ name: 'first' }); // the one series; every 'second' span overflows
    h.traffic(20, 20, { name: 'second' });
  });
  const report = await h.processor.stats();
  t.deepEqual(report.slos[0].events, { total: 20, good: 0, bad: 20 }, 'the overflowed spans count for the SLO');
  t.is(report.slos[0].compliance, 'breached');
  t.deepEqual(
    report.alerts.firing.map((a) => [a.alertname, a.services]),
    [
      ['SLOErrorBudgetBurn', ['checkout']],
      ['Err', ['checkout']],
    ],
  );
  const checkout = report.health.find((s) => s.service === 'checkout');
  t.deepEqual(
    checkout.reasons.map((r) => r.kind).sort(),
    ['alert_firing', 'alert_firing', 'slo_breached'],
    'a breached SLO (30), a firing page (25) and a firing warning (10) of checkout',
  );
  t.is(checkout.score, 35);
  await h.close();
});
