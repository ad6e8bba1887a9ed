// Latency SLIs are exact (good = spans at or under the threshold, counted at
// ingest), selectors pick exactly their spans, and the status fields add up.
import test from 'ava';
import { rng } from './helpers/spans.mjs';
import { SpanKind, sloHarness } from './helpers/slo.mjs';

const THRESHOLD_NS = 250_000_000; // 250 ms

function latencySlo(extra = {}) {
  return {
    slos: [
      {
        name: 'checkout-latency',
        selector: { service: 'checkout' },
        indicator: { type: 'latency', latency_threshold: '250ms' },
        objective: 99,
        ...extra,
      },
    ],
  };
}

test('the latency SLI equals the exact fraction of spans at or under the threshold', async (t) => {
  const h = sloHarness(latencySlo());
  const random = rng(42);
  let good = 0;
  let total = 0;
  const emit = (ns) => {
    h.span({ durationNs: ns });
    total++;
    if (ns <= THRESHOLD_NS) good++;
  };
  for (let i = 0; i < 4000; i++) emit(Math.round(THRESHOLD_NS * Math.exp((random() - 0.7) * 1.5)));
  // At the threshold and one nanosecond on either side.
  for (let i = 0; i < 50; i++) {
    emit(THRESHOLD_NS);
    emit(THRESHOLD_NS + 1);
    emit(THRESHOLD_NS - 1);
  }
  // 250.05 ms shares a 3-digit HDR bucket with 250 ms: a histogram could not tell them apart.
  for (let i = 0; i < 300; i++) emit(250_050_000);
  await h.tick(10_000);
  const slo = (await h.processor.stats()).slos[0];
  t.is(slo.events.total, total);
  t.is(slo.events.good, good);
  t.is(slo.events.bad, total - good);
  t.is(slo.sli, good / total);
  t.true(good > 0 && good < total);
  t.is(slo.latencyThresholdMs, 250);
  t.is(slo.indicator, 'latency');
  await h.close();
});

test('a latency SLI ignores errors; latency_and_availability counts a span bad when slow or failed', async (t) => {
  const config = {
    slos: [
      { name: 'latency-only', selector: { service: 'checkout' }, indicator: { type: 'latency', latency_threshold: '100ms' }, objective: 99 },
      { name: 'combined', selector: { service: 'checkout' }, indicator: { type: 'latency_and_availability', latency_threshold: '100ms' }, objective: 99 },
      { name: 'availability', selector: { service: 'checkout' }, indicator: 'availability', objective: 99 },
    ],
  };
  const h = sloHarness(config);
  for (let i = 0; i < 100; i++) h.span({ durationMs: 50 }); // good everywhere
  for (let i = 0; i < 10; i++) h.span({ durationMs: 150 }); // slow
  for (let i = 0; i < 7; i++) h.span({ durationMs: 50, error: true }); // failed
  for (let i = 0; i < 3; i++) h.span({ durationMs: 150, error: true }); // slow and failed
  await h.tick(10_000);
  const byName = Object.fromEntries((await h.processor.stats()).slos.map((s) => [s.name, s.events]));
  t.deepEqual(byName['latency-only'], { total: 120, good: 107, bad: 13 });
  t.deepEqual(byName.combined, { total: 120, good: 100, bad: 20 });
  t.deepEqual(byName.availability, { total: 120, good: 110, bad: 10 });
  await h.close();
});

test('selectors: service, span name glob, span kind and attribute values', async (t) => {
  const config = {
    slos: [
      {
        name: 'api-posts',
        selector: { service: 'check*', span_name: 'POST /api/*', span_kind: ['server'], attributes: { 'http.route': '/api/pay', retried: false } },
        indicator: 'availability',
        objective: 99,
      },
    ],
  };
  const h = sloHarness(config);
  const attrs = { 'http.route': '/api/pay', retried: false };
  for (let i = 0; i < 5; i++) h.span({ name: 'POST /api/pay', attributes: attrs }); // counted
  h.span({ name: 'POST /api/pay', attributes: attrs, error: true }); // counted, bad
  h.span({ name: 'POST /api/pay', attributes: { 'http.route': '/api/pay', retried: true } }); // attribute value differs
  h.span({ name: 'POST /api/pay', attributes: { 'http.route': '/api/refund', retried: false } });
  h.span({ name: 'POST /api/pay' }); // no attributes
  h.span({ name: 'POST /api/pay', attributes: attrs, kind: SpanKind.CLIENT }); // wrong kind
  h.span({ name: 'GET /api/pay', attributes: attrs }); // name does not match
  await h.tick(10_000);
  const slo = (await h.processor.stats()).slos[0];
  t.deepEqual(slo.events, { total: 6, good: 5, bad: 1 });
  t.is(slo.service, null, 'a glob names no single service');
  await h.close();
});

test('spans beyond the cardinality cap still count toward the SLOs that select them', async (t) => {
  const h = sloHarness(latencySlo({ selector: { service: 'checkout', span_name: 'op-*' } }), { maxOperations: 2 });
  for (let op = 0; op < 6; op++) {
    for (let i = 0; i < 10; i++) h.span({ name: `op-${op}`, durationMs: op < 3 ? 10 : 300 });
  }
  h.span({ name: 'other', durationMs: 10 }); // overflowed too, but not selected
  await h.tick(10_000);
  const report = await h.processor.stats();
  t.true(report.totals.overflowSpans > 0, 'some spans overflowed');
  t.deepEqual(report.slos[0].events, { total: 60, good: 30, bad: 30 });
  await h.close();
});

test('compliance, error budget and time to exhaustion', async (t) => {
  const config = { slos: [{ name: 'a', selector: { service: 'checkout' }, indicator: 'availability', objective: '99%', at_risk_below: 25, alerting: { enabled: false } }] };
  const h = sloHarness(config);
  h.traffic(1000, 5);
  await h.tick(10_000);
  let slo = (await h.processor.stats()).slos[0];
  t.is(slo.compliance, 'met');
  t.true(Math.abs(slo.errorBudget.totalEvents - 10) < 1e-9);
  t.is(slo.errorBudget.consumedEvents, 5);
  t.true(Math.abs(slo.errorBudget.remainingFraction - 0.5) < 1e-9);
  // All of it happened within the last hour: the 1h burn rate is 0.5. That hour added 1000 x 1% = 10
  // events of budget and spent 5: at this pace the budget grows, and is never exhausted.
  t.true(Math.abs(slo.burnRates['1h'] - 0.5) < 1e-9);
  t.is(slo.timeToExhaustionMs, null);
  t.deepEqual(slo.tiers, [], 'alerting disabled: no tiers');

  h.span({ error: true });
  h.span({ error: true });
  h.span({ error: true });
  await h.tick(10_000);
  slo = (await h.processor.stats()).slos[0];
  t.is(slo.compliance, 'at_risk', '8 of 10.03 allowed: under 25% left');

  h.traffic(3, 3);
  await h.tick(10_000);
  slo = (await h.processor.stats()).slos[0];
  t.is(slo.compliance, 'breached');
  t.is(slo.timeToExhaustionMs, 0);
  t.true(slo.sli < 0.99);
  await h.close();
});

test('malformed spans never make the SLO, rule and error hooks throw; invalid durations count nowhere', async (t) => {
  const { SpanMeterProcessor } = await import('spanmeter');
  const processor = new SpanMeterProcessor({
    maxOperations: 1, // everything but the first series overflows, and is matched per span
    config: {
      slos: [{ name: 'a', selector: { attributes: { x: 1 } }, indicator: 'availability', objective: 99 }],
      alerting: { rules: [{ name: 'Sum', type: 'attribute', attribute: 'x', above: 100 }] },
      notifiers: { log: { enabled: false } },
    },
  });
  const garbage = [
    {},
    { name: 5 },
    { name: 'a', kind: 99, status: null },
    { name: 'b', duration: 'x', status: { code: 2 }, events: 7 },
    { name: 'c', resource: { attributes: null }, status: { code: 2 }, events: [null, { name: 'exception', attributes: null }] },
    { name: 'd', duration: [0, 5000], attributes: { x: 1 }, status: { code: 2 } },
  ];
  for (const span of garbage) processor.onEnd(span);
  const report = await processor.stats();
  t.deepEqual(Object.keys(report.totals.dropped), ['invalid_duration']);
  t.deepEqual(report.slos[0].events, { total: 1, good: 0, bad: 1 }, 'only the well-formed span with x = 1');
  await processor.shutdown();
});
