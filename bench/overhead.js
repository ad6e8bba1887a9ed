'use strict';
/**
 * Event-loop cost of span start+end: bare SDK, + BatchSpanProcessor with a no-op
 * exporter, + SpanMeterProcessor (stats only). Interleaved rounds, medians.
 */
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SpanMeterProcessor } = require('../dist');
const { interleaved, median, fmt, ratio, table } = require('./lib');

const noopExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};

const NAMES = ['GET /cart', 'POST /checkout', 'SELECT orders', 'redis GET', 'render'];

function tracerWith(spanProcessors) {
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors });
  return { provider, tracer: provider.getTracer('bench') };
}

/** Spans per benchmark operation: the event loop turns between chunks, as in a real service. */
const CHUNK = 256;

module.exports = async function run({ quick = false, log = console.log } = {}) {
  let exported = 0;
  const countingExporter = { ...noopExporter, export: (spans, done) => { exported += spans.length; done({ code: 0 }); } };
  const bare = tracerWith([]);
  const batch = tracerWith([new BatchSpanProcessor(countingExporter)]);
  const meter = new SpanMeterProcessor();
  const spanmeter = tracerWith([meter]);
  const ended = { batch: 0 };
  let n = 0;
  // One operation = CHUNK spans, then one turn of the event loop (setImmediate), so that
  // work a processor defers (BatchSpanProcessor's exports) runs and is measured too.
  const body = (tracer, counter) => (deferred) => {
    for (let i = 0; i < CHUNK; i++) tracer.startSpan(NAMES[n++ % NAMES.length]).end();
    if (counter) ended[counter] += CHUNK;
    setImmediate(() => deferred.resolve());
  };
  const cases = [
    { name: 'bare SDK', fn: body(bare.tracer), deferred: true, perOp: CHUNK },
    { name: 'BatchSpanProcessor (no-op exporter)', fn: body(batch.tracer, 'batch'), deferred: true, perOp: CHUNK },
    { name: `SpanMeterProcessor (${meter.backend})`, fn: body(spanmeter.tracer), deferred: true, perOp: CHUNK },
  ];
  const rounds = quick ? 3 : 9;
  const costs = await interleaved(cases, { rounds, maxTime: quick ? 0.5 : 2, log });
  const med = Object.fromEntries(Object.entries(costs).map(([k, v]) => [k, median(v)]));
  const bareNs = med['bare SDK'];
  const bspAdd = med['BatchSpanProcessor (no-op exporter)'] - bareNs;
  const meterAdd = med[cases[2].name] - bareNs;
  const report = await meter.stats();
  await Promise.all([bare.provider.shutdown(), batch.provider.shutdown(), spanmeter.provider.shutdown()]);

  const rows = cases.map((c) => [
    c.name,
    fmt(med[c.name]),
    fmt(1e9 / med[c.name] / 1e3, 0),
    c.name === 'bare SDK' ? '—' : fmt(med[c.name] - bareNs),
    c.name === 'bare SDK' ? '—' : `${fmt(((med[c.name] - bareNs) / bareNs) * 100)}%`,
  ]);
  const markdown = [
    `Span start+end on the event loop, median of ${rounds} interleaved rounds (benchmark.js).`,
    '',
    table(['configuration', 'ns per span', 'k spans/s', 'added ns', 'added vs bare'], rows),
    '',
    `- SpanMeterProcessor adds **${fmt((meterAdd / bareNs) * 100)}%** to the bare SDK's cost (target: at most 10%).`,
    `- SpanMeterProcessor's added cost is **${ratio(meterAdd, bspAdd)}** BatchSpanProcessor's (target: at most 0.10×).`,
    `- Every span was recorded: ${report.totals.spans.toLocaleString('en')} spans in stats(), ${Object.keys(report.totals.dropped).length === 0 ? 'none dropped' : JSON.stringify(report.totals.dropped)}.`,
    `- BatchSpanProcessor exported ${exported.toLocaleString('en')} of ${ended.batch.toLocaleString('en')} spans ended (the rest were still queued or dropped at its queue limit).`,
    `- One benchmark operation is ${CHUNK} spans followed by one turn of the event loop, so deferred work (BatchSpanProcessor's exports) is measured too.`,
  ].join('\n');
  return {
    title: 'Overhead: span start+end',
    markdown,
    figures: { bareNs, bspAddNs: bspAdd, spanmeterAddNs: meterAdd, addedVsBare: meterAdd / bareNs, addedVsBsp: meterAdd / bspAdd, costs },
  };
};
