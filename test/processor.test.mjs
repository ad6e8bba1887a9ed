// SpanMeterProcessor semantics through a real NodeTracerProvider.
import test from 'ava';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { SpanMeterProcessor, OVERFLOW_NAME } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider, manualClock, recordOnlySampler, SpanKind } from './helpers/spans.mjs';

const MS = 1e6; // nanoseconds

/** HDR reports the top of a value's bucket: within 1/1024 above it at 3 digits. */
const inBucket = (t, got, expected, what) => t.true(got >= expected && got - expected <= expected / 1024 + 0.001, `${what}: ${got} vs ${expected}`);

eachBackend('RECORD-only spans (not sampled) are counted', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor, { sampler: recordOnlySampler });
  let sampled = 0;
  for (let i = 0; i < 1000; i++) {
    const span = tracer.startSpan('unsampled');
    sampled += span.spanContext().traceFlags & 1;
    span.end();
  }
  t.is(sampled, 0, 'the sampler really did not sample');
  const report = await processor.stats();
  await provider.shutdown();
  t.is(report.totals.spans, 1000);
  t.is(report.operations[0].name, 'unsampled');
});

eachBackend('errors are spans with status ERROR; series are keyed by service, name and kind', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor, { serviceName: 'orders' });
  const other = makeProvider(processor, { serviceName: 'payments' });
  for (let i = 0; i < 300; i++) endSpan(tracer, 'GET /orders', 5 * MS, { kind: SpanKind.SERVER, error: i % 3 === 0 });
  for (let i = 0; i < 200; i++) endSpan(tracer, 'GET /orders', 7 * MS, { kind: SpanKind.CLIENT });
  for (let i = 0; i < 100; i++) endSpan(other.tracer, 'GET /orders', 9 * MS, { kind: SpanKind.SERVER, error: true });
  // a span whose status is OK or UNSET is not an error
  const ok = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER });
  ok.setStatus({ code: 1 });
  ok.end();
  const report = await processor.stats();
  await Promise.all([provider.shutdown(), other.provider.shutdown()]);
  t.deepEqual(
    report.operations.map((o) => [o.service, o.name, o.kind, o.count, o.errors]),
    [
      ['orders', 'GET /orders', 'server', 301, 100],
      ['orders', 'GET /orders', 'client', 200, 0],
      ['payments', 'GET /orders', 'server', 100, 100],
    ],
  );
  t.is(report.totals.errors, 200);
  t.is(report.totals.operations, 3);
  t.is(report.operations[2].errorRate, 1);
});

eachBackend('series beyond maxOperations fold into one overflow series, counted', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, maxOperations: 3 });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 10 + i; j++) endSpan(tracer, `op-${i}`, (i + 1) * MS);
  const report = await processor.stats();
  await provider.shutdown();
  const named = report.operations.filter((o) => o.name !== OVERFLOW_NAME);
  t.deepEqual(named.map((o) => o.name).sort(), ['op-0', 'op-1', 'op-2']);
  const overflow = report.operations.find((o) => o.name === OVERFLOW_NAME);
  const expected = Array.from({ length: 7 }, (_, k) => 13 + k).reduce((a, b) => a + b, 0);
  t.is(overflow.count, expected);
  t.is(report.totals.overflowSpans, expected);
  t.is(report.totals.operations, 3);
  t.is(report.totals.spans, Array.from({ length: 10 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0));
  // overflow latencies are real: its minimum is op-3's 4 ms
  t.is(overflow.latencyMs.min, 4);
});

eachBackend('series are capped in end order when an error hook needs its series id mid-batch', async (t, backend) => {
  // error grouping (on by default) hooks ERROR spans with their series id in onEnd,
  // while other spans are interned at the flush: the cap must still follow end order
  const processor = new SpanMeterProcessor({ backend, maxOperations: 2 });
  t.true(processor.config.trends.errorAnalysis.enabled);
  const { provider, tracer } = makeProvider(processor);
  endSpan(tracer, 'first', 1 * MS);
  endSpan(tracer, 'second', 2 * MS);
  endSpan(tracer, 'third', 3 * MS, { error: true });
  endSpan(tracer, 'second', 2 * MS, { error: true });
  endSpan(tracer, 'fourth', 4 * MS);
  const report = await processor.stats();
  await provider.shutdown();
  const byName = Object.fromEntries(report.operations.map((o) => [o.name, [o.count, o.errors]]));
  t.deepEqual(byName, { first: [1, 0], second: [2, 1], [OVERFLOW_NAME]: [2, 1] });
  t.is(report.totals.overflowSpans, 2);
});

eachBackend('a recorded batch lets go of its spans\' fields (names and kinds are not kept)', async (t, backend) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const processor = new SpanMeterProcessor({ backend, batchSize: 8 });
  const refs = [];
  (() => {
    for (let i = 0; i < 3; i++) {
      const kind = { garbage: i }; // an object where a kind belongs: counted, never kept
      refs.push(new WeakRef(kind));
      processor.onEnd({ resource: { attributes: { 'service.name': 's' } }, name: 'n', kind, duration: [0, 1000], status: { code: 0 } });
    }
  })();
  await processor.forceFlush();
  await new Promise(setImmediate);
  gc();
  t.deepEqual(refs.map((r) => r.deref()), [undefined, undefined, undefined]);
  const report = await processor.stats();
  t.is(report.totals.spans, 3);
  t.is(report.diagnostics.invalidKind, 3);
  await processor.shutdown();
});

eachBackend('operations are sorted by count, descending', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  const counts = { a: 5, b: 50, c: 20, d: 1 };
  for (const [name, n] of Object.entries(counts)) for (let i = 0; i < n; i++) endSpan(tracer, name, MS);
  const report = await processor.stats();
  await provider.shutdown();
  t.deepEqual(report.operations.map((o) => o.name), ['b', 'c', 'a', 'd']);
});

eachBackend('forceFlush makes every span ended before it visible; batches are recorded without waiting for the timer', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, batchSize: 64, flushIntervalMs: 3_600_000 });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 1000; i++) endSpan(tracer, 'op', MS);
  await processor.forceFlush();
  const report = await processor.stats();
  t.is(report.totals.spans, 1000);
  t.true(report.diagnostics.batches >= Math.floor(1000 / 64));
  await provider.shutdown();
});

eachBackend('windows rotate with the clock: 1m, 5m, 15m, 1h', async (t, backend) => {
  const clock = manualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const processor = new SpanMeterProcessor({ backend, clock });
  const { provider, tracer } = makeProvider(processor);
  const burst = (n, ms) => {
    for (let i = 0; i < n; i++) endSpan(tracer, 'op', ms * MS, { error: i % 10 === 0 });
  };
  const windows = async () => (await processor.stats()).operations[0].windows;

  burst(100, 10); // t = 0
  let w = await windows();
  t.deepEqual([w['1m'].count, w['5m'].count, w['15m'].count, w['1h'].count], [100, 100, 100, 100]);
  t.is(w['1m'].errors, 10);
  inBucket(t, w['1m'].p50, 10, '1m p50');

  clock.advance(70_000); // 1m window no longer holds t=0
  burst(50, 20);
  w = await windows();
  t.deepEqual([w['1m'].count, w['5m'].count, w['15m'].count, w['1h'].count], [50, 150, 150, 150]);
  inBucket(t, w['1m'].p50, 20, '1m p50');
  inBucket(t, w['1m'].p99, 20, '1m p99');
  inBucket(t, w['5m'].p99, 20, '5m p99');
  inBucket(t, w['5m'].p50, 10, '5m p50');

  clock.advance(5 * 60_000); // t = 6m10s: the 5m window keeps only data of the last 4-5 minutes
  w = await windows();
  t.deepEqual([w['1m'].count, w['5m'].count, w['15m'].count, w['1h'].count], [0, 0, 150, 150]);
  t.is(w['1m'].p50, 0);

  clock.advance(10 * 60_000); // t = 16m10s
  burst(10, 30);
  w = await windows();
  t.deepEqual([w['1m'].count, w['5m'].count, w['15m'].count, w['1h'].count], [10, 10, 10, 160]);

  clock.advance(60 * 60_000); // t = 76m10s: everything left the windows, the lifetime keeps it
  const report = await processor.stats();
  w = report.operations[0].windows;
  t.deepEqual([w['1m'].count, w['5m'].count, w['15m'].count, w['1h'].count], [0, 0, 0, 0]);
  t.is(report.operations[0].count, 160);
  t.is(report.operations[0].errors, 16);
  await provider.shutdown();
});

// serial: the ticket count is process-wide
eachBackend.serial('each report holds the spans ended before its snapshot, though later spans are recorded and sealed before its worker runs', async (t, backend) => {
  const clock = manualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const processor = new SpanMeterProcessor({ backend, clock });
  const { provider, tracer } = makeProvider(processor);
  const binding = backend === 'native' ? (await import('../native/index.js')).default : undefined;
  const before = binding?.outstandingSnapshotTickets();
  const pending = [];
  for (const [n, advance] of [[100, 0], [200, 10_000], [300, 60_000], [400, 3_600_000]]) {
    clock.advance(advance); // later slices: the earlier ones are queued for sealing
    for (let i = 0; i < n; i++) endSpan(tracer, 'op', (1 + (i % 50)) * MS);
    // not awaited: the next spans are recorded first. The report itself, as
    // stats() computes it: overlapping stats() calls share one (see processor-edges)
    pending.push(processor.computeReport());
  }
  const counts = (await Promise.all(pending)).map((r) => [r.totals.spans, r.operations[0].windows['1m'].count, r.operations[0].windows['1h'].count]);
  t.deepEqual(counts, [
    [100, 100, 100],
    [300, 300, 300],
    [600, 300, 600],
    [1000, 400, 400],
  ]);
  // native: every snapshot ticket was redeemed by the worker
  if (binding !== undefined) t.is(binding.outstandingSnapshotTickets(), before);
  await provider.shutdown();
});

eachBackend('300 concurrent stats() calls all get the full report', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 5000; i++) endSpan(tracer, `op${i % 20}`, (1 + (i % 50)) * MS);
  const reports = await Promise.all(Array.from({ length: 300 }, () => processor.stats()));
  t.deepEqual(new Set(reports.map((r) => `${r.totals.spans} spans in ${r.operations.length} operations`)), new Set(['5000 spans in 20 operations']));
  await provider.shutdown();
});

eachBackend('shutdown is idempotent; stats() after shutdown returns the final report; spans after it are counted', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 10; i++) endSpan(tracer, 'op', MS);
  const first = processor.shutdown();
  const second = processor.shutdown();
  t.is(first, second);
  await first;
  await processor.shutdown();
  const final = await processor.stats();
  t.is(final.totals.spans, 10);
  processor.onEnd({ name: 'late', kind: 0, duration: [0, 1000], status: { code: 0 }, resource: {} });
  const afterLate = await processor.stats();
  t.is(afterLate.totals.spans, 10);
  t.is(afterLate.totals.dropped.after_shutdown, 1);
  await provider.shutdown(); // the provider shuts the processor down once more
  t.is((await processor.stats()).totals.spans, 10);
});

test('option errors name the option', (t) => {
  const refused = (options, message) => t.throws(() => new SpanMeterProcessor(options), { code: 'SPANMETER_INVALID_OPTION', message }, JSON.stringify(options));
  refused({ maxOperations: 0 }, /option "maxOperations" must be an integer from 1 to 1000000, got 0/);
  refused({ maxOperations: 1_000_001 }, /option "maxOperations" must be an integer from 1 to 1000000, got 1000001/);
  refused({ significantDigits: 7 }, /option "significantDigits" must be an integer from 1 to 5, got 7/);
  refused({ batchSize: 1.5 }, /option "batchSize" must be an integer from 1 to 1048576, got 1.5/);
  // a batch past the cap used to reach the typed-array allocation: "Invalid typed array length"
  refused({ batchSize: 2 ** 53 }, /option "batchSize" must be an integer from 1 to 1048576/);
  // outside 2 µs..2^53 - 1 µs the back ends refuse it: the option is named, not the back end's internals
  refused({ highestTrackableMs: 0.001 }, /option "highestTrackableMs" must be a number of milliseconds from 0.002 to 9007199254740 .*got 0.001/);
  refused({ highestTrackableMs: 1e13 }, /option "highestTrackableMs" must be a number of milliseconds .*got 10000000000000/);
  refused({ flushIntervalMs: 0 }, /option "flushIntervalMs" must be a positive number of milliseconds up to 2147483647, got 0/);
  refused({ backend: 'gpu' }, /option "backend" must be one of auto, native, js, got "gpu"/);
  refused({ clock: 5 }, /option "clock" must be a function/);
  refused({ exporters: {} }, /option "exporters" must be an array/);
  refused({ onAlert: 'page me' }, /option "onAlert" must be a function/);
  // with several bad options, the first in the README's table is named
  refused({ onAlert: 1, maxOperations: 2e6, significantDigits: 6 }, /"maxOperations"/);
  refused({ onAlert: 1, clock: 1, backend: 'gpu', highestTrackableMs: -1 }, /"highestTrackableMs"/);
  refused({ onAlert: 1, exporters: 1, clock: 1, backend: 'gpu' }, /"backend"/);
  refused({ onAlert: 1, exporters: 1, clock: 1 }, /"clock"/);
  refused({ onAlert: 1, exporters: 1 }, /"exporters"/);
});

eachBackend('the extreme accepted options work', async (t, backend) => {
  const widest = new SpanMeterProcessor({ backend, maxOperations: 1_000_000, highestTrackableMs: 9_007_199_254_740, batchSize: 1_048_576 });
  const narrowest = new SpanMeterProcessor({ backend, highestTrackableMs: 0.002, batchSize: 1 });
  for (const processor of [widest, narrowest]) {
    const { provider, tracer } = makeProvider(processor);
    endSpan(tracer, 'a', 1_000_000); // 1 ms
    const report = await processor.stats();
    await provider.shutdown();
    t.is(report.totals.spans, 1);
    // the narrowest range records 1 ms as its highest, 2 µs, and counts it
    t.is(report.diagnostics.clampedSpans, processor === narrowest ? 1 : 0);
    t.is(report.operations[0].latencyMs.max, processor === narrowest ? 0.002 : 1);
  }
});
