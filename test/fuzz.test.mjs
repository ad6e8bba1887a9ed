// 100,000 spans with random garbage in every field: onEnd never throws, and every
// span is accounted for (recorded, or dropped with a reason).
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider, rng } from './helpers/spans.mjs';

const N = 100_000;

function garbageSpans(seed) {
  const random = rng(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const hostile = {};
  Object.defineProperty(hostile, 'attributes', { get() { throw new Error('hostile resource'); } });
  const resources = [undefined, null, {}, { attributes: null }, { attributes: { 'service.name': 42 } }, hostile, resourceFromAttributes({ 'service.name': 'real' }), 'not an object', 7];
  const names = () => pick([undefined, null, 123, {}, '', 'x'.repeat(100_000), `op-${Math.floor(random() * 50)}`, `rnd-${random()}`, Symbol('s'), ['a'], 'GET /ok']);
  const durations = () =>
    pick([undefined, null, [NaN, 0], [-1, 0], [1e12, 0], [0, -5], 'abc', [1, 'x'], [Infinity, 0], [0, Math.floor(random() * 1e9)], [Math.floor(random() * 5), 0], [], {}]);
  const kinds = () => pick([undefined, -1, 99, 'server', NaN, 0, 1, 2, 3, 4, 2.5, null]);
  const statuses = () => pick([undefined, null, {}, { code: 2 }, { code: 'x' }, { code: 1 }, { code: 0 }, 5]);
  const spans = [];
  for (let i = 0; i < N; i++) {
    const kindOfGarbage = random();
    if (kindOfGarbage < 0.01) spans.push(null);
    else if (kindOfGarbage < 0.02) spans.push({ get name() { throw new Error('hostile span'); } });
    else spans.push({ name: names(), kind: kinds(), duration: durations(), status: statuses(), resource: pick(resources) });
  }
  return spans;
}

eachBackend('onEnd survives 100,000 garbage spans and keeps the counts consistent', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, maxOperations: 100 });
  const spans = garbageSpans(1234);
  for (const span of spans) t.notThrows(() => processor.onEnd(span), undefined);
  const report = await processor.stats();
  const dropped = report.totals.dropped;
  const recorded = report.operations.reduce((sum, op) => sum + op.count, 0);
  t.is(recorded, report.totals.spans);
  t.is(report.totals.spans + (dropped.invalid_duration ?? 0) + (dropped.processor_error ?? 0), N, JSON.stringify(dropped));
  t.true(dropped.invalid_duration > 0, 'NaN, negative and missing durations are counted');
  t.true(report.diagnostics.clampedSpans > 0, 'enormous durations are clamped and counted');
  t.true(report.diagnostics.invalidKind > 0);
  t.true(report.diagnostics.truncatedName > 0);
  t.true(report.diagnostics.missingResource > 0);
  t.true(report.totals.operations <= 100);
  for (const op of report.operations) {
    t.true(op.name.length <= 1024);
    t.true(Number.isFinite(op.latencyMs.p999) && Number.isFinite(op.latencyMs.mean));
    t.true(op.latencyMs.max <= 3_600_000 * 1.001);
  }
  // the processor still works for well-formed spans afterwards
  const { provider, tracer } = makeProvider(processor, { serviceName: 'after-fuzz' });
  for (let i = 0; i < 100; i++) endSpan(tracer, 'fine', 1e6);
  const after = await processor.stats();
  t.is(after.totals.spans, report.totals.spans + 100);
  await provider.shutdown();
});
