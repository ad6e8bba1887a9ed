// The Workbook's multiwindow, multi-burn-rate alerts, end to end: real spans, a
// manual clock, one evaluation every 10 s (as the timer does), against the
// published figures (time to fire, reset time, budget consumed).
import test from 'ava';
import { timeToFireMs } from 'spanmeter';
import { firstTransition, HOUR, MINUTE, SECOND, sloHarness } from './helpers/slo.mjs';

const TICK = 10 * SECOND; // evaluation interval and span rate: 20 spans per 10 s
const PER_TICK = 20;

function availability(extra = {}) {
  return {
    slos: [
      {
        name: 'checkout-availability',
        selector: { service: 'checkout' },
        indicator: 'availability',
        objective: 99.9,
        time_window: '30d',
        ...extra,
      },
    ],
  };
}

/** Six hours of clean traffic: five in 5-minute steps, the last at the evaluation rate. */
async function steadyHistory(h) {
  await h.prefill(5 * HOUR, 5 * MINUTE, PER_TICK * 30);
  await h.prefill(HOUR, TICK, PER_TICK);
  return 5 * 12 * PER_TICK * 30 + 360 * PER_TICK;
}

test('a 100% outage against 99.9% pages within about a minute (Workbook: 0.86 min at threshold 14.4)', async (t) => {
  const h = sloHarness(availability({ alerting: { disabled_tiers: ['ticket_1d', 'ticket_3d'] } }));
  await steadyHistory(h);
  await h.tick(TICK); // a clean evaluation before the outage
  const outageAt = h.now;
  for (let i = 0; i < 30; i++) await h.tick(TICK, () => h.traffic(PER_TICK, PER_TICK));
  const fired = firstTransition(h.events, 'firing', { tier: 'page_1h' });
  t.truthy(fired, 'page_1h fired');
  const expected = timeToFireMs(1, 0.999, 14.4, HOUR); // 51.84 s
  const took = Date.parse(fired.at) - outageAt;
  t.true(took >= expected && took <= expected + TICK, `fired after ${took} ms; the Workbook says ${expected} ms`);
  t.is(fired.labels.severity, 'page');
  t.is(fired.labels.slo, 'checkout-availability');
  t.is(fired.labels.service, 'checkout');
  // The 6h tier's condition also holds later, but a firing faster tier suppresses it.
  const report = await h.processor.stats();
  const slo = report.slos[0];
  t.true(slo.tiers.find((x) => x.tier === 'page_6h').conditionMet, 'page_6h condition holds');
  t.deepEqual(
    report.alerts.firing.map((a) => a.labels.tier),
    ['page_1h'],
  );
  t.falsy(firstTransition(h.events, 'firing', { tier: 'page_6h' }), 'page_6h never fired');
  await h.close();
});

test('15% errors for 10 minutes page after about 5 minutes and reset about 5 minutes after they stop', async (t) => {
  const h = sloHarness(availability({ alerting: { disabled_tiers: ['ticket_1d', 'ticket_3d'] } }));
  let total = await steadyHistory(h);
  await h.tick(TICK);
  const start = h.now;
  for (let i = 0; i < 60; i++) await h.tick(TICK, () => h.traffic(PER_TICK, 3)); // 15% for 10 min
  total += 60 * PER_TICK;
  const stop = h.now;
  for (let i = 0; i < 40; i++) await h.tick(TICK, () => h.traffic(PER_TICK, 0));
  total += 40 * PER_TICK;

  const fired = firstTransition(h.events, 'firing', { tier: 'page_1h' });
  const resolved = firstTransition(h.events, 'resolved', { tier: 'page_1h' });
  t.truthy(fired);
  t.truthy(resolved);
  // Fire: the 1h window reaches 14.4 x 0.1% after 14.4 x 0.001 / 0.15 h = 5.76 min.
  const expectedFire = timeToFireMs(0.15, 0.999, 14.4, HOUR);
  const fireAfter = Date.parse(fired.at) - start;
  t.true(fireAfter >= expectedFire && fireAfter <= expectedFire + TICK, `fired after ${fireAfter} ms, expected ${expectedFire} ms`);
  // Reset: the 5m window drops below 14.4 x 0.1% once fewer than 28.8 s of the 15% remain in it.
  const expectedReset = 5 * MINUTE - (14.4 * 0.001 * 5 * MINUTE) / 0.15;
  const resetAfter = Date.parse(resolved.at) - stop;
  t.true(resetAfter >= expectedReset && resetAfter <= expectedReset + TICK, `reset ${resetAfter} ms after the errors stopped, expected ${expectedReset} ms`);
  t.is(resolved.startsAt, fired.at);
  // The 6h tier never fires: its burn rate (about 4.2) stays under 6.
  t.falsy(firstTransition(h.events, 'firing', { tier: 'page_6h' }));

  // Budget consumed: exactly the 180 bad spans, out of 0.1% of all spans.
  const slo = (await h.processor.stats()).slos[0];
  t.is(slo.events.total, total);
  t.is(slo.events.bad, 180);
  t.is(slo.errorBudget.consumedEvents, 180);
  t.true(Math.abs(slo.errorBudget.consumedFraction - 180 / (total * 0.001)) < 1e-9);
  t.true(Math.abs(slo.errorBudget.totalEvents - total * 0.001) < 1e-6);
  t.is(slo.compliance, 'breached', `180 bad of ${total} is below 99.9%`);
  t.true(Math.abs(slo.sli - (total - 180) / total) < 1e-12);
  await h.close();
});

test('tiers can be switched off one by one: without page_1h the 6h tier pages the outage', async (t) => {
  const h = sloHarness(availability({ alerting: { disabled_tiers: ['page_1h', 'ticket_1d', 'ticket_3d'] } }));
  const total6h = await steadyHistory(h);
  await h.tick(TICK);
  const outageAt = h.now;
  for (let i = 0; i < 30; i++) await h.tick(TICK, () => h.traffic(PER_TICK, PER_TICK));
  t.falsy(firstTransition(h.events, 'firing', { tier: 'page_1h' }));
  const fired = firstTransition(h.events, 'firing', { tier: 'page_6h' });
  t.truthy(fired);
  // 6 x 0.1% of the 6h window's spans must be bad: 129.6 s. The 6h window moves in
  // 5-minute slices, so spans that a sliding window would have dropped by then are
  // still in it: one more tick at most.
  const expected = timeToFireMs(1, 0.999, 6, 6 * HOUR);
  const took = Date.parse(fired.at) - outageAt;
  t.true(took >= expected && took <= expected + 2 * TICK, `fired after ${took} ms, expected ${expected} ms`);
  t.is(total6h, 43_200);
  const slo = (await h.processor.stats()).slos[0];
  t.deepEqual(
    slo.tiers.map((x) => x.tier),
    ['page_6h'],
  );
  await h.close();
});

test('a tier disabled in alerting.burn_rate.tiers is off for every SLO', async (t) => {
  const h = sloHarness({
    ...availability(),
    alerting: {
      burn_rate: {
        tiers: [
          { name: 'fast', severity: 'page', budget_consumed: 2, long_window: '1h', short_window: '5m', enabled: false },
          { name: 'slow', severity: 'ticket', budget_consumed: '5%', long_window: '6h', short_window: '30m' },
        ],
      },
    },
  });
  await steadyHistory(h);
  for (let i = 0; i < 20; i++) await h.tick(TICK, () => h.traffic(PER_TICK, PER_TICK));
  t.deepEqual([...new Set(h.events.map((e) => e.labels.tier))], ['slow']);
  await h.close();
});

test('the minimum-events guard keeps a low-traffic service from paging on one failure', async (t) => {
  const h = sloHarness(availability({ alerting: { disabled_tiers: ['ticket_1d', 'ticket_3d'] } }));
  await h.prefill(6 * HOUR, 5 * MINUTE, 1); // one span every five minutes
  await h.tick(TICK, () => h.traffic(1, 1)); // one failure: burn rates are huge, but 1 < min_bad_events (2)
  t.deepEqual(h.events, []);
  const slo = (await h.processor.stats()).slos[0];
  t.true(slo.burnRates['1h'] > 14.4 && slo.burnRates['5m'] > 14.4, 'both windows burn fast');
  t.false(slo.tiers[0].conditionMet);
  await h.tick(TICK, () => h.traffic(1, 1)); // a second failure passes the guard
  t.truthy(firstTransition(h.events, 'firing', { tier: 'page_1h' }));
  await h.close();
});

test('min_events: a tier needs that many spans in its long window', async (t) => {
  const h = sloHarness(availability({ alerting: { disabled_tiers: ['ticket_1d', 'ticket_3d'], min_events: 100 } }));
  await h.prefill(6 * HOUR, 5 * MINUTE, 1);
  for (let i = 0; i < 5; i++) await h.tick(TICK, () => h.traffic(1, 1));
  t.deepEqual(h.events, [], '12 + 5 spans in the hour: below 100');
  await h.tick(TICK, () => h.traffic(100, 100));
  t.truthy(firstTransition(h.events, 'firing', { tier: 'page_1h' }));
  await h.close();
});

// Time to fire of the 1h tier for a range of error ratios, end to end: 100 spans per
// 10 s, a clean history, then a constant error ratio until page_1h fires.
for (const ratio of [1, 0.5, 0.15, 0.05, 0.02]) {
  test(`time to fire at ${ratio * 100}% errors matches the Workbook within one evaluation interval`, async (t) => {
    const perTick = 100;
    const h = sloHarness(availability({ alerting: { disabled_tiers: ['page_6h', 'ticket_1d', 'ticket_3d'] } }));
    await h.prefill(5 * HOUR, 5 * MINUTE, perTick * 30);
    await h.prefill(HOUR, TICK, perTick);
    const start = h.now;
    const expected = timeToFireMs(ratio, 0.999, 14.4, HOUR);
    let bad = 0;
    while (h.now - start < expected + 3 * TICK && !firstTransition(h.events, 'firing', { tier: 'page_1h' })) {
      await h.tick(TICK, () => h.traffic(perTick, ratio * perTick));
      bad += ratio * perTick;
    }
    const fired = firstTransition(h.events, 'firing', { tier: 'page_1h' });
    t.truthy(fired, 'fired');
    const took = Date.parse(fired.at) - start;
    t.true(took >= expected && took <= expected + TICK, `fired after ${took} ms, expected ${expected} ms`);
    // The 1h burn rate at that moment: just above 14.4 (it crossed during the last interval).
    t.true(fired.value > 14.4 && fired.value <= 14.4 + (ratio * perTick) / (360 * perTick) / 0.001 + 1e-9, `burn rate ${fired.value}`);
    // Budget consumed so far, exactly the bad spans.
    const slo = (await h.processor.stats()).slos[0];
    t.is(slo.errorBudget.consumedEvents, bad);
    await h.close();
  });
}
