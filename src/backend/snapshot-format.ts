/** Constants, a growable writer and the reader of the v2 snapshot format of docs/internals.md. */
import { hdrLayout } from './hdr-math';

export const SNAPSHOT_MAGIC = 0x31534d53;
export const SNAPSHOT_VERSION = 2;
export const SNAPSHOT_HEADER_BYTES = 32;
export const WINDOW_COUNT = 4;

/** A little-endian byte writer that grows by doubling. */
/** What a snapshot is written to: a `ByteWriter`, or a `ByteCounter` that only counts. */
export interface ByteSink {
  readonly offset: number;
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  f64(v: number): void;
  raw(bytes: Uint8Array): void;
  patchU32(at: number, v: number): void;
}

/** Counts the bytes a write would take (the first pass of an exact-size write). */
export class ByteCounter implements ByteSink {
  offset = 0;
  u8(): void {
    this.offset += 1;
  }
  u16(): void {
    this.offset += 2;
  }
  u32(): void {
    this.offset += 4;
  }
  f64(): void {
    this.offset += 8;
  }
  raw(bytes: Uint8Array): void {
    this.offset += bytes.byteLength;
  }
  patchU32(): void {}
}

export class ByteWriter implements ByteSink {
  private buf: Uint8Array;
  private view: DataView;
  offset = 0;

  /**
   * `exact`: `capacity` is the length that will be written: the buffer is
   * not zeroed (every byte gets written) and `bytes()` returns it as it is.
   */
  constructor(capacity = 4096, { exact = false }: { exact?: boolean } = {}) {
    // an ArrayBuffer of its own (not from the Buffer pool), so that it can be transferred
    this.buf = exact ? new Uint8Array(Buffer.allocUnsafeSlow(capacity).buffer) : new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private ensure(extra: number): void {
    if (this.offset + extra <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < this.offset + extra) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.offset));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.offset++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.offset, v, true);
    this.offset += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.offset, v, true);
    this.offset += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.offset, v, true);
    this.offset += 8;
  }
  /** One entry of an item: `gap` indices skipped since the previous entry (whose count was `q`), count `c` (> 0). */
  entry(gap: number, c: number, q: number): void {
    this.ensure(MAX_ENTRY_BYTES);
    this.offset = writeEntry(this.buf, this.offset, gap, c, q);
  }
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.byteLength);
    this.buf.set(bytes, this.offset);
    this.offset += bytes.byteLength;
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  /** The bytes written: the buffer itself when they fill it, else a copy. */
  bytes(): Uint8Array {
    return this.offset === this.buf.length ? this.buf : this.buf.slice(0, this.offset);
  }

  /** The bytes written so far, not copied (valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.offset);
  }
}

/** The most bytes one entry takes: two varints of up to 10 bytes. */
export const MAX_ENTRY_BYTES = 20;

/** Adjacent entries after a count `q` with `DELTA_FROM <= q < DELTA_BELOW` store the zigzag of `c - q`. */
const DELTA_FROM = 64;
const DELTA_BELOW = 2 ** 50;

/**
 * Writes an item's entry at `out[at..]`; returns the next position. The
 * previous entry's index is `gap + 1` below, its count `q` (index -1 and
 * count 0 before the first). An adjacent entry (`gap` 0) is the varint
 * `z * 2`, `z` being `c`, or, when `64 <= q < 2^50`, the zigzag of `c - q`;
 * any other is the varint `gap * 2 - 1`, then the varint `c`. Busy
 * histograms are mostly runs of adjacent buckets: small counts take one byte,
 * large ones their (smaller) difference to their neighbour. Every varint
 * stays below 2^55 and exact in doubles.
 */
export function writeEntry(out: Uint8Array, at: number, gap: number, c: number, q: number): number {
  if (gap === 0) {
    const z = q >= DELTA_FROM && q < DELTA_BELOW ? (c >= q ? (c - q) * 2 : (q - c) * 2 - 1) : c;
    if (z < 0x40) {
      out[at] = z * 2;
      return at + 1;
    }
    return writeVarint(out, at, z * 2);
  }
  if (gap <= 0x40 && c < 0x80) {
    out[at] = gap * 2 - 1;
    out[at + 1] = c;
    return at + 2;
  }
  return writeVarint(out, writeVarint(out, at, gap * 2 - 1), c);
}

/** The count of an adjacent entry whose varint is `z * 2`, after one with count `q` (0, invalid, when a delta gives none). */
export function adjacentCount(z: number, q: number): number {
  if (q < DELTA_FROM || q >= DELTA_BELOW) return z;
  const c = z % 2 === 0 ? q + z / 2 : q - (z + 1) / 2;
  return c > 0 && c <= Number.MAX_SAFE_INTEGER ? c : 0;
}

/** Writes `v` (a non-negative integer below 2^54) as unsigned LEB128 at `at`; returns the next position. */
function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** Thrown for a malformed snapshot. */
export function badSnapshot(offset: number, what: string): Error {
  return new Error(`spanmeter: bad snapshot: ${what} at byte ${offset}`);
}

/**
 * `v` as Rust's `Display` writes an f64 (the native back end's error
 * messages): the shortest digits that read back as `v`, never an exponent,
 * `inf`, `-inf`, `NaN`, `-0`.
 */
export function displayF64(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(v).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const point = Number(exponent) + 1; // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export interface SnapshotItem {
  mask: number;
  count: number;
  errors: number;
  indices: Uint32Array;
  counts: Float64Array;
  length: number;
}

export interface SnapshotSeries {
  id: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  items: SnapshotItem[];
}

export interface Snapshot {
  significantDigits: number;
  highestTrackableUs: number;
  nowMs: number;
  /**
   * The series records, their entries decoded as each is reached (a
   * record's entries decoded take 12 bytes per entry, 6 times the snapshot:
   * decoded all at once, a snapshot of many busy series took that much
   * memory). Everything but the entries was checked by `readSnapshot`; a
   * bad entry throws when its record is reached. Iterate once.
   */
  series: Iterable<SnapshotSeries>;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Sequential little-endian reads with native's checks and messages
 * (native/src/snapshot.rs, `Reader`): a read past the end names the field.
 */
class Reader {
  at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
  ) {}

  get length(): number {
    return this.bytes.byteLength;
  }

  /** Skips `n` bytes, returns where they start. */
  take(n: number, what: string): number {
    const at = this.at;
    const left = this.bytes.byteLength - at;
    if (n > left) throw badSnapshot(at, `truncated: ${what} needs ${n} bytes, ${left} left`);
    this.at = at + n;
    return at;
  }
  u8(what: string): number {
    return this.bytes[this.take(1, what)];
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  f64(what: string): number {
    return this.view.getFloat64(this.take(8, what), true);
  }
  /** A non-negative integral f64 <= 2^53 - 1. */
  count(what: string): number {
    const at = this.at;
    const v = this.f64(what);
    if (!(v >= 0 && v <= MAX_SAFE && Number.isInteger(v))) throw badSnapshot(at, `${what} ${displayF64(v)} is not a count`);
    return v;
  }
}

/**
 * Parses a v2 snapshot and checks it as native's `parse_deferring_entries`
 * does (the header, every series record and item header, the entries'
 * byte lengths, no bytes after the last record); the entries are checked as
 * `series` decodes them. Throws `spanmeter: bad snapshot: … at byte N`, with
 * native's wording, for the first fault native would report.
 */
export function readSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, view);
  const magic = r.u32('header');
  if (magic !== SNAPSHOT_MAGIC) {
    throw badSnapshot(0, `magic 0x${magic.toString(16).padStart(8, '0')} is not 0x${SNAPSHOT_MAGIC.toString(16).padStart(8, '0')}`);
  }
  const version = r.u16('version');
  if (version !== SNAPSHOT_VERSION) throw badSnapshot(4, `unsupported version ${version}`);
  const significantDigits = r.u8('significantDigits');
  if (!(significantDigits >= 1 && significantDigits <= 5)) throw badSnapshot(6, `significantDigits ${significantDigits} not in 1..=5`);
  const windows = r.u8('windowCount');
  if (windows !== WINDOW_COUNT) throw badSnapshot(7, `windowCount ${windows} is not ${WINDOW_COUNT}`);
  const highestTrackableUs = r.f64('highestTrackableUs');
  if (!(highestTrackableUs >= 2 && highestTrackableUs <= MAX_SAFE && Number.isInteger(highestTrackableUs))) {
    throw badSnapshot(8, `highestTrackableUs ${displayF64(highestTrackableUs)} is not an integer in 2..=2^53-1`);
  }
  const nowMs = r.f64('nowMs');
  const seriesCount = r.u32('seriesCount');
  r.u32('reserved');
  const countsLen = hdrLayout(significantDigits, highestTrackableUs).countsLen;
  checkRecords(r, seriesCount);
  return { significantDigits, highestTrackableUs, nowMs, series: readSeries(bytes, view, seriesCount, countsLen) };
}

/**
 * Checks the series records after the header but their entries (each
 * record, item header and entry block is in bounds, masks and counts are
 * valid, entryCount fits in byteLength) and that nothing follows them. Reads
 * the headers only, keeps nothing: `readSeries` reads them again.
 */
function checkRecords(r: Reader, seriesCount: number): void {
  for (let s = 0; s < seriesCount; s++) {
    r.u32('series id');
    const itemCount = r.u32('itemCount');
    r.f64('sumUs');
    r.f64('minUs');
    r.f64('maxUs');
    for (let k = 0; k < itemCount; k++) {
      const itemAt = r.at;
      const mask = r.u8('windowMask');
      if (mask === 0 || mask > 0x1f) throw badSnapshot(itemAt, `windowMask 0x${mask.toString(16).padStart(2, '0')} invalid`);
      r.count('item count');
      r.count('item errors');
      const entryCount = r.u32('entryCount');
      const lengthAt = r.at;
      const byteLength = r.u32('byteLength');
      r.take(byteLength, 'entries');
      // every entry takes at least one byte: entryCount bounds what is allocated for it
      if (entryCount > byteLength) throw badSnapshot(lengthAt, `${entryCount} entries cannot fit in ${byteLength} bytes`);
    }
  }
  const left = r.length - r.at;
  if (left !== 0) throw badSnapshot(r.at, `${left} trailing bytes`);
}

/**
 * The series records that follow the header (checked by `checkRecords`),
 * read one at a time, their entries decoded and checked.
 */
function* readSeries(bytes: Uint8Array, view: DataView, seriesCount: number, countsLen: number): Generator<SnapshotSeries> {
  let at = SNAPSHOT_HEADER_BYTES;
  for (let s = 0; s < seriesCount; s++) {
    const id = view.getUint32(at, true);
    const itemCount = view.getUint32(at + 4, true);
    const sumUs = view.getFloat64(at + 8, true);
    const minUs = view.getFloat64(at + 16, true);
    const maxUs = view.getFloat64(at + 24, true);
    at += 32;
    const items: SnapshotItem[] = [];
    for (let k = 0; k < itemCount; k++) {
      const mask = bytes[at];
      const count = view.getFloat64(at + 1, true);
      const errors = view.getFloat64(at + 9, true);
      const entryCount = view.getUint32(at + 17, true);
      const byteLength = view.getUint32(at + 21, true);
      at += 25;
      const item: SnapshotItem = { mask, count, errors, indices: new Uint32Array(entryCount), counts: new Float64Array(entryCount), length: entryCount };
      if (!decodeEntries(bytes, at, at + byteLength, count, countsLen, item.indices, item.counts)) {
        // something is wrong, or merely unusual (a varint above 2^53 - 1 or
        // longer than 8 bytes): decode again exactly as native does, which
        // throws native's error for the first bad entry
        decodeEntriesExactly(bytes, at, at + byteLength, count, countsLen, item.indices, item.counts);
      }
      items.push(item);
      at += byteLength;
    }
    yield { id, sumUs, minUs, maxUs, items };
  }
}

/** Set by `readLongVarint`: where the varint it read ends. */
let varintEnd = 0;

/**
 * Reads a varint of 2 to 8 bytes whose first byte `first` (>= 0x80) was at
 * `at - 1`; sets `varintEnd`. Returns -1 when it is truncated, longer, or
 * above 2^53 - 1 (where doubles stop being exact).
 */
function readLongVarint(bytes: Uint8Array, at: number, end: number, first: number): number {
  let v = first & 0x7f;
  let scale = 0x80;
  for (;;) {
    if (at >= end) return -1;
    const byte = bytes[at++];
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 0x80;
    if (scale > 2 ** 49) return -1;
  }
  varintEnd = at;
  return v <= MAX_SAFE ? v : -1;
}

/**
 * Decodes an item's `indices.length` entries from `bytes[at..end]` into
 * `indices` and `counts`, in doubles; true when they are valid (every index
 * below `countsLen`, every count above 0, summing to `count`, ending at
 * `end`). False for anything else, including valid entries that doubles do
 * not hold exactly: `decodeEntriesExactly` decides those. Per entry the
 * checks are two comparisons (and one for the end of the bytes).
 */
function decodeEntries(
  bytes: Uint8Array,
  at: number,
  end: number,
  count: number,
  countsLen: number,
  indices: Uint32Array,
  counts: Float64Array,
): boolean {
  const entryCount = indices.length;
  let index = -1;
  let q = 0;
  let total = 0;
  for (let e = 0; e < entryCount; e++) {
    // an even v: the next index, its count from v / 2 (and q); an odd
    // v: (v - 1) / 2 + 2 indices on, then the count
    if (at >= end) return false;
    let v = bytes[at++];
    if (v >= 0x80) {
      v = readLongVarint(bytes, at, end, v);
      if (v < 0) return false;
      at = varintEnd;
    }
    if ((v & 1) === 0) {
      index += 1;
      q = adjacentCount(v / 2, q);
    } else {
      index += (v - 1) / 2 + 2;
      if (at >= end) return false;
      q = bytes[at++];
      if (q >= 0x80) {
        q = readLongVarint(bytes, at, end, q);
        if (q < 0) return false;
        at = varintEnd;
      }
    }
    // (an index beyond 2^53 is inexact, but still >= countsLen)
    if (index >= countsLen || q === 0) return false;
    indices[e] = index;
    counts[e] = q;
    // exact while it stays <= 2^53 - 1; past that it is >= 2^53 and so
    // differs from count, which readSnapshot checked is <= 2^53 - 1
    total += q;
  }
  return at === end && total === count;
}

const U64_MAX = (1n << 64n) - 1n;
const MAX_COUNT = (1n << 61n) - 1n;
const BIG_DELTA_FROM = 64n;
const BIG_DELTA_BELOW = 1n << 50n;

/**
 * `decodeEntries` in exact u64 arithmetic, a transcription of native's
 * `Item::decode` (native/src/snapshot.rs) and `read_entry`, `read_varint`
 * and `adjacent_count` (native/src/sparse.rs): throws native's error for
 * the first bad entry, else fills `indices` and `counts` (all exact: they
 * sum to `count`, at most 2^53 - 1).
 */
function decodeEntriesExactly(
  bytes: Uint8Array,
  bodyAt: number,
  end: number,
  count: number,
  countsLen: number,
  indices: Uint32Array,
  counts: Float64Array,
): void {
  let at = bodyAt;
  // read_varint: at most 10 bytes, no bits beyond 64
  const readVarint = (): bigint | undefined => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= end) return undefined;
      const byte = bytes[at++];
      if (shift === 63n && byte > 1) return undefined;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) return undefined;
    }
  };
  const bigCountsLen = BigInt(countsLen);
  let prev = -1n;
  let prevCount = 0n;
  let total = 0n;
  for (let e = 0; e < indices.length; e++) {
    const entryAt = at;
    const v = readVarint();
    let step: bigint;
    let c: bigint | undefined;
    if (v === undefined) {
      c = undefined;
      step = 0n;
    } else if ((v & 1n) === 0n) {
      step = 1n;
      // adjacent_count: the zigzag of a delta to prevCount when that is in 64..2^50, else the count
      const z = v >> 1n;
      const d = (z & 1n) === 0n ? z >> 1n : U64_MAX - (z >> 1n);
      const isDelta = prevCount >= BIG_DELTA_FROM && prevCount < BIG_DELTA_BELOW;
      c = isDelta ? (prevCount + d) & U64_MAX : z;
      if (c > MAX_COUNT) c = 0n;
    } else {
      step = (v >> 1n) + 2n;
      c = readVarint();
    }
    if (c === undefined) throw badSnapshot(entryAt, 'bad or truncated entry varint');
    const index = prev + 1n + step - 1n;
    if (index >= bigCountsLen) throw badSnapshot(entryAt, `entry index ${index} >= countsLen ${countsLen}`);
    if (c === 0n) throw badSnapshot(entryAt, 'entry count 0 (or a delta to none)');
    total += c;
    if (total > U64_MAX) throw badSnapshot(entryAt, 'entry counts overflow');
    indices[e] = Number(index);
    counts[e] = Number(c);
    prev = index;
    prevCount = c;
  }
  if (at !== end) throw badSnapshot(at, `entries end at ${at - bodyAt}, byteLength is ${end - bodyAt}`);
  if (total !== BigInt(count)) throw badSnapshot(bodyAt - 24, `item count ${count} but entries sum to ${total}`);
}
