// Both back ends read V2 alike: plain and compressed, valid and damaged.
import test from 'ava';
import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { backendInfo, decodeHistogram } from 'spanmeter';
import { rng } from './helpers/spans.mjs';
import { eachBackend } from './helpers/backends.mjs';
import { compressedV2 } from './helpers/v2.mjs';

// Comparing the two back ends needs both (in CI the native one must load).
const bothTest =
  backendInfo().nativeAvailable || process.env.CI
    ? test
    : (title) => test.skip(`${title} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});

/** The plain V2 bytes inside a compressed V2 base64 string. */
function plainOf(compressed) {
  const bytes = Buffer.from(compressed, 'base64');
  return inflateSync(bytes.subarray(8, 8 + bytes.readUInt32BE(4)));
}

/** An hdr-histogram-js histogram of `digits` up to `highest`, with `n` log-uniform values and a few large counts. */
function theirs(digits, highest, n, seed) {
  const h = hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: digits });
  const random = rng(seed);
  for (let i = 0; i < n; i++) h.recordValue(Math.round(Math.exp(random() * Math.log(highest))));
  h.recordValueWithCount(Math.round(highest / 3), 2 ** 33);
  return h;
}

const PERCENTILES = [0, 1, 25, 50, 90, 99, 99.9, 100];

for (const digits of [1, 2, 3, 4, 5]) {
  eachBackend(`plain (uncompressed) V2 at ${digits} digits decodes to the histogram it encodes`, (t, backend) => {
    const h = theirs(digits, 3_600_000_000, 20_000, digits);
    const plain = plainOf(hdr.encodeIntoCompressedBase64(h));
    t.is(plain.readUInt32BE(0), 0x1c849313, 'a plain V2 cookie');
    const ours = decodeHistogram(plain.toString('base64'), { backend });
    t.is(ours.count, h.totalCount);
    for (const p of PERCENTILES) t.is(ours.valueAtPercentile(p), h.getValueAtPercentile(p), `p${p}`);
    // every counter, through our (compressed) encoding read back by hdr-histogram-js
    const back = hdr.decodeFromCompressedBase64(ours.encode(), 64);
    let differing = 0;
    for (let i = 0; i < h.countsArrayLength; i++) if (back.getCountAtIndex(i) !== h.getCountAtIndex(i)) differing++;
    t.is(differing, 0);
  });
}

/** What a back end makes of a V2 string: its error message, or its numbers. */
function outcome(text, backend) {
  try {
    const h = decodeHistogram(text, { backend });
    return { count: h.count, clamped: h.clampedCount, min: h.min, max: h.max, mean: h.mean, percentiles: PERCENTILES.map((p) => h.valueAtPercentile(p)) };
  } catch (error) {
    return { error: error.message };
  }
}

bothTest('damaged plain V2: both back ends refuse it with the same message, or read the same histogram', (t) => {
  const random = rng(2026);
  const pick = (n) => Math.floor(random() * n);
  const sources = [
    theirs(3, 3_600_000_000, 5_000, 1),
    theirs(2, 1_000_000, 2_000, 2),
    theirs(4, 60_000_000, 3_000, 3),
  ].map((h) => plainOf(hdr.encodeIntoCompressedBase64(h)));
  const kinds = { error: 0, read: 0, beyondDoubles: 0 };
  const errors = new Set();
  for (let i = 0; i < 1_500; i++) {
    const bytes = Buffer.from(sources[i % sources.length]);
    let damaged;
    switch (i % 6) {
      case 0: // one payload byte replaced
      case 1:
        bytes[40 + pick(bytes.length - 40)] = pick(256);
        damaged = bytes;
        break;
      case 2: // the payload cut short (its header still claims all of it)
        damaged = bytes.subarray(0, 40 + pick(bytes.length - 40));
        break;
      case 3: // the claimed payload length changed
        bytes.writeUInt32BE(Math.max(0, bytes.length - 40 + pick(41) - 20), 4);
        damaged = bytes;
        break;
      case 4: {
        // the histogram's shape changed: digits, lowest (up to 2^62) or highest (up to 2^63 - 1 at
        // up to 3 digits; at 2^40 at 4 and 5, where a dense JS histogram up to 2^53 would take 39 MB)
        if (pick(2) === 0) bytes.writeUInt32BE(pick(7), 12);
        if (pick(2) === 0) bytes.writeBigUInt64BE(pick(4) === 0 ? 2n ** BigInt(pick(63)) : BigInt(1 + pick(5000)), 16);
        const top = bytes.readUInt32BE(12) <= 3 ? 63 : 40;
        const highest = BigInt(Math.floor(2 ** (1 + random() * (top - 1))));
        bytes.writeBigUInt64BE(highest < 2n ** 63n ? highest : 2n ** 63n - 1n, 24);
        damaged = bytes;
        break;
      }
      default: // bytes appended, of which the last may make a varint run on
        damaged = Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + pick(12) }, () => 128 + pick(128)))]);
        damaged.writeUInt32BE(damaged.length - 40, 4);
    }
    const text = damaged.toString('base64');
    const [native, js] = ['native', 'js'].map((backend) => outcome(text, backend));
    if (js.error?.includes('total count above 2^53 - 1')) {
      // native keeps u64 counts: it reads such a total (or refuses something after it)
      t.true(native.count > Number.MAX_SAFE_INTEGER || native.error !== undefined, `case ${i}: native ${JSON.stringify(native)}`);
      kinds.beyondDoubles++;
      continue;
    }
    if (JSON.stringify(native) !== JSON.stringify(js)) {
      t.fail(`case ${i}: native ${JSON.stringify(native)}, js ${JSON.stringify(js)}`);
      return;
    }
    if (native.error === undefined) kinds.read++;
    else {
      kinds.error++;
      errors.add(native.error.replace(/\d+/g, 'N'));
    }
  }
  // both outcomes were exercised, and several kinds of fault
  t.true(kinds.read > 100, `${kinds.read} read`);
  t.true(kinds.error > 100, `${kinds.error} refused`);
  t.true(errors.size >= 4, [...errors].join('; '));
});

/** ZigZag LEB128 varints of `values` (positive: counts; negative: runs of zeros), as V2 payloads hold them. */
function varints(values) {
  const out = [];
  for (const v of values) {
    let zz = v >= 0 ? 2 * v : -2 * v - 1;
    while (zz >= 128) {
      out.push((zz % 128) | 128);
      zz = Math.floor(zz / 128);
    }
    out.push(zz);
  }
  return out;
}

eachBackend('a histogram tracking past 2^53 - 1 decodes with its values beyond that clamped and counted', (t, backend) => {
  // 2 digits (256 sub-buckets, half 128), lowest 1, up to 2^60 (hdr-histogram-js itself loses a value
  // of 2^55: doubles): 1,000 is index 3 * 128 + (250 - 128) = 506, 2^55 index 49 * 128 + 0 = 6,272
  const payload = varints([-506, 3, -(6_272 - 507), 1]);
  const ours = decodeHistogram(compressedV2({ digits: 2, highest: 2n ** 60n, payload }), { backend });
  t.is(ours.count, 4);
  t.is(ours.clampedCount, 1);
  // 2^55 is recorded as 2^53 - 1, the highest our histograms track: its bucket is [255 * 2^45, 2^53 - 1];
  // 1,000's is [1000, 1003]
  t.is(ours.valueAtPercentile(50), 1_003);
  t.is(ours.valueAtPercentile(99), Number.MAX_SAFE_INTEGER);
  t.is(ours.max, Number.MAX_SAFE_INTEGER);
});

eachBackend('a histogram with lowest 1000 decodes each count at its bucket\'s lowest value, into lowest 1', (t, backend) => {
  const theirs = new hdr.Float64Histogram(1000, 3_600_000_000, 3);
  const values = [1_000, 5_000, 123_456, 20_000_000];
  for (const v of values) theirs.recordValueWithCount(v, 2);
  const ours = decodeHistogram(hdr.encodeIntoCompressedBase64(theirs), { backend });
  const expected = hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) expected.recordValueWithCount(theirs.lowestEquivalentValue(v), 2);
  t.is(ours.count, 8);
  t.is(ours.clampedCount, 0);
  for (const p of PERCENTILES) t.is(ours.valueAtPercentile(p), expected.getValueAtPercentile(p), `p${p}`);
});

bothTest('0 significant digits (which HdrHistogram allows in V2): both back ends read the same histogram', (t) => {
  // counts 1, 2, 0, then a run of one zero, then 3 and 1: at 0 digits a bucket has 2 sub-buckets
  for (const lowest of [1n, 4n, 1024n]) {
    const text = compressedV2({ digits: 0, lowest, highest: 1_000_000n, payload: varints([1, 2, 0, -1, 3, 1]) });
    const [native, js] = ['native', 'js'].map((backend) => outcome(text, backend));
    t.is(native.count, 7, `lowest ${lowest}`);
    t.deepEqual(js, native, `lowest ${lowest}`);
  }
});

bothTest('base64 both back ends refuse, with native\'s message: unknown symbols, misplaced padding; padding itself is optional', (t) => {
  const good = compressedV2({ digits: 3, highest: 3_600_000_000n, payload: [2] });
  t.true(good.endsWith('='), 'a sample with padding');
  const cases = {
    unpadded: [good.replace(/=+$/, ''), undefined],
    'a space inside': [`${good.slice(0, 8)} ${good.slice(8)}`, 'invalid base64 (Invalid symbol 32, offset 8.)'],
    'a URL-safe symbol': [`${good.slice(0, 3)}_${good.slice(4)}`, 'invalid base64 (Invalid symbol 95, offset 3.)'],
    'padding inside': [`${good.slice(0, 8)}=${good.slice(9)}`, 'invalid base64 (Invalid symbol 61, offset 8.)'],
    'padding too long': [`${good}=`, `invalid base64 (Invalid symbol 61, offset ${good.indexOf('=')}.)`],
  };
  for (const [what, [text, message]] of Object.entries(cases)) {
    const [native, js] = ['native', 'js'].map((backend) => outcome(text, backend));
    t.deepEqual(js, native, what);
    t.is(native.error === undefined ? undefined : native.error.replace('spanmeter: cannot decode histogram: ', ''), message, what);
  }
});

bothTest('a stream that inflates more than 64 KiB past its payload is refused by both back ends; up to that it is read', (t) => {
  for (const [extra, refused] of [[65_536, false], [65_537, true], [5_000_000, true]]) {
    const text = compressedV2({ digits: 3, highest: 3_600_000_000n, payload: new Uint8Array(100 + extra).fill(1), claimedLength: 100 });
    const [native, js] = ['native', 'js'].map((backend) => outcome(text, backend));
    t.deepEqual(js, native, `${extra} bytes past the payload`);
    t.is(native.error === 'spanmeter: cannot decode histogram: inflates past the 100 bytes of payload its header claims', refused, `${extra}`);
  }
});
