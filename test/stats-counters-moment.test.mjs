// A report holds the state at its call: counters of spans ended after the call
// (dropped, clamped, batches) must not leak into it while its worker runs.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider } from './helpers/spans.mjs';

const MS = 1e6;

eachBackend.serial('stats() counts in dropped and diagnostics only the spans ended before the call', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, highestTrackableMs: 1000 });
  const { provider, tracer } = makeProvider(processor);
  for (let i = 0; i < 10; i++) endSpan(tracer, 'op', 5 * MS);
  const pending = processor.stats();
  // after the call, before its worker answers: 5 spans longer than highestTrackableMs
  // (clamped) and 3 that cannot be recorded, all recorded now
  for (let i = 0; i < 5; i++) endSpan(tracer, 'op', 5000 * MS);
  for (let i = 0; i < 3; i++) processor.onEnd({ name: 'op', kind: 0, resource: { attributes: { 'service.name': 'checkout' } }, duration: [0, NaN], status: { code: 0 } });
  await processor.forceFlush();
  const report = await pending;
  // the spans ended before the call, none after: none of those was dropped or clamped
  t.deepEqual(
    { spans: report.totals.spans, dropped: report.totals.dropped, clampedSpans: report.diagnostics.clampedSpans },
    { spans: 10, dropped: {}, clampedSpans: 0 },
  );
  await provider.shutdown();
});
