// Alerting limits that hold at load (the refused values are cases in config-slo-errors.test.mjs).
import test from 'ava';
import { loadConfig } from 'spanmeter';

test('rule windows: 30s is enough for request_rate and attribute; ratios may use 10s', (t) => {
  const config = loadConfig({
    alerting: {
      rules: [
        { name: 'a', type: 'request_rate', window: '30s', above: 1 },
        { name: 'b', type: 'attribute', aggregate: 'count', window: '30s', above: 1 },
        { name: 'c', type: 'error_rate', window: '10s', above: 5 },
        { name: 'd', type: 'latency', window: '10s', above: '100ms' },
      ],
    },
  });
  t.deepEqual(
    config.alerting.rules.map((r) => r.windowMs),
    [30_000, 30_000, 10_000, 10_000],
  );
});

test('thresholds at their limits are accepted: a rate above 0, a sum below a negative number, 24.8 days of keep_firing_for', (t) => {
  const config = loadConfig({
    alerting: {
      burn_rate: { keep_firing_for: 2 ** 31 - 1 },
      rules: [
        { name: 'a', type: 'request_rate', above: 0 },
        { name: 'b', type: 'attribute', attribute: 'refund', aggregate: 'sum', below: -500 },
        { name: 'c', type: 'error_rate', above: '99.5%' },
        { name: 'd', type: 'latency', above: '1ms' },
      ],
    },
    notifiers: { webhooks: [{ name: 'w', url: 'http://x', repeat_interval: '10s' }, { name: 'v', url: 'http://y', repeat_interval: 0 }] },
  });
  t.deepEqual(
    config.alerting.rules.map((r) => r.above ?? r.below),
    [0, -500, 0.995, 1],
  );
  t.is(config.alerting.burnRate.keepFiringForMs, 2147483647);
  t.deepEqual(
    config.notifiers.webhooks.map((w) => w.repeatIntervalMs),
    [10_000, 0],
  );
});

test('a rule that differs from a tier alert in one label, or whose tier is off, is accepted', (t) => {
  const slo = { name: 'a', selector: { service: 'checkout' }, indicator: 'availability', objective: 99 };
  const rule = { name: 'SLOErrorBudgetBurn', type: 'error_rate', above: 5, severity: 'page', selector: { service: 'checkout' }, labels: { slo: 'a', tier: 'page_1h' } };
  const accepted = (slos, rules) => t.notThrows(() => loadConfig({ slos, alerting: { rules } }));
  accepted([slo], [{ ...rule, severity: 'ticket' }]);
  accepted([slo], [{ ...rule, selector: { service: 'checkout*' } }]); // no service label
  accepted([{ ...slo, alerting: { disabled_tiers: ['page_1h'] } }], [rule]);
  accepted([{ ...slo, alerting: { enabled: false } }], [rule]);
  t.notThrows(() => loadConfig({ slos: [slo], alerting: { burn_rate: { enabled: false }, rules: [rule] } }));
  t.throws(() => loadConfig({ slos: [slo], alerting: { rules: [rule] } }), { message: /same fingerprint/ });
});
