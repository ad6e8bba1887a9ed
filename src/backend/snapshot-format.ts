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
  /** One entry of an item: `gap` indices skipped since the previous entry, count `c` (> 0). */
  entry(gap: number, c: number): void {
    this.ensure(20);
    this.offset = writeEntry(this.buf, this.offset, gap, c);
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

/**
 * Writes an item's entry at `out[at..]`; returns the next position. An entry
 * adjacent to the previous one (`gap` 0, the previous index being -1 before
 * the first) is the varint `c * 2`; any other is the varint `gap * 2 - 1`,
 * then the varint `c`. Busy histograms are mostly runs of adjacent buckets
 * with small counts: one byte per entry.
 */
export function writeEntry(out: Uint8Array, at: number, gap: number, c: number): number {
  if (gap === 0) {
    if (c < 0x40) {
      out[at] = c * 2;
      return at + 1;
    }
    return writeVarint(out, at, c * 2);
  }
  if (gap <= 0x40 && c < 0x80) {
    out[at] = gap * 2 - 1;
    out[at + 1] = c;
    return at + 2;
  }
  return writeVarint(out, writeVarint(out, at, gap * 2 - 1), c);
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
      for (let e = 0; e < entryCount; e++) {
        // an even v: the next index, count v / 2; an odd v: (v - 1) / 2 + 2
        // indices on, then the count
        const v = readVarint();
        if (v % 2 === 0) {
          index += 1;
          counts[e] = v / 2;
        } else {
          index += (v - 1) / 2 + 2;
          counts[e] = readVarint();
        }
        indices[e] = index;
      }
      if (at !== end) throw badSnapshot(at, 'entry bytes do not match byteLength');
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
