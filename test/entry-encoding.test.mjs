// The snapshot's entry encoding (docs/internals.md, "Snapshot format"), in the
// JS back end: the bytes the format prescribes, and merges that sum their
// inputs, also where the merge is longer than both inputs.
import test from 'ava';

const { writeEntry } = await import('../dist/backend/snapshot-format.js');
const { CompactSlice } = await import('../dist/backend/js/compact-slice.js');

/** Encodes ascending [index, count] entries with `writeEntry`. */
function encode(entries) {
  const out = new Uint8Array(entries.length * 20 + 20);
  let at = 0;
  let previous = -1;
  let previousCount = 0;
  for (const [index, count] of entries) {
    at = writeEntry(out, at, index - previous - 1, count, previousCount);
    previous = index;
    previousCount = count;
  }
  return out.slice(0, at);
}

function slice(entries) {
  const count = entries.reduce((sum, [, c]) => sum + c, 0);
  return new CompactSlice(0, count, 0, entries.length, encode(entries));
}

function entriesOf(compact) {
  const got = [];
  compact.forEach((index, count) => got.push([index, count]));
  return got;
}

function leb128(v) {
  const bytes = [];
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

test('entries are written as the format prescribes and read back', (t) => {
  const entries = [[0, 1], [1, 2], [5, 1], [300, 200], [301, 64], [302, 70], [303, 2 ** 50], [304, 7], [305, 2 ** 53 - 1]];
  const expected = [
    2, // index 0 after -1: adjacent, count 1 * 2
    4, // 1: adjacent, 2 * 2
    5, 1, // 5 is 3 past 1: (3 - 1) * 2 + 1, then the count
    ...leb128(293 * 2 + 1), ...leb128(200), // 300 is 294 past 5
    ...leb128(271 * 2), // 301 after a count of 200: zigzag(64 - 200) = 271
    24, // 302 after 64: zigzag(70 - 64) = 12
    ...leb128((2 ** 51 - 140) * 2), // 303 after 70: zigzag(2^50 - 70)
    14, // 304 after 2^50 (not below 2^50): the count itself
    ...leb128((2 ** 53 - 1) * 2), // 305 after 7 (below 64): the count itself
  ];
  t.deepEqual([...encode(entries)], expected);
  t.deepEqual(entriesOf(slice(entries)), entries);
});

test('merges sum their entries, also when the merge is longer than both inputs', (t) => {
  // a run of equal counts (one-byte deltas) and huge counts at every other
  // index: every merged delta is huge
  const a = Array.from({ length: 200 }, (_, i) => [i, 1000]);
  const b = Array.from({ length: 100 }, (_, i) => [2 * i, 2 ** 40]);
  const merged = CompactSlice.merge(0, slice(a), slice(b));
  t.true(merged.bytes.byteLength > slice(a).bytes.byteLength + slice(b).bytes.byteLength);
  t.deepEqual(entriesOf(merged), a.map(([i, c]) => [i, c + (i % 2 === 0 ? 2 ** 40 : 0)]));
  t.deepEqual([...merged.bytes], [...encode(entriesOf(merged))]);
  // random lists with small, middling and huge counts
  let seed = 7;
  const random = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n);
  for (let round = 0; round < 200; round++) {
    const lists = [0, 1].map(() => {
      const list = new Map();
      let i = random(5);
      for (let k = random(300); k > 0; k--) {
        list.set(i, [1 + random(63), 60 + random(10), 1 + random(100_000), 1 + random(2 ** 30) * 2 ** 20][random(4)]);
        i += 1 + (random(3) === 0 ? random(200) : 0);
      }
      return [...list];
    });
    const want = new Map(lists[0]);
    for (const [i, c] of lists[1]) want.set(i, (want.get(i) ?? 0) + c);
    const sorted = [...want].sort((x, y) => x[0] - y[0]);
    const m = CompactSlice.merge(0, slice(lists[0]), slice(lists[1]));
    t.deepEqual(entriesOf(m), sorted, `round ${round}`);
    t.is(m.entryCount, sorted.length);
  }
});
