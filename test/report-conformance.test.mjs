// stats() against the StatsReport schema of design.md ("StatsReport is plain JSON")
// and the README's "The report", on both back ends, in edge states.
import test from 'ava';
import * as hdr from 'hdr-histogram-js';
import { SpanMeterProcessor, formatStatsTable, OVERFLOW_NAME } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider, manualClock } from './helpers/spans.mjs';

const MS = 1e6; // nanoseconds
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0); // on a boundary of every window slice
const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];
const LATENCY_KEYS = ['min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'];
const PERCENTILES = { p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9 };
/** Window -> [slice ms, slices per window] (docs/internals.md, "Series and rolling windows"). */
const WINDOWS = { '1m': [10_000, 6], '5m': [60_000, 5], '15m': [300_000, 3], '1h': [900_000, 4] };
const sortedKeys = (o) => Object.keys(o).sort();
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;
const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** A span recorded (flushed) at `recordedMs` is in window w at `nowMs` (docs/internals.md, "Windows"). */
function inWindow(w, recordedMs, nowMs) {
  const [sliceMs, n] = WINDOWS[w];
  const i = Math.floor(recordedMs / sliceMs);
  const nk = Math.floor(nowMs / sliceMs);
  return nk - n < i && i <= nk;
}

/** An HDR histogram as the report's (1 µs .. 1 h, 3 digits), for exact expected percentiles. */
function histogramOf(valuesUs) {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (const v of valuesUs) h.recordValue(v);
  return h;
}

/** Checks one operation against OperationStats, its `histogram` against its numbers. */
function checkOperation(t, op) {
  const where = `${op.service}/${op.name}/${op.kind}`;
  t.deepEqual(sortedKeys(op), ['count', 'errorRate', 'errors', 'histogram', 'kind', 'latencyMs', 'name', 'service', 'windows'], where);
  t.true(typeof op.service === 'string' && typeof op.name === 'string' && KINDS.includes(op.kind), where);
  t.true(isCount(op.count) && op.count > 0 && isCount(op.errors) && op.errors <= op.count, where);
  t.is(op.errorRate, op.errors / op.count, `${where} errorRate`);
  t.deepEqual(sortedKeys(op.latencyMs), [...LATENCY_KEYS].sort(), where);
  const l = op.latencyMs;
  t.true(LATENCY_KEYS.every((k) => finite(l[k]) && l[k] >= 0), `${where} latencies finite`);
  t.true(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${where} ordered`);
  t.true(l.min <= l.mean && l.mean <= l.max, `${where} mean`);
  t.deepEqual(sortedKeys(op.windows), sortedKeys(WINDOWS), where);
  for (const [name, w] of Object.entries(op.windows)) {
    t.deepEqual(sortedKeys(w), ['count', 'errors', 'p50', 'p99'], `${where} ${name}`);
    t.true(isCount(w.count) && w.count <= op.count && isCount(w.errors) && w.errors <= w.count, `${where} ${name} counts`);
    t.true(finite(w.p50) && finite(w.p99) && w.p50 <= w.p99 && w.p99 <= l.max, `${where} ${name} percentiles`);
    if (w.count === 0) t.deepEqual([w.p50, w.p99], [0, 0], `${where} ${name} empty`);
  }
  // V2 compressed base64, µs: the same count, min, max and percentiles (capped at the exact max, README)
  const h = hdr.decodeFromCompressedBase64(op.histogram);
  const maxUs = Math.round(l.max * 1000);
  t.is(h.totalCount, op.count, `${where} histogram count`);
  const sameBucket = (a, b) => h.lowestEquivalentValue(a) === h.lowestEquivalentValue(b);
  t.true(sameBucket(h.maxValue, maxUs), `${where} histogram max ${h.maxValue} vs ${maxUs} µs`);
  if (l.min > 0) t.true(sameBucket(h.minNonZeroValue, Math.round(l.min * 1000)), `${where} histogram min`);
  for (const [k, p] of Object.entries(PERCENTILES)) t.is(l[k], Math.min(h.getValueAtPercentile(p), maxUs) / 1000, `${where} ${k}`);
}

/** Checks a report against StatsReport: fields, types, finite numbers, totals, order; and that it prints. */
function checkReport(t, report, backend) {
  t.is(report.schemaVersion, 1);
  t.is(new Date(report.generatedAt).toISOString(), report.generatedAt, 'generatedAt is ISO 8601');
  t.is(report.backend, backend);
  t.deepEqual(sortedKeys(report.totals), ['dropped', 'errors', 'operations', 'overflowSpans', 'spans']);
  t.true(Object.values(report.totals.dropped).every(isCount), 'dropped: reason -> count');
  t.true(Array.isArray(report.operations));
  report.operations.forEach((op) => checkOperation(t, op));
  const sum = (f) => report.operations.reduce((a, op) => a + f(op), 0);
  const overflow = report.operations.filter((op) => op.name === OVERFLOW_NAME);
  t.is(report.totals.spans, sum((op) => op.count), 'spans: sum over operations');
  t.is(report.totals.errors, sum((op) => op.errors), 'errors: sum over operations');
  t.is(report.totals.operations, report.operations.length - overflow.length, 'operations: the overflow series aside');
  t.is(report.totals.overflowSpans, overflow[0]?.count ?? 0);
  t.true(report.operations.every((op, i) => i === 0 || report.operations[i - 1].count >= op.count), 'sorted by count, descending');
  t.deepEqual(JSON.parse(JSON.stringify(report)), report, 'plain JSON');
  const table = formatStatsTable(report);
  t.false(/NaN|Infinity|undefined/.test(table), table);
}

/** A processor on an injected clock, with a real provider. */
function setup(backend, options = {}) {
  const clock = manualClock(T0);
  const processor = new SpanMeterProcessor({ backend, clock, ...options });
  const { provider, tracer } = makeProvider(processor);
  return { clock, processor, provider, tracer };
}

const EDGE_STATES = {
  'no spans at all': async () => {},
  'one series, spans in the overflow series and a dropped span': async ({ processor, tracer }) => {
    // maxOperations 1: an unrecordable span is dropped and takes no series; op-0 takes the one series, every later one folds
    processor.onEnd({ resource: { attributes: { 'service.name': 'checkout' } }, name: 'first', kind: 0, duration: [Number.NaN, 0], status: { code: 0 } });
    for (let i = 0; i < 5; i++) endSpan(tracer, `op-${i}`, (i + 1) * MS, { error: i === 0 });
  },
  'windows all empty after two idle hours': async ({ processor, tracer, clock }) => {
    for (let i = 0; i < 5; i++) endSpan(tracer, 'op', 3 * MS);
    await processor.forceFlush();
    clock.advance(2 * 3_600_000);
  },
  'only error spans': async ({ tracer }) => {
    for (let i = 0; i < 7; i++) endSpan(tracer, 'op', (i + 1) * MS, { error: true });
  },
};

for (const [state, arrange] of Object.entries(EDGE_STATES)) {
  eachBackend(`the report conforms to StatsReport: ${state}, and after shutdown`, async (t, backend) => {
    const ctx = setup(backend, { maxOperations: 1 });
    await arrange(ctx);
    checkReport(t, await ctx.processor.stats(), backend);
    await ctx.provider.shutdown();
    checkReport(t, await ctx.processor.stats(), backend);
  });
}

eachBackend('windows hold what was recorded in their last N slices, at both sides of each boundary', async (t, backend) => {
  const { clock, processor, tracer, provider } = setup(backend);
  const recorded = []; // [recordedMs, µs, error]
  const burst = async (atMs, n, us, errors) => {
    clock.set(atMs);
    for (let i = 0; i < n; i++) {
      endSpan(tracer, 'op', us * 1000, { error: i < errors });
      recorded.push([atMs, us, i < errors]);
    }
    await processor.forceFlush(); // recorded at this clock reading
  };
  await burst(T0, 10, 10_000, 2);
  await burst(T0 + 9_999, 5, 20_000, 5); // the same 10 s slice, its last millisecond
  await burst(T0 + 50_000, 3, 30_000, 0);
  const maxUs = Math.max(...recorded.map(([, us]) => us));
  for (const at of [59_999, 60_000, 109_999, 110_000, 299_999, 300_000, 899_999, 900_000, 3_599_999, 3_600_000]) {
    const nowMs = T0 + at;
    clock.set(nowMs);
    const op = (await processor.stats()).operations[0];
    for (const w of Object.keys(WINDOWS)) {
      const spans = recorded.filter(([ms]) => inWindow(w, ms, nowMs));
      const h = histogramOf(spans.map(([, us]) => us));
      // the top of the value's HDR bucket, capped at the exact maximum (README, "The report")
      const pct = (p) => (spans.length === 0 ? 0 : Math.min(h.getValueAtPercentile(p), maxUs) / 1000);
      const expected = { count: spans.length, errors: spans.filter(([, , e]) => e).length, p50: pct(50), p99: pct(99) };
      t.deepEqual(op.windows[w], expected, `${w} at +${at} ms`);
    }
  }
  await provider.shutdown();
});

eachBackend('stats() after shutdown gives each call a report of its own', async (t, backend) => {
  const { processor, tracer, provider } = setup(backend);
  for (let i = 0; i < 4; i++) endSpan(tracer, 'op', 2 * MS, { error: i === 0 });
  await provider.shutdown();
  const first = await processor.stats();
  // what a caller may do with its report before logging it
  delete first.operations[0].histogram;
  first.totals.dropped.mine = 1;
  first.operations.length = 0;
  const second = await processor.stats();
  t.not(second, first);
  t.is(second.operations.length, 1);
  t.deepEqual(second.totals.dropped, {});
  checkReport(t, second, backend);
});

eachBackend('a clock reading beyond a Date\'s range (nanoseconds) still gives an ISO 8601 generatedAt', async (t, backend) => {
  const config = {
    alerting: { rules: [{ name: 'Errors', type: 'error_rate', selector: { service: 'checkout' }, window: '5m', above: 10 }] },
    notifiers: { log: { enabled: false } },
  };
  const processor = new SpanMeterProcessor({ backend, config, clock: () => T0 * 1e6 });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 20; i++) endSpan(tracer, 'op', 2 * MS, { error: true });
  await t.notThrowsAsync(processor.evaluateNow());
  const report = await processor.stats();
  checkReport(t, report, backend);
  t.true(report.diagnostics.clockFailures > 0, 'counted as a clock failure (README, option clock)');
  await t.notThrowsAsync(provider.shutdown());
  checkReport(t, await processor.stats(), backend);
});

test('formatStatsTable shows no 1m p99 for an operation without spans in the last minute', async (t) => {
  const { clock, processor, tracer, provider } = setup('js');
  endSpan(tracer, 'idle', 3 * MS);
  await processor.forceFlush();
  clock.advance(2 * 3_600_000);
  endSpan(tracer, 'busy', 4 * MS);
  const table = formatStatsTable(await processor.stats());
  await provider.shutdown();
  const lastCell = (name) => table.split('\n').find((line) => line.includes(` ${name} `)).trim().split(/\s+/).at(-1);
  t.is(lastCell('idle'), '-', table);
  t.is(lastCell('busy'), '4.00', table);
});
