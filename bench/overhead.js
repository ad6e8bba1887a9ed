'use strict';
/**
 * Event-loop cost of span start+end: bare SDK, + BatchSpanProcessor with a no-op
 * exporter, + SpanMeterProcessor (stats only), + a processor that does nothing
 * (the SDK's own cost of dispatching to one), measured side by side.
 *
 * Method: many short rounds (401 of 15,360 spans per configuration), interleaved
 * (the order rotates every round), each run in chunks of 256 spans with one turn of the event
 * loop between chunks, so that deferred work (BatchSpanProcessor's exports)
 * happens and is measured too. Cost = CPU time of the main thread per span. The added cost
 * of a processor is the median over rounds of (its cost - the bare SDK's cost in
 * the same round): pairing within a round cancels most of the drift of a shared
 * machine. (benchmark.js is not used here: its synchronous mode never lets
 * BatchSpanProcessor export, so it measures the queue-full drop path, and its
 * deferred mode adds timer overhead per operation.)
 */
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SpanMeterProcessor } = require('../dist');
const { median, fmt, ratio, table, threadCpuNs } = require('./lib');

const NAMES = ['GET /cart', 'POST /checkout', 'SELECT orders', 'redis GET', 'render'];
const CHUNK = 256;

function tracerWith(spanProcessors) {
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors });
  return { provider, tracer: provider.getTracer('bench') };
}

/** Main-thread CPU in ns where Linux tells it, else the whole process' (worker threads included). */
const mainThreadCpuNs =
  threadCpuNs() !== undefined
    ? { read: threadCpuNs, what: 'main-thread CPU time (Linux schedstat)' }
    : {
        read: () => {
          const u = process.cpuUsage();
          return (u.user + u.system) * 1000;
        },
        what: 'process CPU time',
      };

/** CPU nanoseconds per span for `spans` spans, in chunks with an event-loop turn between them. */
async function run(tracer, spans) {
  const before = mainThreadCpuNs.read();
  let n = 0;
  while (n < spans) {
    for (let i = 0; i < CHUNK; i++) tracer.startSpan(NAMES[n++ % NAMES.length]).end();
    await new Promise(setImmediate);
  }
  return { ns: (mainThreadCpuNs.read() - before) / n, spans: n };
}

module.exports = async function overhead({ quick = false, log = console.log } = {}) {
  let exported = 0;
  const exporter = {
    export: (spans, done) => {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  const meter = new SpanMeterProcessor();
  // The floor any processor pays: the SDK calling onStart and onEnd of one that does nothing.
  const noop = { onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  const configs = [
    { name: 'bare SDK', ...tracerWith([]) },
    { name: 'BatchSpanProcessor (no-op exporter)', ...tracerWith([new BatchSpanProcessor(exporter)]) },
    { name: `SpanMeterProcessor (${meter.backend})`, ...tracerWith([meter]) },
    { name: 'a processor that does nothing', ...tracerWith([noop]) },
  ];
  // Many short rounds: this shared machine switches between fast and slow phases
  // lasting seconds, and the three runs of a round (about 0.1 s together) then
  // mostly share a phase, so that their difference is the processor's cost.
  const rounds = quick ? 41 : 401;
  const spans = quick ? 7_680 : 15_360;
  const costs = configs.map(() => []);
  // warm-up: let every configuration reach optimized code
  let endedBsp = 0;
  for (const [i, c] of configs.entries()) {
    const warm = await run(c.tracer, quick ? 25_000 : 100_000);
    if (i === 1) endedBsp += warm.spans;
  }
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < configs.length; k++) {
      const i = (k + round) % configs.length;
      const result = await run(configs[i].tracer, spans);
      costs[i].push(result.ns);
      if (i === 1) endedBsp += result.spans;
    }
    if ((round + 1) % 50 === 0 || round + 1 === rounds) {
      log(`  round ${round + 1}/${rounds}: ${configs.map((c, i) => `${c.name} ${fmt(costs[i][round])} ns`).join(', ')}`);
    }
  }
  const report = await meter.stats();
  await Promise.all(configs.map((c) => c.provider.shutdown()));

  const medians = costs.map(median);
  const added = costs.map((list) => median(list.map((v, round) => v - costs[0][round])));
  const bareNs = medians[0];
  const [bspAdd, meterAdd, noopAdd] = [added[1], added[2], added[3]];
  const rows = configs.map((c, i) => [
    c.name,
    fmt(medians[i]),
    fmt(1e6 / medians[i], 0),
    i === 0 ? '—' : fmt(added[i]),
    i === 0 ? '—' : `${fmt((added[i] / bareNs) * 100)}%`,
  ]);
  const markdown = [
    `Span start+end, ${mainThreadCpuNs.what} per span; ${rounds} interleaved rounds of ${spans.toLocaleString('en')} spans per configuration, in chunks of ${CHUNK} with an event-loop turn between chunks. "added" is the median over rounds of the difference to the bare SDK in the same round.`,
    '',
    table(['configuration', 'ns per span (median)', 'k spans/s', 'added ns', 'added vs bare'], rows),
    '',
    `- SpanMeterProcessor adds **${fmt((meterAdd / bareNs) * 100)}%** to the bare SDK's cost (target: at most 10%).`,
    `- SpanMeterProcessor's added cost is **${ratio(meterAdd, bspAdd)}** BatchSpanProcessor's (target: at most 0.10×).`,
    `- Of these, ${fmt(noopAdd)} ns is what the SDK adds for any processor, one that does nothing; above that floor SpanMeterProcessor adds ${fmt(meterAdd - noopAdd)} ns and BatchSpanProcessor ${fmt(bspAdd - noopAdd)} ns.`,
    `- Every span was recorded: ${report.totals.spans.toLocaleString('en')} spans in stats(), ${Object.keys(report.totals.dropped).length === 0 ? 'none dropped' : JSON.stringify(report.totals.dropped)}.`,
    `- BatchSpanProcessor exported ${exported.toLocaleString('en')} of ${endedBsp.toLocaleString('en')} spans ended (it drops when its queue is full).`,
  ].join('\n');
  return {
    title: 'Overhead: span start+end',
    markdown,
    figures: { bareNs, bspAddNs: bspAdd, spanmeterAddNs: meterAdd, noopAddNs: noopAdd, addedVsBare: meterAdd / bareNs, addedVsBsp: meterAdd / bspAdd, medians, costs },
  };
};
