import { NO_PAGES, type CounterPool } from './pool';
import { CompactSlice } from './compact-slice';
import { LEVELS, RING_KEEP, SLICE_MS } from '../windows';

/** One operation series: totals, the open slice, the sealed lifetime and the rolling-window slices (docs/internals.md). */
export class Series {
  /** Lifetime count and errors (sealed slices and `cur`). */
  count = 0;
  errors = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;
  /** The open 10 s slice: its page table in the set's pool, count and errors. */
  table: Int32Array = NO_PAGES;
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

  /** Seals the current slice when `n0` (the 10 s slice index of now) has moved past it. */
  advance(n0: number, pool: CounterPool): void {
    if (n0 <= this.curIndex) return;
    if (this.curCount > 0) {
      const sealed = CompactSlice.fromCounts(this.curIndex, pool, this.table, this.curCount, this.curErrors);
      pool.release(this.table);
      this.table = NO_PAGES;
      this.curCount = 0;
      this.curErrors = 0;
      this.seal(0, sealed);
    }
    this.curIndex = n0;
  }

  /**
   * Puts a sealed slice of `level` into its ring and merges it into the next
   * level's accumulator (a sealed acc3, level 3, into the sealed lifetime).
   */
  private seal(level: number, slice: CompactSlice): void {
    const ring = this.rings[level];
    ring.push(slice);
    const oldestUseful = slice.sliceIndex - RING_KEEP[level];
    while (ring.length > 0 && ring[0].sliceIndex <= oldestUseful) ring.shift();
    const up = level + 1;
    if (up >= LEVELS) {
      this.lifetime = CompactSlice.merge(0, this.lifetime, slice);
      return;
    }
    const index = Math.floor((slice.sliceIndex * SLICE_MS[level]) / SLICE_MS[up]);
    const open = this.acc[up];
    if (open !== null && open.sliceIndex !== index) {
      this.acc[up] = null;
      this.seal(up, open);
    }
    this.acc[up] = CompactSlice.merge(index, this.acc[up], slice);
  }

  memoryBytes(): number {
    let bytes = 200 + this.table.byteLength;
    if (this.lifetime !== null) bytes += this.lifetime.memoryBytes();
    for (const ring of this.rings) for (const s of ring) bytes += s.memoryBytes();
    for (const a of this.acc) if (a !== null) bytes += a.memoryBytes();
    return bytes;
  }
}
