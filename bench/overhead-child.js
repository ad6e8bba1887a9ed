'use strict';
/**
 * One configuration of bench/overhead.js in a process of its own: a real
 * NodeTracerProvider with that configuration's span processor, which ends spans
 * when the parent asks and answers with the main thread's CPU time per span.
 * `node bench/overhead-child.js <bare|bsp|spanmeter|noop>`, driven over IPC.
 */
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SpanMeterProcessor } = require('../dist');
const { cpuClock } = require('./lib');

const NAMES = ['GET /cart', 'POST /checkout', 'SELECT orders', 'redis GET', 'render'];
const CHUNK = 256;

let exported = 0;
const noopExporter = {
  export: (spans, done) => {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};
const meter = process.argv[2] === 'spanmeter' ? new SpanMeterProcessor() : undefined;
const processors = {
  bare: [],
  bsp: [new BatchSpanProcessor(noopExporter)],
  spanmeter: [meter],
  // The floor any processor pays: the SDK calling onStart and onEnd of one that does nothing.
  noop: [{ onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
}[process.argv[2]];
if (processors === undefined) throw new Error(`overhead-child: unknown configuration ${process.argv[2]}`);
const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors: processors });
const tracer = provider.getTracer('bench');
let ended = 0;

/** CPU ns per span for `spans` spans, in chunks with an event-loop turn between them. */
async function run(spans) {
  const before = cpuClock.read();
  let n = 0;
  while (n < spans) {
    for (let i = 0; i < CHUNK; i++) tracer.startSpan(NAMES[n++ % NAMES.length]).end();
    await new Promise(setImmediate);
  }
  ended += n;
  return (cpuClock.read() - before) / n;
}

process.on('message', async (message) => {
  if (message.spans !== undefined) {
    process.send({ ns: await run(message.spans) });
    return;
  }
  // the end: what each processor did with the spans it saw
  const report = meter ? await meter.stats() : undefined;
  await provider.shutdown();
  process.send({
    ended,
    exported,
    recorded: report?.totals.spans,
    dropped: report?.totals.dropped,
    backend: meter?.backend,
    clock: cpuClock.what,
  });
  process.disconnect();
});
