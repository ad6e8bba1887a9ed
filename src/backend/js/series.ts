import { NO_PAGES, type CounterPool, type FarPages, type OpenPages } from './pool';
import { CompactSlice } from './compact-slice';
import type { SealQueue } from './seal-queue';
import { LEVELS, RING_KEEP, SLICE_MS } from '../windows';

/** One operation series: totals, the open slice, the sealed lifetime and the rolling-window slices (docs/internals.md). */
export class Series implements OpenPages {
  /** Lifetime count and errors (sealed slices and `cur`). */
  count = 0;
  errors = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;
  /** The open 10 s slice: its pages in the set's pool (`OpenPages`), count and errors. */
  table: Int32Array = NO_PAGES;
  far: FarPages | null = null;
  held = 0;
  curIndex: number;
  curCount = 0;
  curErrors = 0;
  /**
   * Every sealed acc3, merged. Every sealed slice is in exactly one of acc1,
   * acc2, acc3 and this, so the lifetime histogram is their sum plus `cur`.
   */
  lifetime: CompactSlice | null = null;
  /** Sealed slices per level, oldest first. */
  readonly rings: CompactSlice[][] = Array.from({ length: LEVELS }, () => []);
  /** acc[j] (j = 1..3): the sealed finer slices of level j's current slice; acc[0] unused. */
  readonly acc: (CompactSlice | null)[] = new Array(LEVELS).fill(null);

  /** A series whose first value is recorded at L0 slice `n0`. */
  constructor(n0: number) {
    this.curIndex = n0;
  }

  /**
   * Moves `cur` to L0 slice `n0` when that is later: a full `cur` is taken out
   * of the pool and queued on `sealing`, which seals it (`sealSlice`) later.
   */
  advance(n0: number, pool: CounterPool, sealing: SealQueue): void {
    if (n0 <= this.curIndex) return;
    if (this.curCount > 0) {
      sealing.push(this, this.curIndex, pool.detach(this), this.curCount, this.curErrors);
      this.curCount = 0;
      this.curErrors = 0;
    }
    this.curIndex = n0;
  }

  /**
   * Seals a full L0 slice: into the L0 ring, merged upward. Returns the bytes
   * its merges read, a measure of the work (sealings cascade at 1, 5 and
   * 15 min boundaries).
   */
  sealSlice(slice: CompactSlice): number {
    return this.seal(0, slice);
  }

  /**
   * Puts a sealed slice of `level` into its ring and merges it into the next
   * level's accumulator (a sealed acc3, level 3, into the sealed lifetime);
   * returns the bytes the merges read.
   */
  private seal(level: number, slice: CompactSlice): number {
    const ring = this.rings[level];
    ring.push(slice);
    // the piece open after it (cur, or the accumulator) has a later index, so
    // this slice's window ends at least one slice later: keep - 1 entries do
    const oldestUseful = slice.sliceIndex + 1 - RING_KEEP[level];
    while (ring.length > 0 && ring[0].sliceIndex <= oldestUseful) ring.shift();
    const up = level + 1;
    if (up >= LEVELS) {
      const read = (this.lifetime?.bytes.byteLength ?? 0) + slice.bytes.byteLength;
      this.lifetime = CompactSlice.merge(0, this.lifetime, slice);
      return read;
    }
    const index = Math.floor((slice.sliceIndex * SLICE_MS[level]) / SLICE_MS[up]);
    const open = this.acc[up];
    let read = 0;
    if (open !== null && open.sliceIndex !== index) {
      this.acc[up] = null;
      read += this.seal(up, open);
    }
    read += (this.acc[up]?.bytes.byteLength ?? 0) + slice.bytes.byteLength;
    this.acc[up] = CompactSlice.merge(index, this.acc[up], slice);
    return read;
  }

  memoryBytes(): number {
    let bytes = 200 + this.table.byteLength + (this.far?.pages.length ?? 0) * 16;
    if (this.lifetime !== null) bytes += this.lifetime.memoryBytes();
    for (const ring of this.rings) for (const s of ring) bytes += s.memoryBytes();
    for (const a of this.acc) if (a !== null) bytes += a.memoryBytes();
    return bytes;
  }
}
