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
