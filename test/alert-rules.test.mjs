// Alert rules: exact latency percentiles, request rate bounds with warm-up, and
// business rules over span attributes (only the attributes rules name are read).
import test from 'ava';
import { exactPercentile, rng } from './helpers/spans.mjs';
import { SECOND, sloHarness } from './helpers/slo.mjs';

const TICK = 10 * SECOND;

test('latency rule: p99 over the window above the threshold, decided exactly at the boundary', async (t) => {
  const rule = { name: 'SlowCheckout', type: 'latency', selector: { service: 'checkout' }, window: '1m', percentile: 99, above: '100ms' };
  for (const slow of [10, 11]) {
    const h = sloHarness({ alerting: { rules: [rule] } });
    // 1000 spans; `slow` of them take 100.001 ms, the rest exactly 100 ms (at the threshold).
    await h.tick(TICK, () => {
      for (let i = 0; i < 1000; i++) h.span({ durationNs: i < slow ? 100_001_000 : 100_000_000 });
    });
    const firing = (await h.processor.stats()).alerts.firing;
    // Nearest rank 990: with 10 slow spans the 990th is 100 ms (not above); with 11 it is 100.001 ms.
    t.is(firing.length, slow === 11 ? 1 : 0, `${slow} slow spans`);
    if (slow === 11) {
      t.is(firing[0].value, 11 / 1000, 'value: the fraction slower than the threshold');
      t.is(firing[0].annotations.summary, 'p99 latency over 1m above 100ms');
    }
    await h.close();
  }
});

test('latency rule agrees with the exact nearest-rank percentile on random data', async (t) => {
  for (const [seed, percentile] of [
    [1, 99],
    [2, 95],
    [3, 50],
    [4, 99.9],
  ]) {
    const random = rng(seed);
    const durations = Array.from({ length: 2000 }, () => Math.round(80e6 + random() * 40e6)); // 80-120 ms, ns
    const sorted = [...durations].sort((a, b) => a - b);
    const threshold = exactPercentile(sorted, percentile); // the rule must not fire at exactly the percentile...
    for (const [thresholdNs, expectFiring] of [
      [threshold, false],
      [threshold - 1000, true], // ...and must fire 1 µs below it
    ]) {
      const ms = thresholdNs / 1e6;
      const h = sloHarness({ alerting: { rules: [{ name: 'P', type: 'latency', selector: { service: 'checkout' }, window: '1m', percentile, above: `${ms}ms` }] } });
      await h.tick(TICK, () => durations.forEach((ns) => h.span({ durationNs: ns })));
      const firing = (await h.processor.stats()).alerts.firing.length === 1;
      t.is(firing, expectFiring, `seed ${seed}, p${percentile}, threshold ${ms} ms`);
      await h.close();
    }
  }
});

test('request rate below a bound waits for one full window, then fires on missing traffic', async (t) => {
  const h = sloHarness({
    alerting: { rules: [{ name: 'TrafficDrop', type: 'request_rate', selector: { service: 'checkout' }, window: '1m', below: 1 }] },
  });
  // No traffic at all: for the first 50 s the window is not full, so nothing fires...
  for (let i = 0; i < 5; i++) await h.tick(TICK);
  t.deepEqual(h.events, []);
  // ...at 60 s it is, and an empty minute is a rate of 0.
  await h.tick(TICK);
  t.deepEqual(
    h.events.map((e) => [e.to, e.value]),
    [['firing', 0]],
  );
  // 2 spans/s: resolves once the minute holds more than 60 spans.
  for (let i = 0; i < 6; i++) await h.tick(TICK, () => h.traffic(20));
  t.is(h.events.at(-1).to, 'resolved');
  h.events.length = 0;
  // Traffic drops to 0.5/s, one span every 2 s: fires again once the 1m window's rate goes under 1/s.
  for (let i = 0; i < 6; i++) {
    for (let s = 0; s < 4; s++) {
      h.clock.advance(2 * SECOND);
      h.traffic(1);
      await h.flush();
    }
    await h.tick(2 * SECOND, () => h.traffic(1));
  }
  const fired = h.events.find((e) => e.to === 'firing');
  t.truthy(fired);
  t.is(fired.valueUnit, 'per_second');
  t.true(fired.value < 1);
  // At 180 s the window [120 s, 180 s] holds the 20 spans of the 2/s traffic recorded at 120 s (the
  // first instant of the window's oldest slice, which lies wholly inside it) and the 30 spans of the
  // 0.5/s traffic: 50/60 per second. Ten seconds later the 2/s traffic has left it: [130 s, 190 s]
  // holds the one-span flushes at 130, 132, ..., 190 s, 31 spans.
  t.is((await h.processor.stats()).alerts.firing[0].value, 50 / 60);
  for (let s = 0; s < 4; s++) {
    h.clock.advance(2 * SECOND);
    h.traffic(1);
    await h.flush();
  }
  await h.tick(2 * SECOND, () => h.traffic(1));
  t.is((await h.processor.stats()).alerts.firing[0].value, 31 / 60);
  await h.close();
});

test('request rate above a bound', async (t) => {
  const h = sloHarness({ alerting: { rules: [{ name: 'Surge', type: 'request_rate', selector: { service: 'checkout' }, window: '1m', above: 10 }] } });
  for (let i = 0; i < 6; i++) await h.tick(TICK, () => h.traffic(50)); // 5/s
  t.deepEqual(h.events, []);
  for (let i = 0; i < 6; i++) await h.tick(TICK, () => h.traffic(300)); // 30/s
  t.is(h.events.filter((e) => e.to === 'firing').length, 1);
  await h.close();
});

test('business rules: the sum and the count of a span attribute over a window', async (t) => {
  const h = sloHarness({
    alerting: {
      rules: [
        { name: 'RevenueHigh', type: 'attribute', selector: { service: 'checkout', span_name: 'POST /orders' }, attribute: 'order.value', aggregate: 'sum', window: '5m', above: 1000 },
        { name: 'Declines', type: 'attribute', selector: { service: 'checkout', attributes: { 'payment.status': 'declined' } }, aggregate: 'count', window: '5m', above: 3 },
        { name: 'RevenueLow', type: 'attribute', selector: { service: 'checkout', span_name: 'POST /orders' }, attribute: 'order.value', window: '1m', below: 100 },
      ],
    },
  });
  const order = (value, status = 'ok') => h.span({ name: 'POST /orders', attributes: { 'order.value': value, 'payment.status': status } });
  await h.tick(TICK, () => {
    order(300);
    order(300);
    order('not a number'); // ignored by the sum
    order(300, 'declined');
    order(50, 'declined');
    h.span({ name: 'GET /orders', attributes: { 'order.value': 5000 } }); // not selected by RevenueHigh
  });
  const first = await h.processor.stats();
  t.is(first.alerts.evaluation.nonNumericValues, 2, "'not a number', skipped by both sum rules that select it");
  let firing = first.alerts.firing.map((a) => [a.alertname, a.value]);
  t.deepEqual(firing, [], '950 <= 1000; 2 declines <= 3; RevenueLow waits for its first full minute');
  await h.tick(TICK, () => {
    order(100, 'declined');
    order(1, 'declined');
  });
  firing = (await h.processor.stats()).alerts.firing.map((a) => [a.alertname, a.value, a.valueUnit]);
  t.deepEqual(firing, [
    ['RevenueHigh', 1051, 'sum'],
    ['Declines', 4, 'count'],
  ]);
  // The orders recorded at 20 s sit on the first instant of the window [20 s, 80 s] six ticks later
  // (their slice [20 s, 30 s) lies wholly inside it, so it counts whole); at 90 s the 1m sum is 0:
  // RevenueLow fires; the 5m rules still hold.
  for (let i = 0; i < 6; i++) await h.tick(TICK);
  t.false((await h.processor.stats()).alerts.firing.some((a) => a.alertname === 'RevenueLow'), 'the 1m sum at 80 s is 101');
  await h.tick(TICK);
  firing = (await h.processor.stats()).alerts.firing.map((a) => a.alertname);
  t.deepEqual(firing, ['RevenueHigh', 'Declines', 'RevenueLow']);
  await h.close();
});
