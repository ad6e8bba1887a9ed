import { PagedCounts } from './paged-counts';
import { CompactSlice } from './compact-slice';
import { LEVELS, RING_KEEP, SLICE_MS } from '../windows';

/** One operation series: lifetime counts plus the rolling-window slices (docs/internals.md). */
export class Series {
  count = 0;
  errors = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;
  readonly lifetime = new PagedCounts();
  readonly cur = new PagedCounts();
  curIndex: number;
  curErrors = 0;
  /** Sealed slices per level, oldest first. */
  readonly rings: CompactSlice[][] = Array.from({ length: LEVELS }, () => []);
  /** acc[j] (j = 1..3): the sealed finer slices of level j's current slice; acc[0] unused. */
  readonly acc: (CompactSlice | null)[] = new Array(LEVELS).fill(null);

  constructor(nowMs: number) {
    this.curIndex = Math.floor(nowMs / SLICE_MS[0]);
  }

  record(index: number, value: number, isError: boolean): void {
    this.lifetime.increment(index);
    this.cur.increment(index);
    this.count++;
    this.sumUs += value;
    if (value < this.minUs) this.minUs = value;
    if (value > this.maxUs) this.maxUs = value;
    if (isError) {
      this.errors++;
      this.curErrors++;
    }
  }

  /** Seals the current slice when `n0` (the 10 s slice index of now) has moved past it. */
  advance(n0: number): void {
    if (n0 <= this.curIndex) return;
    if (!this.cur.isEmpty()) {
      const sealed = CompactSlice.build(this.curIndex, this.cur.total, this.curErrors, (push) => this.cur.forEachNonZero(push));
      this.cur.clear();
      this.curErrors = 0;
      this.seal(0, sealed);
    }
    this.curIndex = n0;
  }

  /** Puts a sealed slice of `level` into its ring and merges it into the next level's accumulator. */
  private seal(level: number, slice: CompactSlice): void {
    const ring = this.rings[level];
    ring.push(slice);
    const oldestUseful = slice.sliceIndex - RING_KEEP[level];
    while (ring.length > 0 && ring[0].sliceIndex <= oldestUseful) ring.shift();
    const up = level + 1;
    if (up >= LEVELS) return;
    const index = Math.floor((slice.sliceIndex * SLICE_MS[level]) / SLICE_MS[up]);
    const open = this.acc[up];
    if (open !== null && open.sliceIndex !== index) {
      this.acc[up] = null;
      this.seal(up, open);
    }
    this.acc[up] = CompactSlice.merge(index, this.acc[up], slice);
  }

  memoryBytes(): number {
    let bytes = 200 + this.lifetime.memoryBytes() + this.cur.memoryBytes();
    for (const ring of this.rings) for (const s of ring) bytes += s.memoryBytes();
    for (const a of this.acc) if (a !== null) bytes += a.memoryBytes();
    return bytes;
  }
}
