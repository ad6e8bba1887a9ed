// The `histogram` strings against HdrHistogram (Java), the library the V2 format
// comes from: Java decodes ours to exactly the histogram it builds from the same
// values, and we decode Java's to its counts and percentiles. Needs a JDK (17+)
// and Maven Central once (test/helpers/java-hdr.mjs); CI has both.
import test from 'ava';
import { SpanMeterProcessor, createHistogram, decodeHistogram } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { javaHdr } from './helpers/java-hdr.mjs';
import { endSpan, makeProvider, normal, rng } from './helpers/spans.mjs';

const HIGHEST = 3_600_000_000;
const PERCENTILES = [0, 25, 50, 90, 95, 99, 99.9, 99.99, 100];
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const java = await javaHdr();

/** `eachBackend`, given the Java tool; without a JDK, skipped with a hint (failed in CI). */
function withJava(title, fn) {
  if (java.run) eachBackend(title, (t, backend) => fn(t, backend, java.run));
  else if (inCI) test(title, (t) => t.fail(`HdrHistogram (Java) must run in CI: ${java.reason}`));
  else test.skip(`${title} — needs a JDK (17+) and Maven Central once: ${java.reason}`, () => {});
}

/** Integer µs latencies, lognormal around `medianUs`. */
function lognormal(seed, n, medianUs, sigma) {
  const random = rng(seed);
  return Array.from({ length: n }, () => Math.round(Math.exp(Math.log(medianUs) + sigma * normal(random))));
}

/** Values at bucket edges, the range's ends, and one bucket past 2^16 and 2^32 counts' low words. */
const EDGES = [0, 1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 65_535, 65_536, 1_000_000, HIGHEST - 1, HIGHEST];

withJava('HdrHistogram (Java) decodes stats() histograms to the histogram it builds from the same spans', async (t, backend, run) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  const operations = {
    lognormal: lognormal(5, 30_000, 20_000, 1),
    // a bucket whose count passes 2^16 (the native counters carry out of their low byte)
    crowded: [...Array(70_000).fill(5_000), ...lognormal(6, 1_000, 5_000, 0.1)],
    edges: [...EDGES, ...EDGES],
  };
  for (const [name, values] of Object.entries(operations)) for (const us of values) endSpan(tracer, name, us * 1000);
  // past the highest trackable value: recorded as the highest, and counted
  endSpan(tracer, 'edges', 2 * HIGHEST * 1000);
  operations.edges.push(HIGHEST);
  const report = await processor.stats();
  await provider.shutdown();
  t.is(report.diagnostics.clampedSpans, 1);

  const names = Object.keys(operations);
  const ops = names.map((name) => report.operations.find((op) => op.name === name));
  const decoded = run('decode', ops.map((op) => op.histogram));
  const built = run('record', names.map((name) => `3 ${HIGHEST} ${operations[name].join(',')}`));
  names.forEach((name, k) => {
    const [ours, theirs, op] = [decoded[k], built[k], ops[k]];
    t.is(ours.totalCount, operations[name].length, name);
    t.is(op.count, operations[name].length, name);
    t.deepEqual(ours.buckets, theirs.buckets, `${name}: every bucket`);
    t.is(ours.min, theirs.min, `${name}: min`);
    t.is(ours.max, theirs.max, `${name}: max`);
    t.deepEqual(ours.percentiles, theirs.percentiles, `${name}: percentiles`);
    t.is(ours.digits, 3);
    // the report's percentiles are Java's, capped at the exact max
    const maxUs = Math.max(...operations[name]);
    t.is(Math.round(op.latencyMs.p50 * 1000), Math.min(theirs.percentiles[50], maxUs), `${name}: p50`);
    t.is(Math.round(op.latencyMs.p99 * 1000), Math.min(theirs.percentiles[99], maxUs), `${name}: p99`);
    t.is(Math.round(op.latencyMs.p999 * 1000), Math.min(theirs.percentiles[99.9], maxUs), `${name}: p99.9`);
  });
});

withJava('HdrHistogram (Java) decodes standalone histograms of every precision to the histogram it builds itself', (t, backend, run) => {
  const values = [...lognormal(9, 5_000, 3_000, 1.5), ...EDGES];
  const lines = [];
  const digitsList = [1, 2, 3, 4, 5];
  for (const digits of digitsList) {
    const h = createHistogram({ backend, significantDigits: digits, highestTrackableValue: HIGHEST });
    h.recordBatch(Float64Array.from(values), values.length);
    lines.push(h.encode());
  }
  const decoded = run('decode', lines);
  const built = run('record', digitsList.map((digits) => `${digits} ${HIGHEST} ${values.join(',')}`));
  digitsList.forEach((digits, k) => {
    const theirs = built[k];
    t.is(decoded[k].digits, digits);
    t.is(decoded[k].totalCount, values.length, `${digits} digits`);
    t.deepEqual(decoded[k].buckets, theirs.buckets, `${digits} digits: every bucket`);
    t.deepEqual(decoded[k].percentiles, theirs.percentiles, `${digits} digits: percentiles`);
  });
});

withJava('histograms encoded by HdrHistogram (Java) decode in ours, and round-trip back to Java unchanged', (t, backend, run) => {
  const cases = [
    { digits: 3, highest: HIGHEST, values: [...lognormal(21, 20_000, 20_000, 1), ...EDGES, ...Array(300).fill(777)] },
    { digits: 2, highest: HIGHEST, values: lognormal(22, 5_000, 500, 2) },
    { digits: 5, highest: HIGHEST, values: [...lognormal(23, 5_000, 80_000, 0.5), ...EDGES] },
    // auto-resizing (the Java default), with values far past an hour in µs
    { digits: 3, highest: 0, values: [...lognormal(24, 2_000, 1e9, 3), 1e12, 4e12] },
  ];
  const built = run('record', cases.map(({ digits, highest, values }) => `${digits} ${highest} ${values.join(',')}`));
  const ours = built.map((theirs) => decodeHistogram(theirs.encoded, { backend }));
  const back = run('decode', ours.map((h) => h.encode()));
  cases.forEach(({ digits, highest }, k) => {
    const [theirs, decoded] = [built[k], ours[k]];
    const label = `${digits} digits, highest ${highest || 'auto'}`;
    t.is(decoded.count, theirs.totalCount, label);
    t.is(decoded.min, theirs.min, `${label}: min`);
    t.is(decoded.max, theirs.max, `${label}: max`);
    for (const p of PERCENTILES) t.is(decoded.valueAtPercentile(p), theirs.percentiles[p], `${label}: p${p}`);
    t.true(Math.abs(decoded.mean - theirs.mean) <= 1e-9 * theirs.mean + 1e-6, `${label}: mean ${decoded.mean} against ${theirs.mean}`);
    t.deepEqual(back[k].buckets, theirs.buckets, `${label}: round trip through ours`);
    t.is(back[k].digits, digits, `${label}: round trip keeps the precision`);
  });
});
