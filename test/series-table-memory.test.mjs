// Review: memory the series table keeps beyond what maxOperations bounds.
import { SpanMeterProcessor } from 'spanmeter';
import v8 from 'node:v8';
import vm from 'node:vm';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { eachBackend } from './helpers/backends.mjs';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

eachBackend.serial('service names past maxOperations are not kept: memory stays bounded by the cap', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, maxOperations: 10 });
  const warm = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'warm' }), spanProcessors: [processor] });
  warm.getTracer('r').startSpan('x').end();
  await processor.forceFlush();
  const before = heapUsed();
  // 20,000 short-lived providers (one per tenant, say), each its own service
  for (let i = 0; i < 20_000; i++) {
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `tenant-${i}-${'s'.repeat(1000)}` }),
      spanProcessors: [processor],
    });
    provider.getTracer('r').startSpan('op').end();
  }
  await processor.forceFlush();
  const grownMB = (heapUsed() - before) / 1e6;
  const report = await processor.stats();
  t.is(report.totals.operations, 10);
  t.is(report.totals.overflowSpans, 19_991);
  // the providers and resources are gone; only 10 series may be kept
  t.true(grownMB < 3, `heap grew ${grownMB.toFixed(1)} MB for spans that all went to the overflow series`);
  await processor.shutdown();
});

/**
 * Heap MB that 5 series named by 40-character slices of 20 MB strings keep
 * alive, once interned: each string made in a function of its own, so that no
 * variable of the test keeps one alive (an operation name matched out of a
 * large request body or query document, say).
 */
async function heapKeptBySlicedNames(processor, kind) {
  const resource = { attributes: { 'service.name': 'checkout' } };
  const before = heapUsed();
  const endSpanNamedFrom = (i) => {
    const document = `${i}${'y'.repeat(20_000_000)}`;
    processor.onEnd({ resource, name: document.slice(0, 40), kind, duration: [0, 1_000_000], status: { code: 0 } });
  };
  for (let i = 0; i < 5; i++) endSpanNamedFrom(i);
  await processor.forceFlush();
  return (heapUsed() - before) / 1e6;
}

eachBackend.serial('an interned span name does not keep alive the string it was sliced from', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const grownMB = await heapKeptBySlicedNames(processor, 1);
  t.is((await processor.stats()).totals.operations, 5);
  t.true(grownMB < 5, `5 series of 40-character names keep ${grownMB.toFixed(1)} MB alive`);
  await processor.shutdown();
});

eachBackend.serial('a name known under another kind does not keep alive the string it was sliced from either', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  // each name first as an internal span, from a string of its own
  const resource = { attributes: { 'service.name': 'checkout' } };
  for (let i = 0; i < 5; i++) processor.onEnd({ resource, name: `${i}${'y'.repeat(39)}`, kind: 0, duration: [0, 1_000_000], status: { code: 0 } });
  await processor.forceFlush();
  const grownMB = await heapKeptBySlicedNames(processor, 1);
  t.is((await processor.stats()).totals.operations, 10);
  t.true(grownMB < 5, `5 server series of 40-character names keep ${grownMB.toFixed(1)} MB alive`);
  await processor.shutdown();
});
