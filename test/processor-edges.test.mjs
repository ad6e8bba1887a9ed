// SpanMeterProcessor at its edges: shutdown racing stats(), hostile spans after
// normal ones, a broken or stepping clock, option bounds, repaired resources.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider, manualClock } from './helpers/spans.mjs';

const MS = 1e6; // nanoseconds

/** A ReadableSpan-shaped object; `getters` replaces fields with getters. */
function fakeSpan({ name = 'GET /ok', kind = 1, durationMs = 5, error = false, resource = { attributes: { 'service.name': 'svc' } }, getters = {} } = {}) {
  const span = {
    name,
    kind,
    resource,
    duration: [0, durationMs * 1e6],
    status: { code: error ? 2 : 0 },
    attributes: {},
    events: [],
    links: [],
    spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
  };
  for (const [key, get] of Object.entries(getters)) Object.defineProperty(span, key, { get });
  return span;
}

eachBackend.serial('stats() calls made just before shutdown() all resolve, with every span', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { tracer } = makeProvider(processor);
  for (let i = 0; i < 500; i++) endSpan(tracer, 'GET /cart', 3 * MS);
  await processor.stats(); // the pool has a thread: later tasks queue behind busy ones
  const calls = Array.from({ length: 30 }, () => processor.stats());
  const shutdown = processor.shutdown();
  const results = await Promise.allSettled(calls);
  await shutdown;
  const rejected = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
  t.deepEqual(rejected, []);
  for (const r of results) t.is(r.value.totals.spans, 500);
});

eachBackend.serial('stats() calls made just before shutdown() all resolve with an SLO configured too (its evaluation is a second task after the summary)', async (t, backend) => {
  const config = { slos: [{ name: 'a', selector: { service: 'svc' }, indicator: 'availability', objective: 99, time_window: '30d' }] };
  for (let round = 0; round < 5; round++) {
    const processor = new SpanMeterProcessor({ backend, clock: manualClock(), config });
    for (let i = 0; i < 1000; i++) processor.onEnd(fakeSpan({ name: `op ${i % 50}` }));
    const calls = [processor.stats(), processor.stats(), processor.stats()];
    const shutdown = processor.shutdown();
    const results = await Promise.allSettled(calls);
    await shutdown;
    // the pool used to close under them: "the worker pool is closed"
    t.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      [],
    );
    for (const r of results) t.is(r.value.totals.spans, 1000);
  }
});

eachBackend.serial('overlapping stats() calls share at most two reports, and each still holds every span ended before it', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, clock: manualClock() });
  let tasks = 0;
  const run = processor.pool.run.bind(processor.pool);
  processor.pool.run = (...args) => {
    tasks++;
    return run(...args);
  };
  const expected = [];
  const calls = [];
  for (let i = 0; i < 40; i++) {
    processor.onEnd(fakeSpan({ name: `op ${i % 4}` }));
    expected.push(i + 1);
    calls.push(processor.stats());
  }
  const reports = await Promise.all(calls);
  // one report for the first call, one shared by the 39 made while it ran
  t.is(tasks, 2);
  t.is(reports[0].totals.spans, 1);
  reports.forEach((r, i) => t.true(r.totals.spans >= expected[i], `call ${i} sees the spans ended before it`));
  t.is(reports[39].totals.spans, 40);
  // shared, yet each caller's own to edit
  reports[1].operations.length = 0;
  t.is(reports[2].operations.length, 4);
  // once they settle, the next call computes afresh
  processor.onEnd(fakeSpan());
  t.is((await processor.stats()).totals.spans, 41);
  t.is(tasks, 3);
  await processor.shutdown();
});

test.serial('JS back end: right after a 10 s boundary, stats() seals the slices it left a budget per event-loop turn, not all in the calling turn', async (t) => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const processor = new SpanMeterProcessor({ backend: 'js', clock });
  const spans = 200 * 500;
  // 200 busy series, each over many buckets
  for (let i = 0; i < spans; i++) processor.onEnd(fakeSpan({ name: `op ${i % 200}`, durationMs: 1 + ((i * 7919) % 5000) / 10 }));
  await processor.forceFlush();
  clock.advance(10_000); // every series' slice is now full, queued for sealing by the next step
  const report = processor.stats();
  // before: the snapshot sealed all 200 slices here, in the calling turn (0.6 ms each)
  t.true(processor.set.sealing.pending > 0, 'slices are still queued after the calling turn');
  const r = await report;
  t.is(processor.set.sealing.pending, 0);
  t.is(r.totals.spans, spans);
  t.is(r.operations.length, 200);
  for (const op of r.operations) t.is(op.windows['1m'].count, spans / 200);
  await processor.shutdown();
});

eachBackend.serial('a worker lost while shutdown() computes the final report: shutdown resolves and the final report holds every span', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, clock: manualClock() });
  for (let i = 0; i < 20_000; i++) processor.onEnd(fakeSpan({ name: `op ${i % 2000}` }));
  await processor.stats(); // the pool has a thread
  const shutdown = processor.shutdown();
  // as if the worker were killed (out of memory, say) mid-task
  setTimeout(() => {
    for (const thread of processor.pool.threads) thread.terminate();
  }, 5);
  await t.notThrowsAsync(shutdown);
  const report = await processor.stats();
  t.is(report.totals.spans, 20_000);
});

eachBackend('an error span whose getters throw leaves the spans before it in their own series', async (t, backend) => {
  // error spans are interned in onEnd (error analysis is on by default), after the pending ones
  const processor = new SpanMeterProcessor({ backend });
  for (let i = 0; i < 3; i++) processor.onEnd(fakeSpan());
  t.notThrows(() =>
    processor.onEnd(
      fakeSpan({
        error: true,
        getters: {
          name: () => {
            throw new Error('hostile name');
          },
        },
      }),
    ),
  );
  const report = await processor.stats();
  await processor.shutdown();
  const ok = report.operations.find((op) => op.name === 'GET /ok');
  t.is(ok?.service, 'svc');
  t.is(ok?.count, 3);
  t.is(report.totals.dropped.processor_error, 1);
  t.is(report.diagnostics.invalidName, 0);
});

eachBackend('a clock that throws or returns NaN is counted, and no span is lost or throws', async (t, backend) => {
  const good = manualClock();
  let mode = 'good';
  const clock = () => {
    if (mode === 'throws') throw new Error('clock failed');
    if (mode === 'nan') return Number.NaN;
    return good();
  };
  const processor = new SpanMeterProcessor({ backend, clock, batchSize: 4 });
  for (const m of ['good', 'throws', 'nan', 'good']) {
    mode = m;
    for (let i = 0; i < 10; i++) t.notThrows(() => processor.onEnd(fakeSpan()));
  }
  mode = 'throws';
  const report = await processor.stats();
  await processor.shutdown();
  t.is(report.totals.spans, 40);
  t.deepEqual(report.totals.dropped, {});
  t.true(report.diagnostics.clockFailures >= 4, `${report.diagnostics.clockFailures} failures counted`);
  t.is(report.generatedAt, new Date(good()).toISOString(), 'the last good reading stands in');
});

eachBackend.serial('the default clock does not step with the system clock: windows keep seeing new spans', async (t, backend) => {
  // the system clock (Date.now) steps an hour forward while stats() runs, then back
  const realNow = Date.now;
  let step = 0;
  Date.now = () => realNow() + step;
  let report;
  try {
    const processor = new SpanMeterProcessor({ backend });
    for (let i = 0; i < 100; i++) processor.onEnd(fakeSpan());
    step = 3_600_000;
    await processor.stats();
    step = 0;
    for (let i = 0; i < 200; i++) processor.onEnd(fakeSpan());
    report = await processor.stats();
    await processor.shutdown();
  } finally {
    Date.now = realNow;
  }
  const op = report.operations[0];
  t.is(op.count, 300);
  t.is(op.windows['1m'].count, 300, 'the 1m window sees the spans recorded after the step');
});

test('maxOperations and flushIntervalMs beyond what the back ends and timers take are refused', (t) => {
  t.throws(() => new SpanMeterProcessor({ maxOperations: 2 ** 20 }), { message: /maxOperations/ });
  t.throws(() => new SpanMeterProcessor({ flushIntervalMs: 2 ** 31 }), { message: /flushIntervalMs/ });
  t.throws(() => new SpanMeterProcessor({ config: { stats: { flush_interval: '30d' } } }), { message: /flush_interval/ });
});

eachBackend('every span without a resource or service.name is counted in diagnostics.missingResource', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const nameless = { attributes: {} };
  for (let i = 0; i < 10; i++) processor.onEnd(fakeSpan({ resource: nameless }));
  for (let i = 0; i < 5; i++) processor.onEnd(fakeSpan({ resource: null }));
  for (let i = 0; i < 7; i++) processor.onEnd(fakeSpan());
  const report = await processor.stats();
  await processor.shutdown();
  t.is(report.diagnostics.missingResource, 15);
  t.is(report.operations.find((op) => op.service === 'unknown_service')?.count, 15);
  t.is(report.operations.find((op) => op.service === 'svc')?.count, 7);
});

eachBackend('spans that cannot be recorded take no operation: maxOperations stays for the ones that can', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, maxOperations: 3 });
  for (let i = 0; i < 5; i++) processor.onEnd(fakeSpan({ name: `job-${i}`, durationMs: [NaN, -1, Infinity, NaN, -5][i] }));
  // a span with nothing readable at all: dropped as invalid, not also "repaired"
  processor.onEnd({});
  processor.onEnd(fakeSpan({ name: 'checkout' }));
  const report = await processor.stats();
  t.deepEqual(
    report.operations.map((o) => o.name),
    ['checkout'],
  );
  t.is(report.totals.overflowSpans, 0);
  t.is(report.totals.dropped.invalid_duration, 6);
  t.like(report.diagnostics, { missingResource: 0, invalidKind: 0, invalidName: 0 });
  await processor.shutdown();
});

test('processor.config shows the stats options given in code, and onAlert must be a function', async (t) => {
  const processor = new SpanMeterProcessor({ backend: 'js', maxOperations: 5, batchSize: 64, config: { stats: { max_operations: 50 } } });
  t.like(processor.config.stats, { maxOperations: 5, batchSize: 64 });
  await processor.shutdown();
  const error = t.throws(() => new SpanMeterProcessor({ backend: 'js', onAlert: 'x' }));
  t.regex(error.message, /onAlert/);
});

eachBackend('a real operation that bears the overflow series\' name is not taken for it', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, maxOperations: 2 });
  const service = { attributes: { 'service.name': '__overflow__' } };
  for (let i = 0; i < 6; i++) processor.onEnd(fakeSpan({ name: '__overflow__', resource: service }));
  processor.onEnd(fakeSpan({ name: 'second' }));
  // past the cap: two spans fold into the overflow series
  for (let i = 0; i < 2; i++) processor.onEnd(fakeSpan({ name: `late-${i}` }));
  const report = await processor.stats();
  t.is(report.totals.overflowSpans, 2);
  t.is(report.totals.operations, 2);
  t.is(report.totals.spans, 9);
  await processor.shutdown();
});

eachBackend('every repaired kind and name is counted exactly: fractional kinds, non-string names, long span and service names', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  // kinds that are not integers from 0 to 4: recorded as internal, each counted (2.5 used to pass as client)
  for (const kind of [2.5, 0.5, 1e-9, 4.9, 7, -1, 'server', NaN]) processor.onEnd(fakeSpan({ name: 'k', kind }));
  for (const kind of [0, 1, 2, 3, 4, -0]) processor.onEnd(fakeSpan({ name: 'k', kind }));
  for (let i = 0; i < 5; i++) processor.onEnd(fakeSpan({ name: [null, 42, true, {}, Symbol('s')][i] }));
  for (let i = 0; i < 4; i++) processor.onEnd(fakeSpan({ name: 'n'.repeat(2000) }));
  // a service.name past 1024 characters is cut too, and counted for every span of it
  const longService = { attributes: { 'service.name': 's'.repeat(1500) } };
  for (let i = 0; i < 3; i++) processor.onEnd(fakeSpan({ name: 'short', resource: longService }));
  const report = await processor.stats();
  await processor.shutdown();
  t.like(report.diagnostics, { invalidKind: 8, invalidName: 5, truncatedName: 4 + 3, missingResource: 0 });
  const kinds = report.operations.filter((op) => op.name === 'k');
  t.deepEqual(
    Object.fromEntries(kinds.map((op) => [op.kind, op.count])),
    { internal: 8 + 2, server: 1, client: 1, producer: 1, consumer: 1 },
  );
  const cut = report.operations.find((op) => op.name === 'short');
  t.is(cut.service, 's'.repeat(1024));
  t.is(cut.count, 3);
  t.is(report.operations.find((op) => op.name === 'n'.repeat(1024))?.count, 4);
});

eachBackend('a -0 duration is a +0 latency', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  processor.onEnd({ ...fakeSpan(), duration: [-0, -0] });
  const report = await processor.stats();
  await processor.shutdown();
  t.true(Object.is(report.operations[0].latencyMs.min, 0), `min is ${Object.is(report.operations[0].latencyMs.min, -0) ? '-0' : report.operations[0].latencyMs.min}`);
  t.is(report.operations[0].count, 1);
});

eachBackend('a clock returning a string, Infinity, a BigInt or an object is counted like one that throws', async (t, backend) => {
  const good = manualClock();
  const bad = ['1767225600000', Infinity, -Infinity, 10n ** 15n, { valueOf: () => 5 }, undefined];
  let reading = 0;
  const clock = () => (reading === 0 ? good() : bad[reading - 1]);
  const processor = new SpanMeterProcessor({ backend, clock, batchSize: 1 });
  processor.onEnd(fakeSpan());
  for (reading = 1; reading <= bad.length; reading++) t.notThrows(() => processor.onEnd(fakeSpan()));
  reading = 0;
  const report = await processor.stats();
  await processor.shutdown();
  t.is(report.totals.spans, 1 + bad.length);
  t.is(report.diagnostics.clockFailures, bad.length);
  t.is(report.operations[0].windows['1m'].count, 1 + bad.length, 'every span lands at the last good reading');
});

eachBackend('the documented defaults, and batchSize spans per back-end call', async (t, backend) => {
  const defaults = new SpanMeterProcessor({ backend });
  // README, "Options"
  t.deepEqual(defaults.config.stats, { maxOperations: 1000, significantDigits: 3, highestTrackableMs: 3_600_000, batchSize: 2048, flushIntervalMs: 1000, workerTimeoutMs: 60_000 });
  await defaults.shutdown();
  const processor = new SpanMeterProcessor({ backend, batchSize: 64 });
  for (let i = 0; i < 1000; i++) processor.onEnd(fakeSpan());
  await processor.forceFlush();
  const report = await processor.stats();
  await processor.shutdown();
  // 15 full batches, then forceFlush records the 40 left
  t.is(report.diagnostics.batches, 16);
  t.is(report.totals.spans, 1000);
});

eachBackend('diagnostics.histogramBytes follows the histograms: it grows as operations and sealed slices accumulate', async (t, backend) => {
  const clock = manualClock();
  const processor = new SpanMeterProcessor({ backend, clock });
  const empty = (await processor.stats()).diagnostics.histogramBytes;
  t.true(empty > 0);
  // the same traffic in every slice: the open slices' memory follows it
  const slice = () => {
    for (let i = 0; i < 500; i++) processor.onEnd(fakeSpan({ name: `op ${i % 50}`, durationMs: 1 + (i % 89) }));
  };
  slice();
  const open = (await processor.stats()).diagnostics.histogramBytes;
  t.true(open > empty, `${open} > ${empty}`);
  // then slices sealed into every window of 50 series: one, then six (each
  // time with one slice open)
  const sealedAfter = [];
  for (let k = 0; k < 6; k++) {
    clock.advance(10_000);
    slice();
    if (k === 0 || k === 5) sealedAfter.push((await processor.stats()).diagnostics.histogramBytes);
  }
  await processor.shutdown();
  const [one, six] = sealedAfter;
  t.true(six > one, `${six} > ${one}`);
});

eachBackend('flushIntervalMs: a partial batch is recorded by the timer, at the clock of that moment', async (t, backend) => {
  const clock = manualClock();
  const processor = new SpanMeterProcessor({ backend, clock, flushIntervalMs: 20 });
  for (let i = 0; i < 10; i++) processor.onEnd(fakeSpan());
  // the timer records them (no stats() or forceFlush() here); polled, as a loaded machine may fire it late
  const deadline = Date.now() + 20_000;
  while (processor.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(processor.pending, 0, 'the timer recorded the partial batch');
  // 70 s later they are out of the 1m window, in the 5m one: they were recorded at the earlier clock
  clock.advance(70_000);
  const report = await processor.stats();
  await processor.shutdown();
  t.is(report.operations[0].count, 10);
  t.is(report.operations[0].windows['1m'].count, 0);
  t.is(report.operations[0].windows['5m'].count, 10);
});
