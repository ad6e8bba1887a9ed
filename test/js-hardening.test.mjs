// The JS back end rejects what the native one rejects, with the same words:
// corrupt snapshots (native/src/snapshot.rs, `parse_deferring_entries` and
// `Item::decode`), histogram options (`validate_options`), and it merges
// standalone histograms as native does (`Histogram::merge`: clamped, and
// counted per value). Each check runs against both back ends.
import test from 'ava';
import { backendInfo, createHistogram, decodeHistogram } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { rng } from './helpers/spans.mjs';
import { compressedV2 } from './helpers/v2.mjs';

// internal modules, reached through the compiled package
const { loadBackend } = await import('../dist/backend/load.js');

const OPTIONS = { significantDigits: 3, highestTrackableUs: 3_600_000_000 };
const PERCENTILES = [0, 1, 50, 90, 99, 99.9, 100];

// ---------------------------------------------------------------------------
// snapshots

/**
 * One series (id 1) with one item (mask 0x1f) of three entries, 100, 200 and
 * 300 µs: header 0..32, series record 32..64, item header at 64 (count at
 * 65, errors at 73, entryCount at 81, byteLength at 85), entries 89..98.
 */
function smallSnapshot() {
  const set = loadBackend('js').createSet(OPTIONS);
  set.record(new Uint32Array([1, 1, 1]), new Float64Array([100, 200, 300]), new Uint8Array(3), 3, 1_000_000);
  return set.snapshot(1_000_000);
}
const SMALL = smallSnapshot();
const ENTRIES_AT = 89;

const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function varint(v) {
  let x = BigInt(v);
  const out = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** SMALL with other bytes at `at`. */
function patched(at, write) {
  const b = Uint8Array.from(SMALL);
  write(view(b), at, b);
  return b;
}

/** SMALL with other entries (and entryCount, and the item's count when given). */
function withEntries(entries, entryCount, count) {
  const b = new Uint8Array(ENTRIES_AT + entries.length);
  b.set(SMALL.subarray(0, ENTRIES_AT));
  b.set(entries, ENTRIES_AT);
  const d = view(b);
  d.setUint32(81, entryCount, true);
  d.setUint32(85, entries.length, true);
  if (count !== undefined) d.setFloat64(65, count, true);
  return b;
}

function outcome(kind, bytes) {
  try {
    return { result: loadBackend(kind).summarize(bytes, PERCENTILES, [50, 99], false) };
  } catch (error) {
    return { error: error.message };
  }
}

const bad = (what, at) => `spanmeter: bad snapshot: ${what} at byte ${at}`;
const TWO_63 = 2n ** 63n;

// [name, bytes, the message native/src/snapshot.rs gives]
const CORRUPT = [
  ['2 bytes', SMALL.subarray(0, 2), bad('truncated: header needs 4 bytes, 2 left', 0)],
  ['wrong magic', patched(0, (d) => d.setUint32(0, 0x31534dac, true)), bad('magic 0x31534dac is not 0x31534d53', 0)],
  ['version 3', patched(4, (d) => d.setUint16(4, 3, true)), bad('unsupported version 3', 4)],
  ['significantDigits 9', patched(6, (d) => d.setUint8(6, 9)), bad('significantDigits 9 not in 1..=5', 6)],
  ['significantDigits 0', patched(6, (d) => d.setUint8(6, 0)), bad('significantDigits 0 not in 1..=5', 6)],
  ['windowCount 5', patched(7, (d) => d.setUint8(7, 5)), bad('windowCount 5 is not 4', 7)],
  ['highest 2.5', patched(8, (d) => d.setFloat64(8, 2.5, true)), bad('highestTrackableUs 2.5 is not an integer in 2..=2^53-1', 8)],
  ['highest 1', patched(8, (d) => d.setFloat64(8, 1, true)), bad('highestTrackableUs 1 is not an integer in 2..=2^53-1', 8)],
  ['highest 2^53', patched(8, (d) => d.setFloat64(8, 2 ** 53, true)), bad('highestTrackableUs 9007199254740992 is not an integer in 2..=2^53-1', 8)],
  ['highest NaN', patched(8, (d) => d.setFloat64(8, NaN, true)), bad('highestTrackableUs NaN is not an integer in 2..=2^53-1', 8)],
  ['cut in a series record', SMALL.subarray(0, 40), bad('truncated: sumUs needs 8 bytes, 0 left', 40)],
  ['cut in the entries', SMALL.subarray(0, 95), bad('truncated: entries needs 9 bytes, 6 left', 89)],
  ['seriesCount 2', patched(24, (d) => d.setUint32(24, 2, true)), bad('truncated: series id needs 4 bytes, 0 left', 98)],
  ['windowMask 0xe0', patched(64, (d) => d.setUint8(64, 0xe0)), bad('windowMask 0xe0 invalid', 64)],
  ['windowMask 0x20', patched(64, (d) => d.setUint8(64, 0x20)), bad('windowMask 0x20 invalid', 64)],
  ['windowMask 0', patched(64, (d) => d.setUint8(64, 0)), bad('windowMask 0x00 invalid', 64)],
  ['item count 2.5', patched(65, (d) => d.setFloat64(65, 2.5, true)), bad('item count 2.5 is not a count', 65)],
  ['item count 2^53', patched(65, (d) => d.setFloat64(65, 2 ** 53, true)), bad('item count 9007199254740992 is not a count', 65)],
  ['item errors -1', patched(73, (d) => d.setFloat64(73, -1, true)), bad('item errors -1 is not a count', 73)],
  ['item errors Infinity', patched(73, (d) => d.setFloat64(73, Infinity, true)), bad('item errors inf is not a count', 73)],
  ['entryCount 2^32 - 1', patched(81, (d) => d.setUint32(81, 0xffffffff, true)), bad('4294967295 entries cannot fit in 9 bytes', 85)],
  ['5 trailing bytes', Uint8Array.from([...SMALL, 0, 0, 0, 0, 0]), bad('5 trailing bytes', 98)],
  ['index beyond countsLen', withEntries([...varint(80_001), 1], 1, 1), bad('entry index 40001 >= countsLen 23552', ENTRIES_AT)],
  ['index countsLen', withEntries([...varint(2 * 23_552 - 1), 1], 1, 1), bad('entry index 23552 >= countsLen 23552', ENTRIES_AT)],
  ['index past 2^32', withEntries([...varint(2 * 2 ** 32 + 1), 1], 1, 1), bad('entry index 4294967297 >= countsLen 23552', ENTRIES_AT)],
  ['index past 2^64', withEntries([...varint(2n ** 64n - 1n), 1], 1, 1), bad(`entry index ${2n ** 63n} >= countsLen 23552`, ENTRIES_AT)],
  ['count 0', withEntries([0], 1, 0), bad('entry count 0 (or a delta to none)', ENTRIES_AT)],
  // index 1 with count 100, then the next with a delta of -100
  ['a delta to none', withEntries([1, 100, ...varint(2 * 199)], 2, 100), bad('entry count 0 (or a delta to none)', ENTRIES_AT + 2)],
  ['varint of 11 bytes', withEntries([...Array(10).fill(0x80), 0], 1, 1), bad('bad or truncated entry varint', ENTRIES_AT)],
  ['varint above 2^64', withEntries([...Array(9).fill(0x80), 2], 1, 1), bad('bad or truncated entry varint', ENTRIES_AT)],
  ['count varint cut', withEntries([0xc7, 1, 1, 0xc5, 1, 0x81], 2, 2), bad('bad or truncated entry varint', ENTRIES_AT + 3)],
  ['entries short of byteLength', withEntries([...SMALL.subarray(ENTRIES_AT), 0], 3, 3), bad('entries end at 9, byteLength is 10', 98)],
  ['count not the sum', patched(65, (d) => d.setFloat64(65, 4, true)), bad('item count 4 but entries sum to 3', 65)],
  // a count of 2^60 (no double error would show): the sum is written exactly
  ['a count above 2^53', withEntries([1, ...varint(2n ** 60n + 1n)], 1, 3), bad(`item count 3 but entries sum to ${2n ** 60n + 1n}`, 65)],
  ['counts past 2^64', withEntries([1, ...varint(TWO_63), 1, ...varint(TWO_63)], 2, 3), bad('entry counts overflow', ENTRIES_AT + 11)],
];

eachBackend('a corrupt snapshot is rejected, naming the fault and its byte', (t, backend) => {
  t.deepEqual(outcome(backend, SMALL).result.map((s) => s.percentilesUs), [[100, 100, 200, 300, 300, 300, 300]]);
  const wrong = CORRUPT.filter(([, bytes, message]) => outcome(backend, bytes).error !== message);
  t.deepEqual(wrong.map(([name]) => name), [], 'cases not rejected as native rejects them');
  for (const [name, bytes, message] of CORRUPT) t.deepEqual(outcome(backend, bytes), { error: message }, name);
});

// valid, though not as either back end writes them
const UNUSUAL = [
  // the first entry's varint (199) padded to 9 bytes
  ['a padded varint', withEntries([0xc7, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 1, 0xc5, 1, 1, 0xc5, 1, 1], 3, 3), 3, [100, 100, 200, 300, 300, 300, 300]],
  // after a count of 1 (no delta), an adjacent count of 2^52 + 1, whose varint is above 2^53
  ['an adjacent count above 2^52', withEntries([0xc7, 1, 1, ...varint(2n * (2n ** 52n + 1n))], 2, 2 ** 52 + 2), 2 ** 52 + 2, [100, 101, 101, 101, 101, 101, 101]],
];

eachBackend('unusual but valid entries are read', (t, backend) => {
  for (const [name, bytes, count, percentiles] of UNUSUAL) {
    const { result, error } = outcome(backend, bytes);
    t.is(error, undefined, name);
    t.is(result[0].count, count, name);
    t.deepEqual(result[0].percentilesUs, percentiles, name);
  }
});

const nativeTest =
  backendInfo().nativeAvailable || process.env.CI
    ? test
    : (title) => test.skip(`${title} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});

/** A busy snapshot: a few series, adjacent runs, large counts (deltas), several items per series. */
function busySnapshot() {
  const set = loadBackend('js').createSet(OPTIONS);
  const random = rng(11);
  const n = 4096;
  const ids = new Uint32Array(n);
  const durations = new Float64Array(n);
  const flags = new Uint8Array(n);
  let now = Date.UTC(2026, 0, 1, 12);
  for (let batch = 0; batch < 40; batch++) {
    for (let i = 0; i < n; i++) {
      ids[i] = Math.floor(random() * 4);
      durations[i] = Math.exp(Math.log(2_000) + 2 * (random() + random() - 1));
      flags[i] = random() < 0.1 ? 1 : 0;
    }
    set.record(ids, durations, flags, n, now);
    now += 7_000;
  }
  return set.snapshot(now);
}

nativeTest('native and JS agree on every prefix and on random corruptions of a snapshot', (t) => {
  for (let len = 0; len < SMALL.length; len++) {
    t.deepEqual(outcome('js', SMALL.subarray(0, len)), outcome('native', SMALL.subarray(0, len)), `prefix of ${len} bytes`);
  }
  const good = busySnapshot();
  const random = rng(5);
  let rejected = 0;
  for (let round = 0; round < 400; round++) {
    const b = Uint8Array.from(good);
    const flips = 1 + Math.floor(random() * 3);
    for (let k = 0; k < flips; k++) {
      // mostly within the first items (headers, first entries), some anywhere
      const at = random() < 0.5 ? Math.floor(random() * Math.min(b.length, 600)) : Math.floor(random() * b.length);
      b[at] = random() < 0.5 ? b[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
    }
    const js = outcome('js', b);
    const native = outcome('native', b);
    t.deepEqual(js, native, `round ${round}`);
    if (native.error !== undefined) rejected++;
  }
  t.true(rejected > 100, `${rejected} of 400 corruptions rejected`);
});

// ---------------------------------------------------------------------------
// standalone histograms

function state(h) {
  return {
    count: h.count,
    min: h.min,
    max: h.max,
    mean: h.mean,
    percentiles: PERCENTILES.map((p) => h.valueAtPercentile(p)),
    invalid: h.invalidCount,
    clamped: h.clampedCount,
  };
}

eachBackend('merging clamps values above the highest trackable value and counts each one', (t, backend) => {
  const small = createHistogram({ backend, highestTrackableValue: 1000 });
  const big = createHistogram({ backend, highestTrackableValue: 1e9 });
  for (let i = 0; i < 3; i++) big.record(5e8);
  big.record(10);
  big.record(NaN);
  big.record(2e9);
  t.is(big.clampedCount, 1);
  small.merge(big);
  t.is(small.count, 5);
  t.is(small.max, 1000);
  t.is(small.valueAtPercentile(50), 1000);
  t.is(small.valueAtPercentile(0), 10);
  t.is(small.clampedCount, 4, 'every value above 1000, not every bucket');
  t.is(small.invalidCount, 0, "the other histogram's counters are not carried over");
});

eachBackend("merging re-records each bucket's lowest value", (t, backend) => {
  // at 1 digit, 1050 is in the bucket 1024..1087
  const coarse = createHistogram({ backend, significantDigits: 1, highestTrackableValue: 1e6 });
  coarse.record(1050);
  const wide = createHistogram({ backend, highestTrackableValue: 1040 });
  wide.merge(coarse);
  t.deepEqual([wide.count, wide.max, wide.clampedCount], [1, 1024, 0]);
  const narrow = createHistogram({ backend, highestTrackableValue: 1000 });
  narrow.merge(coarse);
  t.deepEqual([narrow.count, narrow.max, narrow.clampedCount], [1, 1000, 1]);
  // native/src/histogram.rs, merge_clamps_and_counts
  const small = createHistogram({ backend, significantDigits: 3, highestTrackableValue: 10_000 });
  const big = createHistogram({ backend, significantDigits: 2, highestTrackableValue: 1_000_000 });
  big.recordBatch(new Float64Array([5, 500, 50_000, 900_000, NaN]), 5);
  small.record(7);
  small.merge(big);
  t.deepEqual([small.count, small.clampedCount, small.invalidCount, small.max], [5, 2, 0, 10_007]);
  small.merge(small);
  t.deepEqual([small.count, small.clampedCount, small.max], [10, 2, 10_007], 'a self-merge doubles (its values are not above 10 000)');
});

nativeTest('merges give the same histogram in both back ends', (t) => {
  const random = rng(9);
  const values = Float64Array.from({ length: 3000 }, () => Math.exp(random() * 22));
  const run = (backend) => {
    const out = [];
    for (const [digits, highest] of [[3, 50_000], [1, 2], [5, 1e7], [2, 3_600_000_000]]) {
      const into = createHistogram({ backend, significantDigits: digits, highestTrackableValue: highest });
      into.recordBatch(values.subarray(0, 100), 100);
      for (const [d, h] of [[2, 1e6], [4, 1e9], [3, 2 ** 53 - 1]]) {
        const from = createHistogram({ backend, significantDigits: d, highestTrackableValue: h });
        from.recordBatch(values, values.length);
        into.merge(from);
        out.push(state(into));
      }
    }
    return out;
  };
  t.deepEqual(run('js'), run('native'));
});

const HIGHEST = [
  [2.5, '2.5'],
  [1, '1'],
  [0, '0'],
  [-2, '-2'],
  [NaN, 'NaN'],
  [Infinity, 'inf'],
  [2 ** 53, '9007199254740992'],
  [1e300, `1${'0'.repeat(300)}`],
  [1e-7, '0.0000001'],
];
const DIGITS = [
  [0, '0'],
  [6, '6'],
  [2.5, '2.5'],
  [NaN, 'NaN'],
];

eachBackend('histogram and set options are checked as native checks them', (t, backend) => {
  const b = loadBackend(backend);
  for (const [highest, shown] of HIGHEST) {
    const message = `spanmeter: highestTrackableUs must be an integer in 2..=2^53-1, got ${shown}`;
    t.throws(() => createHistogram({ backend, highestTrackableValue: highest }), { message }, `histogram, highest ${highest}`);
    t.throws(() => b.createSet({ significantDigits: 3, highestTrackableUs: highest }), { message }, `set, highest ${highest}`);
  }
  for (const [digits, shown] of DIGITS) {
    const message = `spanmeter: significantDigits must be an integer in 1..=5, got ${shown}`;
    t.throws(() => createHistogram({ backend, significantDigits: digits }), { message }, `histogram, digits ${digits}`);
    t.throws(() => b.createSet({ significantDigits: digits, highestTrackableUs: 1000 }), { message }, `set, digits ${digits}`);
  }
  for (const highest of [2, 2 ** 53 - 1]) {
    const h = createHistogram({ backend, highestTrackableValue: highest });
    h.record(1);
    t.is(h.count, 1, `highest ${highest} is accepted`);
  }
});

// ---------------------------------------------------------------------------
// decoding what a header claims

test('decoding on the JS fallback: a stream that inflates past its payload, or a header native refuses, is a clear error', (t) => {
  // 50 MB of payload behind a header claiming 100 bytes: hdr-histogram-js inflated all of it
  const bomb = compressedV2({ digits: 3, highest: 3_600_000_000n, payload: new Uint8Array(50_000_000).fill(1), claimedLength: 100 });
  t.true(bomb.length < 100_000);
  t.throws(() => decodeHistogram(bomb, { backend: 'js' }), {
    message: 'spanmeter: cannot decode histogram: inflates past the 100 bytes of payload its header claims',
  });
  t.throws(() => decodeHistogram(compressedV2({ digits: 6, highest: 3_600_000_000n, payload: [2] }), { backend: 'js' }), {
    message: 'spanmeter: cannot decode histogram: significant digits 6 not in 0..=5',
  });
});
