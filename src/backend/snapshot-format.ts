/** Constants, a growable writer and the reader of the v2 snapshot format of docs/internals.md. */
export const SNAPSHOT_MAGIC = 0x31534d53;
export const SNAPSHOT_VERSION = 2;
export const SNAPSHOT_HEADER_BYTES = 32;
export const WINDOW_COUNT = 4;

/** A little-endian byte writer that grows by doubling. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  offset = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
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
  bytes(): Uint8Array {
    return this.buf.slice(0, this.offset);
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
   * The series records, each parsed as it is reached (a record's entries
   * decoded take 12 bytes per entry, 6 times the snapshot: decoded all at
   * once, a snapshot of many busy series took that much memory). Iterate
   * once; a malformed record throws when it is reached.
   */
  series: Iterable<SnapshotSeries>;
}

/** Parses a v2 snapshot's header; throws `spanmeter: bad snapshot: …` with the byte offset. */
export function readSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string): void => {
    if (at + n > bytes.byteLength) throw badSnapshot(at, `truncated ${what}`);
  };
  need(SNAPSHOT_HEADER_BYTES, 'header');
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) throw badSnapshot(0, 'wrong magic');
  const version = view.getUint16(4, true);
  if (version !== SNAPSHOT_VERSION) throw badSnapshot(4, `unsupported version ${version}`);
  const significantDigits = view.getUint8(6);
  if (view.getUint8(7) !== WINDOW_COUNT) throw badSnapshot(7, 'wrong window count');
  const highestTrackableUs = view.getFloat64(8, true);
  const nowMs = view.getFloat64(16, true);
  const seriesCount = view.getUint32(24, true);
  return { significantDigits, highestTrackableUs, nowMs, series: readSeries(bytes, view, seriesCount) };
}

/** The series records that follow the header, parsed one at a time. */
function* readSeries(bytes: Uint8Array, view: DataView, seriesCount: number): Generator<SnapshotSeries> {
  let at = SNAPSHOT_HEADER_BYTES;
  const need = (n: number, what: string): void => {
    if (at + n > bytes.byteLength) throw badSnapshot(at, `truncated ${what}`);
  };
  for (let s = 0; s < seriesCount; s++) {
    need(32, 'series record');
    const id = view.getUint32(at, true);
    const itemCount = view.getUint32(at + 4, true);
    const sumUs = view.getFloat64(at + 8, true);
    const minUs = view.getFloat64(at + 16, true);
    const maxUs = view.getFloat64(at + 24, true);
    at += 32;
    const items: SnapshotItem[] = [];
    for (let k = 0; k < itemCount; k++) {
      need(25, 'item header');
      const mask = view.getUint8(at);
      const count = view.getFloat64(at + 1, true);
      const errors = view.getFloat64(at + 9, true);
      const entryCount = view.getUint32(at + 17, true);
      const byteLength = view.getUint32(at + 21, true);
      at += 25;
      need(byteLength, 'entries');
      const end = at + byteLength;
      const indices = new Uint32Array(entryCount);
      const counts = new Float64Array(entryCount);
      let index = -1;
      let q = 0;
      let total = 0;
      for (let e = 0; e < entryCount; e++) {
        // an even v: the next index, its count from v / 2 (and q); an odd
        // v: (v - 1) / 2 + 2 indices on, then the count
        const entryAt = at;
        const v = readVarint();
        if (v % 2 === 0) {
          index += 1;
          q = adjacentCount(v / 2, q);
        } else {
          index += (v - 1) / 2 + 2;
          q = readVarint();
        }
        if (q === 0) throw badSnapshot(entryAt, 'entry count 0 (or a delta to none)');
        indices[e] = index;
        counts[e] = q;
        total += q;
      }
      if (at !== end) throw badSnapshot(at, 'entry bytes do not match byteLength');
      if (total !== count) throw badSnapshot(end - byteLength - 24, `item count ${count} but entries sum to ${total}`);
      items.push({ mask, count, errors, indices, counts, length: entryCount });

      function readVarint(): number {
        let result = 0;
        let scale = 1;
        for (;;) {
          if (at >= end) throw badSnapshot(at, 'truncated varint');
          const byte = bytes[at++];
          result += (byte & 0x7f) * scale;
          if ((byte & 0x80) === 0) return result;
          scale *= 0x80;
          if (scale > 2 ** 63) throw badSnapshot(at, 'varint too long');
        }
      }
    }
    yield { id, sumUs, minUs, maxUs, items };
  }
}
