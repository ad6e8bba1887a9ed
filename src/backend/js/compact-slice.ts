import { adjacentCount, ByteWriter, MAX_ENTRY_BYTES, writeEntry } from '../snapshot-format';
import { encodeDetached, type CounterPool, type DetachedPages } from './pool';

/**
 * A sealed slice, an accumulator or the sealed lifetime of a series, stored as
 * the snapshot's entry encoding (version 2, `writeEntry` in
 * snapshot-format.ts). Mirrors `Piece` in native/src/sparse.rs. Immutable:
 * merges make new slices.
 */
export class CompactSlice {
  constructor(
    readonly sliceIndex: number,
    readonly count: number,
    readonly errors: number,
    readonly entryCount: number,
    readonly bytes: Uint8Array,
  ) {}

  /** Encodes the counts of a full slice taken out of the pool. */
  static fromDetached(sliceIndex: number, pages: DetachedPages, count: number, errors: number): CompactSlice {
    const w = new ByteWriter(256);
    const entries = encodeDetached(pages, w);
    return new CompactSlice(sliceIndex, count, errors, entries, w.bytes());
  }

  /** Visits every (index, count) in ascending index order. */
  forEach(visit: (index: number, count: number) => void): void {
    const bytes = this.bytes;
    let at = 0;
    cursorIndex = -1;
    cursorValue = 0;
    for (let e = 0; e < this.entryCount; e++) {
      at = readEntry(bytes, at);
      visit(cursorIndex, cursorValue);
    }
  }

  /**
   * A new slice with index `sliceIndex` holding `a` + `b` (a sorted merge of
   * the encodings). Writes into one array as long as both inputs, which the
   * result seldom exceeds (merging shortens gaps, and two entries with one
   * index become one; but a count's difference to a new neighbour can take
   * more bytes than to its old one), growing it when an entry might not fit.
   */
  static merge(sliceIndex: number, a: CompactSlice | null, b: CompactSlice): CompactSlice {
    if (a === null || a.entryCount === 0) {
      return new CompactSlice(sliceIndex, (a?.count ?? 0) + b.count, (a?.errors ?? 0) + b.errors, b.entryCount, b.bytes);
    }
    const x = a.bytes;
    const y = b.bytes;
    let out = new Uint8Array(x.byteLength + y.byteLength + 2 * MAX_ENTRY_BYTES);
    let o = 0;
    let ax = 0; // read positions
    let ay = 0;
    let ix = -1; // current indices
    let iy = -1;
    let cx = 0; // current counts
    let cy = 0;
    let nx = a.entryCount; // entries left, including the current one
    let ny = b.entryCount;
    if (nx > 0) {
      cursorIndex = ix;
      cursorValue = cx;
      ax = readEntry(x, ax);
      ix = cursorIndex;
      cx = cursorValue;
    }
    if (ny > 0) {
      cursorIndex = iy;
      cursorValue = cy;
      ay = readEntry(y, ay);
      iy = cursorIndex;
      cy = cursorValue;
    }
    let previous = -1;
    let previousCount = 0;
    let entries = 0;
    while (nx > 0 || ny > 0) {
      let index: number;
      let c: number;
      const takeX = nx > 0 && (ny === 0 || ix <= iy);
      const takeY = ny > 0 && (nx === 0 || iy <= ix);
      if (takeX && takeY) {
        index = ix;
        c = cx + cy;
      } else if (takeX) {
        index = ix;
        c = cx;
      } else {
        index = iy;
        c = cy;
      }
      if (o + MAX_ENTRY_BYTES > out.length) {
        const grown = new Uint8Array(out.length * 2);
        grown.set(out.subarray(0, o));
        out = grown;
      }
      o = writeEntry(out, o, index - previous - 1, c, previousCount);
      previous = index;
      previousCount = c;
      entries++;
      if (takeX && --nx > 0) {
        cursorIndex = ix;
        cursorValue = cx;
        ax = readEntry(x, ax);
        ix = cursorIndex;
        cx = cursorValue;
      }
      if (takeY && --ny > 0) {
        cursorIndex = iy;
        cursorValue = cy;
        ay = readEntry(y, ay);
        iy = cursorIndex;
        cy = cursorValue;
      }
    }
    return new CompactSlice(sliceIndex, a.count + b.count, a.errors + b.errors, entries, out.slice(0, o));
  }

  memoryBytes(): number {
    return 48 + this.bytes.byteLength;
  }
}

/** The value of the last `readVarint`, the count of the last `readEntry` (module variables: no allocation per read). */
let cursorValue = 0;
/** The index of the last `readEntry`. */
let cursorIndex = -1;

/**
 * Reads the entry at `at` of trusted bytes into `cursorIndex` and
 * `cursorValue`, which hold the previous entry's index and count before the
 * call (-1 and 0 before the first); returns the next position.
 */
function readEntry(bytes: Uint8Array, at: number): number {
  const previousCount = cursorValue;
  at = readVarint(bytes, at);
  const v = cursorValue;
  if (v % 2 === 0) {
    cursorIndex += 1;
    cursorValue = adjacentCount(v / 2, previousCount);
    return at;
  }
  cursorIndex += (v - 1) / 2 + 2;
  return readVarint(bytes, at);
}

/** Reads an unsigned LEB128 varint of trusted (self-written) bytes at `at`; returns the next position. */
function readVarint(bytes: Uint8Array, at: number): number {
  let byte = bytes[at++];
  if (byte < 0x80) {
    cursorValue = byte;
    return at;
  }
  let result = byte & 0x7f;
  let scale = 0x80;
  for (;;) {
    byte = bytes[at++];
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 0x80;
  }
  cursorValue = result;
  return at;
}
