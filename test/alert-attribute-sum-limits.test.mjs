// Attribute sums saturate at +-Number.MAX_VALUE: huge values never make a rule's sum Infinity,
// nor NaN when a huge negative sum meets a huge positive one (NaN compares false: the alert
// resolved, and its value was no number at all).
import test from 'ava';
import { SECOND, sloHarness } from './helpers/slo.mjs';

test('a sum past the largest double saturates there, and opposite saturated sums add up to 0', async (t) => {
  const h = sloHarness({ alerting: { rules: [{ name: 'Sum', type: 'attribute', attribute: 'v', aggregate: 'sum', window: '1m', above: -1e300 }] } });
  const value = async () => (await h.processor.stats()).alerts.firing.find((a) => a.alertname === 'Sum')?.value;
  // 1e308 + 1e308 = 2e308, beyond 1.7976931348623157e308: held at Number.MAX_VALUE
  await h.tick(10 * SECOND, () => h.traffic(2, 0, { attributes: { v: 1e308 } }));
  t.is(await value(), Number.MAX_VALUE);
  // the next slice holds -2e308, held at -Number.MAX_VALUE; the window: MAX_VALUE - MAX_VALUE = 0
  await h.tick(10 * SECOND, () => h.traffic(2, 0, { attributes: { v: -1e308 } }));
  t.is(await value(), 0);
  t.deepEqual(
    h.events.map((e) => e.to),
    ['firing'],
  );
  await h.close();
});
