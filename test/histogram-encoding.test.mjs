// The `histogram` strings are HdrHistogram V2 compressed base64: hdr-histogram-js
// reads ours, and we read hdr-histogram-js'.
import test from 'ava';
import * as hdr from 'hdr-histogram-js';
import { SpanMeterProcessor, backendInfo, createHistogram, decodeHistogram } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider, normal, rng } from './helpers/spans.mjs';

const PERCENTILES = [0, 25, 50, 90, 99, 99.9, 99.99, 100];

eachBackend('hdr-histogram-js decodes stats() histograms to the same counts and percentiles', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  const random = rng(7);
  for (let i = 0; i < 50_000; i++) endSpan(tracer, i % 2 ? 'a' : 'b', Math.round(Math.exp(Math.log(3e6) + 1.2 * normal(random))));
  const report = await processor.stats();
  await provider.shutdown();
  for (const op of report.operations) {
    const decoded = hdr.decodeFromCompressedBase64(op.histogram);
    t.is(decoded.totalCount, op.count);
    const maxUs = Math.round(op.latencyMs.max * 1000);
    // reported percentiles are HDR's, capped at the exact max
    t.is(Math.min(decoded.getValueAtPercentile(50), maxUs), Math.round(op.latencyMs.p50 * 1000));
    t.is(Math.min(decoded.getValueAtPercentile(99), maxUs), Math.round(op.latencyMs.p99 * 1000));
    t.is(Math.min(decoded.getValueAtPercentile(99.9), maxUs), Math.round(op.latencyMs.p999 * 1000));
    t.is(decoded.numberOfSignificantValueDigits, 3);
    // the exact max lies inside the decoded max's bucket
    t.true(decoded.maxValue >= Math.round(op.latencyMs.max * 1000));
    t.true(decoded.maxValue - Math.round(op.latencyMs.max * 1000) < (decoded.maxValue >> 10) + 1);
  }
});

eachBackend('histograms encoded by hdr-histogram-js decode in ours', (t, backend) => {
  const random = rng(11);
  const theirs = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < 20_000; i++) theirs.recordValue(Math.round(random() * 1e6));
  theirs.recordValueWithCount(3_000_000_000, 3);
  const ours = decodeHistogram(hdr.encodeIntoCompressedBase64(theirs), { backend });
  t.is(ours.count, theirs.totalCount);
  for (const p of PERCENTILES) t.is(ours.valueAtPercentile(p), theirs.getValueAtPercentile(p), `p${p}`);
  t.is(ours.max, theirs.getValueAtPercentile(100));
  t.true(Math.abs(ours.mean - theirs.mean) <= 1e-6 * theirs.mean);
});

eachBackend('a standalone histogram records, merges, resets and round-trips', (t, backend) => {
  const a = createHistogram({ backend });
  const b = createHistogram({ backend });
  const values = new Float64Array(10_000);
  const random = rng(3);
  for (let i = 0; i < values.length; i++) values[i] = Math.round(random() * 100_000);
  a.recordBatch(values, 5_000);
  b.recordBatch(values.subarray(5_000), 5_000);
  a.merge(b);
  t.is(a.count, 10_000);
  const sorted = Float64Array.from(values).sort();
  // 3 digits: within 1/1024 of the exact nearest-rank value
  const exact = sorted[Math.ceil(0.99 * 10_000) - 1];
  t.true(Math.abs(a.valueAtPercentile(99) - exact) <= exact / 1024 + 1);
  const copy = decodeHistogram(a.encode(), { backend });
  t.is(copy.count, a.count);
  for (const p of PERCENTILES) t.is(copy.valueAtPercentile(p), a.valueAtPercentile(p));
  a.record(Number.NaN);
  a.record(-5);
  t.is(a.count, 10_000, 'invalid values are not recorded');
  a.record(1e15);
  t.is(a.max, a.valueAtPercentile(100));
  t.true(a.max >= 3_600_000_000 && a.max < 3_600_000_000 * 1.001, 'clamped to the highest trackable value');
  a.reset();
  t.is(a.count, 0);
  t.is(a.valueAtPercentile(50), 0);
});

// Without a native build (outside CI) these are skipped with a message; in CI they must run.
const nativeTest =
  backendInfo().nativeAvailable || process.env.CI
    ? test
    : (title) => test.skip(`${title} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});
nativeTest('native and JS encodings decode to the same histogram in both back ends', (t) => {
  const js = createHistogram({ backend: 'js' });
  const native = createHistogram({ backend: 'native' });
  const values = Float64Array.from({ length: 5000 }, (_, i) => i * 37 + 1);
  js.recordBatch(values, values.length);
  native.recordBatch(values, values.length);
  const fromNative = decodeHistogram(native.encode(), { backend: 'js' });
  const fromJs = decodeHistogram(js.encode(), { backend: 'native' });
  for (const p of PERCENTILES) {
    t.is(fromNative.valueAtPercentile(p), js.valueAtPercentile(p));
    t.is(fromJs.valueAtPercentile(p), native.valueAtPercentile(p));
  }
});

eachBackend('decoding garbage gives a clear error', (t, backend) => {
  t.throws(() => decodeHistogram('not a histogram', { backend }), { message: /^spanmeter: cannot decode histogram/ });
  t.throws(() => decodeHistogram('', { backend }), { message: /^spanmeter: cannot decode histogram/ });
});

test('the JS V2 writer encodes large counts, zero runs and an empty histogram as HdrHistogram reads them', async (t) => {
  const { encodeV2Base64 } = await import('../dist/backend/v2-encode.js');
  const { hdrLayout, valueFromIndex } = await import('../dist/backend/hdr-math.js');
  const layout = hdrLayout(3, 3_600_000_000);
  // one zero between the first two entries, a long run before the third, counts past 2^32 and 2^50
  const indices = [0, 2, 20_000];
  const counts = [3, 2 ** 40, 2 ** 52];
  const decoded = hdr.decodeFromCompressedBase64(encodeV2Base64(layout, indices, counts, 3), 64);
  t.is(decoded.totalCount, 3 + 2 ** 40 + 2 ** 52);
  t.is(decoded.numberOfSignificantValueDigits, 3);
  t.is(decoded.highestTrackableValue, 3_600_000_000);
  indices.forEach((index, k) => t.is(decoded.getCountAtIndex(index), counts[k], `index ${index}`));
  t.is(decoded.getCountAtIndex(1), 0);
  t.is(decoded.maxValue, decoded.highestEquivalentValue(valueFromIndex(layout, 20_000)));
  const ours = decodeHistogram(encodeV2Base64(layout, indices, counts, 3), { backend: 'js' });
  t.is(ours.count, 3 + 2 ** 40 + 2 ** 52);
  const empty = hdr.decodeFromCompressedBase64(encodeV2Base64(layout, [], [], 0));
  t.is(empty.totalCount, 0);
});
