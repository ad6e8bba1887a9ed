// The native back end's promise for bad input: no panic across the FFI
// boundary, no crash or hang, bad input counted or rejected with a clear error.
import test from 'ava';
import * as hdr from 'hdr-histogram-js';
import { backendInfo, decodeHistogram } from 'spanmeter';
import { rng } from './helpers/spans.mjs';
import { compressedV2 } from './helpers/v2.mjs';
import { eachBackend } from './helpers/backends.mjs';

// Without a native build (outside CI) these are skipped with a message; in CI they must run.
const nativeTest =
  backendInfo().nativeAvailable || process.env.CI
    ? test
    : (title) => test.skip(`${title} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});

for (const digits of [3, 5]) {
  eachBackend(`an hdr-histogram-js histogram (1..3.6e9 µs, ${digits} digits) decodes to identical counts`, (t, backend) => {
    const theirs = hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: digits });
    const random = rng(100 + digits);
    // log-uniform over the whole range, both ends and large counts included
    for (let i = 0; i < 50_000; i++) theirs.recordValue(Math.round(Math.exp(random() * Math.log(3_600_000_000))));
    theirs.recordValueWithCount(1, 5);
    theirs.recordValueWithCount(3_600_000_000, 2 ** 40);
    theirs.recordValueWithCount(123_456, 1_000_000);
    const ours = decodeHistogram(hdr.encodeIntoCompressedBase64(theirs), { backend });
    t.is(ours.count, theirs.totalCount);
    for (const p of [0, 1, 10, 50, 90, 99, 99.9, 100]) t.is(ours.valueAtPercentile(p), theirs.getValueAtPercentile(p), `p${p}`);
    // every counter, through our encoding read back by hdr-histogram-js
    const back = hdr.decodeFromCompressedBase64(ours.encode(), 64);
    t.is(back.countsArrayLength, theirs.countsArrayLength);
    let differing = 0;
    let nonZero = 0;
    for (let i = 0; i < theirs.countsArrayLength; i++) {
      if (back.getCountAtIndex(i) !== theirs.getCountAtIndex(i)) differing++;
      if (theirs.getCountAtIndex(i) !== 0) nonZero++;
    }
    t.is(differing, 0);
    t.true(nonZero > 5_000, `${nonZero} non-zero counters`);
  });
}

eachBackend('a V2 header claiming a 55 MB payload over a few bytes is a clear error', (t, backend) => {
  // 5 digits up to 2^63 - 1: 6,160,384 counters, 9 bytes of payload each at most
  const claimedLength = 6_160_384 * 9;
  const text = compressedV2({ digits: 5, highest: 2n ** 63n - 1n, payload: [2, 4, 6], claimedLength });
  t.throws(() => decodeHistogram(text, { backend }), {
    message: `spanmeter: cannot decode histogram: payload truncated: 3 of ${claimedLength} bytes`,
  });
  // one byte more than 9 per counter is refused from the header, naming the field
  const tooLong = compressedV2({ digits: 5, highest: 2n ** 63n - 1n, payload: [2], claimedLength: claimedLength + 1 });
  t.throws(() => decodeHistogram(tooLong, { backend }), {
    message: `spanmeter: cannot decode histogram: payload length ${claimedLength + 1} too large`,
  });
});

eachBackend('a V2 payload with a count past the last counter is a clear error', (t, backend) => {
  // every counter of 3 digits up to 3.6e9 (23,552 of them) once, then one more
  // (hdr-histogram-js, which the JS fallback decoded with before, dropped it without a word)
  const text = compressedV2({ digits: 3, highest: 3_600_000_000n, payload: new Uint8Array(23_552 + 1).fill(2) });
  t.throws(() => decodeHistogram(text, { backend }), {
    message: 'spanmeter: cannot decode histogram: count at index 23552 beyond 23552 counters',
  });
});

eachBackend('a decoded histogram with counts above its highest trackable value encodes them back', (t, backend) => {
  // hdr-histogram-js (and HdrHistogram) record values above highestTrackableValue
  // while they fit its counts array, which ends at a power of two: 4e9 in a
  // histogram up to 3.6e9 (counters up to 4,294,967,295). Decoded here, they made
  // encode() throw `index 23411 is past the last (23220)`.
  const theirs = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  theirs.recordValue(4_000_000_000);
  theirs.recordValue(10);
  t.is(theirs.maxValue, 4_000_000_000);
  const ours = decodeHistogram(hdr.encodeIntoCompressedBase64(theirs), { backend });
  t.is(ours.max, theirs.getValueAtPercentile(100));
  const back = hdr.decodeFromCompressedBase64(ours.encode());
  t.is(back.totalCount, 2);
  t.is(back.getValueAtPercentile(100), theirs.getValueAtPercentile(100));
  // every counter of the encoding once: the last ones are above 3.6e9 too
  const text = compressedV2({ digits: 3, highest: 3_600_000_000n, payload: new Uint8Array(23_552).fill(2) });
  const all = decodeHistogram(text, { backend });
  t.is(all.count, 23_552);
  t.is(hdr.decodeFromCompressedBase64(all.encode()).totalCount, 23_552);
});

nativeTest('nowMs that is NaN, infinite, negative or huge: both back ends write the same snapshots, the ticket too', async (t) => {
  const { loadBackend } = await import('../dist/backend/load.js');
  const [native, js] = ['native', 'js'].map((kind) => loadBackend(kind));
  const T0 = Date.UTC(2026, 0, 1);
  const ids = Uint32Array.from([0, 1, 1]);
  const durations = Float64Array.from([1_000, 2_000, 3_000]);
  const flags = Uint8Array.from([0, 1, 0]);
  for (const bad of [NaN, Infinity, -Infinity, -1, 1e300, -1e300]) {
    const sets = [native.createSet({ significantDigits: 3, highestTrackableUs: 3_600_000_000 }), js.createSet({ significantDigits: 3, highestTrackableUs: 3_600_000_000 })];
    const snapshots = sets.map((set) => {
      set.record(ids, durations, flags, 1, T0);
      set.record(ids, durations, flags, 3, bad);
      const atBad = Buffer.from(set.snapshot(bad));
      set.record(ids, durations, flags, 3, T0 + 20_000);
      return [atBad, Buffer.from(set.snapshot(T0 + 20_000))];
    });
    t.true(snapshots[0][0].equals(snapshots[1][0]), `snapshot(${bad})`);
    t.true(snapshots[0][1].equals(snapshots[1][1]), `snapshot after record(…, ${bad})`);
    // the header's nowMs (bytes 16..24) is the sanitized value: NaN is 0, the rest within ±2^53
    const sanitized = Number.isNaN(bad) ? 0 : Math.max(-(2 ** 53), Math.min(2 ** 53, bad));
    t.is(snapshots[0][0].readDoubleLE(16), sanitized);
    // a ticket at the bad time summarizes as the bytes do
    const ticket = sets[0].snapshotTicket(bad);
    const fromTicket = native.summarize({ ticket }, [50, 100], [50], true);
    const fromJs = js.summarize(sets[1].snapshot(bad), [50, 100], [50], true);
    // the same rows; the V2 strings hold the same histogram (each back end deflates its own way)
    const withoutStrings = (rows) => rows.map(({ histogram, ...row }) => row);
    t.deepEqual(withoutStrings(fromTicket), withoutStrings(fromJs));
    t.deepEqual(fromTicket.map((row) => decodedCounts(row.histogram)), fromJs.map((row) => decodedCounts(row.histogram)));
    for (const row of fromJs) t.is(decodedCounts(row.histogram).reduce((n, [, c]) => n + c, 0), row.count);
    t.is(fromTicket.reduce((n, s) => n + s.count, 0), 7);
  }
});

/** The (value, count) pairs of a V2 string, as hdr-histogram-js reads it. */
function decodedCounts(histogram) {
  const h = hdr.decodeFromCompressedBase64(histogram, 64);
  const pairs = [];
  for (let i = 0; i < h.countsArrayLength; i++) if (h.getCountAtIndex(i) > 0) pairs.push([h.valueFromIndex(i), h.getCountAtIndex(i)]);
  return pairs;
}
