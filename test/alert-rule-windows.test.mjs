// Rules whose value scales with the window (request_rate, attribute count and sum) are
// estimated over exactly the window: the slices inside it whole, the oldest one pro-rated.
// Before, they read the window's newest N slices, the newest partial: a count up to one
// slice low, and a rate divided by the time those slices covered (1 ms after a slice
// boundary, or after start, a single flush made a huge rate).
import test from 'ava';
import { SECOND, sloHarness } from './helpers/slo.mjs';

const near = (t, actual, expected, what) => t.true(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} vs ${expected}`);
const valueOf = async (h, name) => (await h.processor.stats()).alerts.firing.find((a) => a.alertname === name)?.value;
const firingNames = async (h) => (await h.processor.stats()).alerts.firing.map((a) => a.alertname).sort();

test('attribute count over 30s: steady traffic counts one window of it at every phase of the slices', async (t) => {
  // 100 spans a second with the attribute, recorded once a second: 3000 per 30 s.
  const rule = (name, bound) => ({ name, type: 'attribute', attribute: 'order.id', aggregate: 'count', window: '30s', ...bound });
  const h = sloHarness({ alerting: { rules: [rule('Count', { above: 0 }), rule('Low', { below: 2500 }), rule('High', { above: 3500 })] } });
  const seen = [];
  for (let s = 1; s <= 90; s++) {
    // flushes at whole seconds; evaluated at the flush, and half a second later
    await h.tick(SECOND / 2);
    const half = await valueOf(h, 'Count');
    await h.tick(SECOND / 2, () => h.traffic(100, 0, { attributes: { 'order.id': s } }));
    if (s <= 40) continue; // while the slice [0 s, 10 s), which has no flush at 0 s, is in the window
    seen.push(s);
    // At a whole second T the closed window [T - 30 s, T] holds the 31 flushes T - 30 ... T: 3100.
    // The oldest slice, [T - p - 30 s, T - p - 20 s) at phase p = T mod 10 s, lies 10 - p seconds
    // inside and holds 10 flushes; pro-rated (10 - p)/10 x 1000 = the 10 - p flushes inside, exactly.
    near(t, await valueOf(h, 'Count'), 3100, `count at ${s} s`);
    // Half a second earlier, [T - 30.5 s, T - 0.5 s] holds the 30 flushes T - 30 ... T - 1: 3000.
    // The estimate: the current slice's p flushes, 20 whole-slice flushes, and the oldest slice
    // pro-rated (10.5 - p)/10 of its 10 flushes: (p + 20 + 10.5 - p) x 100 = 3050, half a flush over.
    near(t, half, 3050, `count at ${s - 0.5} s`);
  }
  t.is(seen.length, 50);
  t.deepEqual(await firingNames(h), ['Count'], 'neither bound fires on 3000 per 30 s');
  t.deepEqual(h.events.filter((e) => e.alertname !== 'Count'), []);
  await h.close();
});

test('attribute sum over 1m is pro-rated like the count', async (t) => {
  // 10 spans a second carrying value 2: 20 a second, 1200 a minute.
  const h = sloHarness({ alerting: { rules: [{ name: 'Sum', type: 'attribute', attribute: 'v', aggregate: 'sum', window: '1m', above: 0 }] } });
  for (let s = 1; s <= 75; s++) await h.tick(SECOND, () => h.traffic(10, 0, { attributes: { v: 2 } }));
  // at 75 s: [15 s, 75 s] holds the flushes at 15 ... 75 s, 61 x 20
  near(t, await valueOf(h, 'Sum'), 1220, 'sum at 75 s');
  await h.tick(SECOND / 4);
  // at 75.25 s: [15.25 s, 75.25 s] holds 16 ... 75 (1200); the estimate pro-rates the oldest slice
  // [10 s, 20 s) (flushes 10 ... 19, 200) by 4.75/10: 95, plus 20 ... 75 (56 x 20 = 1120): 1215
  near(t, await valueOf(h, 'Sum'), 1215, 'sum at 75.25 s');
  await h.close();
});

test('request rate: a first evaluation right after start is taken over one slice, not over 1 ms', async (t) => {
  const h = sloHarness({ alerting: { rules: [{ name: 'Rate', type: 'request_rate', window: '1m', above: 0 }, { name: 'Surge', type: 'request_rate', window: '1m', above: 150 }] } });
  // 100 spans 1 ms after start: 100 / 10 s = 10/s (before: 100 / 1 ms = 100 000/s, and Surge fired)
  await h.tick(1, () => h.traffic(100));
  near(t, await valueOf(h, 'Rate'), 10, 'rate at 1 ms');
  t.deepEqual(await firingNames(h), ['Rate']);
  await h.close();
});

test('request rate over 1m on steady traffic, evaluated 1 ms after each flush, stays at the traffic rate', async (t) => {
  const rule = (name, bound) => ({ name, type: 'request_rate', window: '1m', ...bound });
  const h = sloHarness({ alerting: { rules: [rule('Rate', { above: 0 }), rule('Surge', { above: 150 }), rule('Drop', { below: 50 })] } });
  for (let s = 1; s <= 150; s++) {
    h.clock.advance(SECOND - 1);
    h.traffic(100);
    await h.flush();
    await h.tick(1);
    // from 61 s, [T - 60 s, T] (T = s seconds + 1 ms) holds the 60 flushes s - 59 ... s: 6000, 100/s;
    // the pro-rated oldest slice may count one flush more or less: 100 +- 100/60
    if (s > 60) {
      const rate = await valueOf(h, 'Rate');
      t.true(Math.abs(rate - 100) <= 100 / 60 + 1e-9, `rate ${rate}/s at ${s} s`);
    }
  }
  t.deepEqual(await firingNames(h), ['Rate']);
  t.deepEqual(h.events.filter((e) => e.alertname !== 'Rate'), []);
  await h.close();
});
