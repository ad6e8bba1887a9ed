// "good = duration <= latency_threshold ... in microseconds with nanosecond
// resolution". A span that lasts exactly the threshold must be good. For thresholds
// of a second or more with nanosecond digits, the span's duration was computed as
// seconds*1e6 + ns/1e3 (two roundings) and the threshold as round(ms*1e6)/1e3 (one),
// so the span came out one ulp above its own threshold and counted as bad.
import test from 'ava';
import { sloHarness } from './helpers/slo.mjs';

const NS = 1_133_585_853; // 1.133585853 s

test('latency SLO: a span of exactly the threshold (1.133585853s) is good', async (t) => {
  const h = sloHarness({
    slos: [{ name: 'lat', selector: { service: 'checkout' }, indicator: { type: 'latency', latency_threshold: '1.133585853s' }, objective: 99, time_window: '30d' }],
  });
  h.span({ durationNs: NS }); // exactly at the threshold: good
  h.span({ durationNs: NS + 1 }); // 1 ns over: bad
  h.clock.advance(1000);
  await h.flush();
  const slo = (await h.processor.stats()).slos[0];
  t.deepEqual(slo.events, { total: 2, good: 1, bad: 1 });
  await h.close();
});

test('latency rule: p50 of spans all exactly at `above` (1133.585853ms) is not above it', async (t) => {
  const h = sloHarness({
    alerting: { rules: [{ name: 'Slow', type: 'latency', selector: { service: 'checkout' }, window: '5m', percentile: 50, above: 1133.585853, min_events: 1 }] },
  });
  const transitions = await h.tick(10_000, () => {
    for (let i = 0; i < 10; i++) h.span({ durationNs: NS });
  });
  t.deepEqual(transitions.map((e) => e.to), [], 'p50 = 1133.585853 ms is not above 1133.585853 ms');
  await h.close();
});
