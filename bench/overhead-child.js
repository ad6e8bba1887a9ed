'use strict';
/**
 * One configuration of bench/overhead.js in a process of its own: a real
 * NodeTracerProvider with that configuration's span processor, which ends spans
 * when the parent asks and answers with the main thread's CPU time per span.
 * `node bench/overhead-child.js <bare|bsp|spanmeter|noop|switch>`, driven over IPC
 * (`switch`: BatchSpanProcessor, SpanMeterProcessor, SpanMeterProcessor on the JS
 * back end and a processor that does nothing in one provider, each behind a switch).
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
/**
 * A class that forwards to a processor while `on`: one provider holds every
 * processor behind a switch, switched per run, so that the SDK is compiled once
 * for all states and the difference between states is each processor's own work.
 * Each switch gets a class compiled from source of its own: with one shared
 * class, its `this.inner.onEnd(span)` saw every processor class, went
 * megamorphic, and a processor that does nothing cost 40-60 ns behind it.
 */
function switchClass(name) {
  return new Function(`return class Switch_${name} {
    constructor(inner) {
      this.inner = inner;
      this.on = false;
    }
    onStart(span, context) {
      if (this.on) this.inner.onStart(span, context);
    }
    onEnd(span) {
      if (this.on) this.inner.onEnd(span);
    }
    forceFlush() {
      return this.inner.forceFlush();
    }
    shutdown() {
      return this.inner.shutdown();
    }
  };`)();
}
const doNothing = () => ({ onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() });
const switched = (inners) => Object.fromEntries(Object.entries(inners).map(([name, inner]) => [name, new (switchClass(name))(inner)]));

const configuration = process.argv[2];
const meter = configuration === 'spanmeter' || configuration === 'switch' ? new SpanMeterProcessor() : undefined;
// the JS fallback, what an install without the native addon runs
const meterJs = configuration === 'switch' ? new SpanMeterProcessor({ backend: 'js' }) : undefined;
const switches =
  configuration === 'switch'
    ? switched({ bsp: new BatchSpanProcessor(noopExporter), spanmeter: meter, spanmeter_js: meterJs, noop: doNothing() })
    : undefined;
const processors = {
  bare: [],
  bsp: [new BatchSpanProcessor(noopExporter)],
  spanmeter: [meter],
  switch: switches && Object.values(switches),
  // The floor any processor pays: the SDK calling onStart and onEnd of one that does nothing.
  noop: [doNothing()],
}[configuration];
if (processors === undefined) throw new Error(`overhead-child: unknown configuration ${configuration}`);
const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors: processors });
const tracer = provider.getTracer('bench');
let ended = 0;
/** Spans ended while each processor was on (every span, outside `switch`). */
const seen = { bsp: 0, spanmeter: 0, spanmeter_js: 0 };

/** CPU ns per span for `spans` spans, in chunks with an event-loop turn between them. */
async function run(spans) {
  const before = cpuClock.read();
  let n = 0;
  while (n < spans) {
    for (let i = 0; i < CHUNK; i++) tracer.startSpan(NAMES[n++ % NAMES.length]).end();
    await new Promise(setImmediate);
  }
  ended += n;
  for (const name of Object.keys(seen)) if (!switches || switches[name].on) seen[name] += n;
  return (cpuClock.read() - before) / n;
}

process.on('message', async (message) => {
  if (message.spans !== undefined) {
    // switch: `state` names the processor that is on (none, bsp, spanmeter or spanmeter_js)
    if (switches) for (const [name, s] of Object.entries(switches)) s.on = message.state === name;
    process.send({ ns: await run(message.spans) });
    return;
  }
  // the end: what each processor did with the spans it saw
  const report = meter ? await meter.stats() : undefined;
  const reportJs = meterJs ? await meterJs.stats() : undefined;
  await provider.shutdown();
  process.send({
    ended,
    seen,
    exported,
    recorded: report?.totals.spans,
    recordedJs: reportJs?.totals.spans,
    dropped: report?.totals.dropped,
    backend: meter?.backend,
    clock: cpuClock.what,
  });
  process.disconnect();
});
