'use strict';
/**
 * What a whole `stats()` call costs the event loop with many operations: 1,000
 * light operations (the default `maxOperations`), default configuration
 * (trends, error analysis and health on). Event-loop active time is
 * `performance.eventLoopUtilization()` over the call: the snapshot or ticket,
 * posting the task, naming the worker's numbers as operations, and the
 * trends, error analysis and health built from them; the percentiles,
 * windows and V2 strings are the worker's.
 *
 * The reference is what a service without a worker would do on its event
 * loop: one hdr-histogram-js histogram per operation, the same five
 * percentiles and the V2 string of each (lifetime only, no windows).
 */
const { performance } = require('node:perf_hooks');
const hdr = require('hdr-histogram-js');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SpanMeterProcessor } = require('../dist/index.js');
const { median, fmt, ratio, table, lognormalUs } = require('./lib');

const OPERATIONS = 1000;
const SPANS_PER_OPERATION = 50;
const PERCENTILES = [50, 90, 95, 99, 99.9];

/** Durations in µs, the same for every measurement. */
function durations() {
  const draw = lognormalUs(11);
  return Float64Array.from({ length: OPERATIONS * SPANS_PER_OPERATION }, draw);
}

async function spanmeter(backend, us, calls) {
  const processor = new SpanMeterProcessor({ backend, maxOperations: OPERATIONS });
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  for (let i = 0; i < us.length; i++) {
    const startNs = 1_767_225_600_000_000_000n + BigInt(i) * 1000n;
    const endNs = startNs + BigInt(Math.round(us[i] * 1000));
    const hr = (ns) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
    tracer.startSpan(`op ${i % OPERATIONS}`, { startTime: hr(startNs) }).end(hr(endNs));
  }
  await processor.forceFlush();
  for (let i = 0; i < 3; i++) await processor.stats();
  const active = [];
  const wall = [];
  let operations = 0;
  for (let i = 0; i < calls; i++) {
    const before = performance.eventLoopUtilization();
    const started = performance.now();
    const report = await processor.stats();
    wall.push(performance.now() - started);
    active.push(performance.eventLoopUtilization(before).active);
    operations = report.operations.length;
  }
  await provider.shutdown();
  return { activeMs: median(active), wallMs: median(wall), operations };
}

function reference(us, calls) {
  const histograms = Array.from({ length: OPERATIONS }, () =>
    hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64 }),
  );
  us.forEach((v, i) => histograms[i % OPERATIONS].recordValue(Math.round(v)));
  const times = [];
  for (let i = 0; i < calls + 3; i++) {
    const started = performance.now();
    for (const h of histograms) {
      for (const p of PERCENTILES) h.getValueAtPercentile(p);
      hdr.encodeIntoCompressedBase64(h);
    }
    if (i >= 3) times.push(performance.now() - started);
  }
  return median(times);
}

module.exports = async function run({ quick = false, log = console.log } = {}) {
  const us = durations();
  const calls = quick ? 5 : 21;
  const rows = [];
  const figures = {};
  const referenceMs = reference(us, calls);
  for (const backend of ['native', 'js']) {
    let result;
    try {
      result = await spanmeter(backend, us, calls);
    } catch (error) {
      log(`  (${backend} back end not available, left out: ${error.message})`);
      continue;
    }
    figures[backend] = result;
    log(`  ${backend}: stats() of ${result.operations} operations: event loop ${fmt(result.activeMs, 2)} ms, wall ${fmt(result.wallMs, 1)} ms`);
    rows.push([
      `spanmeter ${backend}: \`stats()\`, default configuration`,
      `${fmt(result.activeMs, 2)} ms (${fmt((result.activeMs * 1000) / result.operations, 1)} µs per operation)`,
      `${fmt(result.wallMs, 1)} ms`,
      ratio(result.activeMs, referenceMs),
    ]);
  }
  rows.push(['hdr-histogram-js on the event loop: 5 percentiles and the V2 string per operation (lifetime only)', `${fmt(referenceMs, 2)} ms`, '—', '1.00×']);
  figures.referenceMs = referenceMs;
  const markdown = [
    `A whole \`stats()\` with ${OPERATIONS.toLocaleString('en')} operations of ${SPANS_PER_OPERATION} spans each (lognormal latencies), default configuration (trends, error analysis and health on); median of ${calls} calls. "Event loop" is event-loop active time over the call (\`performance.eventLoopUtilization()\`): the snapshot or ticket, posting the task, turning the worker's numbers into the report's operations, and the trends, error analysis and health; the percentiles of the lifetime and four windows and the V2 strings are computed on the worker. Wall is the call's duration.`,
    '',
    table(['what', 'event loop', 'wall', 'event loop vs reference'], rows),
  ].join('\n');
  return { title: '`stats()` end to end', markdown, figures };
};
