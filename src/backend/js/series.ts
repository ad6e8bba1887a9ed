import { PagedCounts } from './paged-counts';
import { SparseSlice } from './sparse-slice';
import { RING_KEEP, SLICE_MS } from '../windows';

/** One operation series: lifetime counts plus the rolling-window slices (docs/internals.md). */
export class Series {
  count = 0;
  errors = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;
  readonly lifetime: PagedCounts;
  readonly cur: PagedCounts;
  curIndex: number;
  curErrors = 0;
  readonly l0: SparseSlice[] = [];
  readonly l1: SparseSlice[] = [];
  readonly l2: SparseSlice[] = [];
  acc1: SparseSlice | null = null;
  acc2: SparseSlice | null = null;

  constructor(countsLen: number, nowMs: number) {
    this.lifetime = new PagedCounts(countsLen);
    this.cur = new PagedCounts(countsLen);
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
      const sealed = new SparseSlice(this.curIndex, this.cur.total, this.curErrors);
      this.cur.forEachNonZero((index, count) => sealed.push(index, count));
      this.cur.clear();
      this.curErrors = 0;
      pushRing(this.l0, sealed, RING_KEEP[0]);
      this.mergeIntoAcc1(sealed);
    }
    this.curIndex = n0;
  }

  private mergeIntoAcc1(slice: SparseSlice): void {
    const a1 = Math.floor(slice.sliceIndex / 6);
    if (this.acc1 !== null && this.acc1.sliceIndex !== a1) {
      const sealed = this.acc1;
      this.acc1 = null;
      pushRing(this.l1, sealed, RING_KEEP[1]);
      this.mergeIntoAcc2(sealed);
    }
    if (this.acc1 === null) this.acc1 = new SparseSlice(a1);
    this.acc1.mergeFrom(slice);
  }

  private mergeIntoAcc2(slice: SparseSlice): void {
    const a2 = Math.floor(slice.sliceIndex / 5);
    if (this.acc2 !== null && this.acc2.sliceIndex !== a2) {
      pushRing(this.l2, this.acc2, RING_KEEP[2]);
      this.acc2 = null;
    }
    if (this.acc2 === null) this.acc2 = new SparseSlice(a2);
    this.acc2.mergeFrom(slice);
  }

  memoryBytes(): number {
    let bytes = 160 + this.lifetime.memoryBytes() + this.cur.memoryBytes();
    for (const ring of [this.l0, this.l1, this.l2]) for (const s of ring) bytes += s.memoryBytes();
    if (this.acc1) bytes += this.acc1.memoryBytes();
    if (this.acc2) bytes += this.acc2.memoryBytes();
    return bytes;
  }
}

/** Appends a sealed slice and drops those that no window can reach any more. */
function pushRing(ring: SparseSlice[], slice: SparseSlice, keep: number): void {
  ring.push(slice);
  const oldestUseful = slice.sliceIndex - keep;
  while (ring.length > 0 && ring[0].sliceIndex <= oldestUseful) ring.shift();
}
