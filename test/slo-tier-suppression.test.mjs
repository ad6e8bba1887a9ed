// While a faster burn-rate tier of an SLO fires, its slower tiers are held inactive; one that
// was firing resolves at once, even with keep_firing_for (which kept it firing before: two
// tiers of one SLO firing, against "at most one burn-rate alert per SLO").
import test from 'ava';
import { MINUTE, sloHarness } from './helpers/slo.mjs';

test('a suppressed tier resolves in the evaluation the faster tier fires, despite keep_firing_for', async (t) => {
  const h = sloHarness({
    alerting: { burn_rate: { keep_firing_for: '1h' } },
    slos: [{ name: 'a', selector: { service: 'checkout' }, indicator: 'availability', objective: 99.9, time_window: '30d' }],
  });
  const tiers = (events) => events.map((e) => [e.labels.tier, e.to]);
  // 1% errors: burn rate 10 over every window, above page_6h's 6 (and the ticket tiers' 3 and 1,
  // which page_6h suppresses), under page_1h's 14.4
  t.deepEqual(tiers(await h.tick(5 * MINUTE, () => h.traffic(1000, 10))), [['page_6h', 'firing']]);
  // 50% errors: the 1h window holds 510 bad of 2000, burn rate 255, and the 5m one more: page_1h
  // fires, and page_6h, now suppressed, resolves in the same evaluation
  t.deepEqual(tiers(await h.tick(5 * MINUTE, () => h.traffic(1000, 500))), [
    ['page_1h', 'firing'],
    ['page_6h', 'resolved'],
  ]);
  const firing = (await h.processor.stats()).alerts.firing.map((a) => a.labels.tier);
  t.deepEqual(firing, ['page_1h']);
  // still suppressed later: no tier but page_1h fires while it does
  t.deepEqual(tiers(await h.tick(5 * MINUTE, () => h.traffic(1000, 500))), []);
  await h.close();
});
