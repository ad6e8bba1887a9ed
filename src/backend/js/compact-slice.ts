import { ByteWriter } from '../snapshot-format';

/**
 * A sealed slice (or an accumulator) of a rolling window, stored as the
 * snapshot's entry encoding: LEB128 pairs (indexDelta, count). Mirrors
 * native/src/compact.rs.
 */
export class CompactSlice {
  constructor(
    readonly sliceIndex: number,
    readonly count: number,
    readonly errors: number,
    readonly entryCount: number,
    readonly bytes: Uint8Array,
  ) {}

  /** Encodes sorted (index, count) visits into a slice. */
  static build(sliceIndex: number, count: number, errors: number, fill: (push: (index: number, count: number) => void) => void): CompactSlice {
    const w = new ByteWriter(256);
    let previous = -1;
    let entries = 0;
    fill((index, c) => {
      w.varint(index - previous - 1);
      w.varint(c);
      previous = index;
      entries++;
    });
    return new CompactSlice(sliceIndex, count, errors, entries, w.bytes());
  }

  /** Visits every (index, count) in ascending index order. */
  forEach(visit: (index: number, count: number) => void): void {
    const bytes = this.bytes;
    let at = 0;
    let index = -1;
    const read = (): number => {
      let result = 0;
      let scale = 1;
      for (;;) {
        const byte = bytes[at++];
        result += (byte & 0x7f) * scale;
        if ((byte & 0x80) === 0) return result;
        scale *= 0x80;
      }
    };
    for (let e = 0; e < this.entryCount; e++) {
      index += read() + 1;
      visit(index, read());
    }
  }

  /** A new slice with index `sliceIndex` holding `a` + `b` (a sorted merge). */
  static merge(sliceIndex: number, a: CompactSlice | null, b: CompactSlice): CompactSlice {
    if (a === null) return new CompactSlice(sliceIndex, b.count, b.errors, b.entryCount, b.bytes);
    const left = decode(a);
    const right = decode(b);
    return CompactSlice.build(sliceIndex, a.count + b.count, a.errors + b.errors, (push) => {
      let i = 0;
      let j = 0;
      while (i < left.length || j < right.length) {
        if (j >= right.length || (i < left.length && left[i] < right[j])) {
          push(left[i], left[i + 1]);
          i += 2;
        } else if (i >= left.length || right[j] < left[i]) {
          push(right[j], right[j + 1]);
          j += 2;
        } else {
          push(left[i], left[i + 1] + right[j + 1]);
          i += 2;
          j += 2;
        }
      }
    });
  }

  memoryBytes(): number {
    return 48 + this.bytes.byteLength;
  }
}

/** Flat [index, count, index, count, …]. */
function decode(slice: CompactSlice): number[] {
  const out: number[] = [];
  slice.forEach((index, count) => out.push(index, count));
  return out;
}
