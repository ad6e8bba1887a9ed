import { countsIndex, hdrLayout, type HdrLayout } from '../hdr-math';
import { ByteCounter, ByteWriter, type ByteSink, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, WINDOW_COUNT } from '../snapshot-format';
import type { HistogramSet, HistogramSetOptions, SealingStats } from '../types';
import { LEVELS, MASK_LIFETIME, maskOfOpen, maskOfSealed, sanitizeNow, sliceIndices, SLICE_MS } from '../windows';
import { CounterPool, PAGE_MASK, PAGE_SHIFT, PAGE_SIZE } from './pool';
import { Series } from './series';
import { SEAL_BUDGET_BYTES, SealQueue } from './seal-queue';
import type { CompactSlice } from './compact-slice';
import { validateOptions } from './histogram';

/** Ids at or above this are refused (counted as invalid), as in the Rust core. */
export const MAX_SERIES = 1 << 20;

const TWO_POW_32 = 4294967296;

/** The pure-JS histogram set: the same contract as native `NativeHistogramSet`. */
export class JsHistogramSet implements HistogramSet {
  private readonly layout: HdrLayout;
  private readonly highest: number;
  private readonly halfMag: number;
  private readonly mask: number;
  private readonly series: (Series | undefined)[] = [];
  private readonly pool = new CounterPool();
  /** Full slices waiting to be sealed, a budget at the end of each `record`. */
  private readonly sealing = new SealQueue();
  private live = 0;
  /**
   * At most the slice every series is at: a batch past it first moves them
   * all there (`advanceTo`), as the Rust core does (native/src/set.rs
   * `advance_all`); a series created by a batch behind it (a clock that went
   * back) lowers it.
   */
  private atLeast = -Infinity;
  invalidCount = 0;
  clampedCount = 0;

  constructor(options: HistogramSetOptions) {
    // native's checks and messages (hdrLayout's are the same checks)
    validateOptions(options.significantDigits, options.highestTrackableUs);
    this.layout = hdrLayout(options.significantDigits, options.highestTrackableUs);
    this.highest = this.layout.highestTrackable;
    this.halfMag = this.layout.subBucketHalfMag;
    this.mask = this.layout.subBucketMask;
  }

  get seriesCount(): number {
    return this.live;
  }

  record(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number, nowMs: number): void {
    const n = Math.min(len, seriesIds.length, durationsUs.length, flags.length);
    const n0 = Math.floor(sanitizeNow(nowMs) / SLICE_MS[0]);
    const highest = this.highest;
    const halfMag = this.halfMag;
    const mask = this.mask;
    const table = this.series;
    const pool = this.pool;
    let lo = pool.lo;
    let invalid = 0;
    let clamped = 0;
    if (n0 > this.atLeast) {
      this.advanceAll(n0);
      lo = pool.lo; // sealing the last open slice gives the pool's memory back
    }
    for (let i = 0; i < n; i++) {
      const id = seriesIds[i];
      const raw = durationsUs[i];
      if (!(raw >= 0) || raw === Infinity || id >= MAX_SERIES) {
        invalid++;
        continue;
      }
      // + 0 turns -0 into +0, as the native back end records it (bit for bit the same snapshots)
      let value = Math.round(raw) + 0;
      if (value > highest) {
        value = highest;
        clamped++;
      }
      let s = table[id];
      if (s === undefined) s = this.create(id, n0);
      // every series is at n0 or later: advanceAll above, or created here
      // counts index: (b << halfMag) + (value >> b), b = floor(log2(value | mask)) - halfMag
      let index: number;
      if (value < TWO_POW_32) {
        const b = 31 - Math.clz32(value | mask) - halfMag;
        index = (b << halfMag) + (value >>> b);
      } else {
        index = countsIndex(this.layout, value);
      }
      const p = index >>> PAGE_SHIFT;
      const pages = s.table;
      let slot = p < pages.length ? pages[p] : 0;
      if (slot === 0) {
        slot = pool.slotFor(s, p);
        lo = pool.lo;
      }
      const pos = slot * PAGE_SIZE + (index & PAGE_MASK);
      const c = (lo[pos] + 1) & 0xff;
      lo[pos] = c;
      if (c === 0) pool.carry(pos);
      s.curCount++;
      s.count++;
      s.sumUs += value;
      if (value < s.minUs) s.minUs = value;
      if (value > s.maxUs) s.maxUs = value;
      if ((flags[i] & 1) !== 0) {
        s.errors++;
        s.curErrors++;
      }
    }
    this.invalidCount += invalid;
    this.clampedCount += clamped;
    this.sealing.run(SEAL_BUDGET_BYTES);
  }

  /** Slices sealed, the event-loop time spent sealing them, and how: deferred over the batches. */
  sealingStats(): SealingStats {
    this.sealing.drain();
    const { slices, ms } = this.sealing;
    return { slices, ms, failed: 0, mode: 'deferred', steps: this.sealing.stepPercentiles() };
  }

  /** Always 0: a JS slice is sealed in a batch or a snapshot call, where a throw (a bug) reaches the caller (a batch counts it as processor_error). */
  get failedSlices(): number {
    return 0;
  }

  /** Full slices queued and not yet sealed (the next batches seal them). */
  get pendingSeals(): number {
    return this.sealing.pending;
  }

  private create(id: number, n0: number): Series {
    const table = this.series;
    while (table.length <= id) table.push(undefined);
    const s = new Series(n0);
    table[id] = s;
    if (n0 < this.atLeast) this.atLeast = n0;
    this.live++;
    return s;
  }

  /**
   * Advances every series to `nowMs`, queueing the full slices that leaves
   * (the first step of `snapshot(nowMs)`, which then only has to seal what
   * is still queued).
   */
  advanceTo(nowMs: number): void {
    const n0 = sliceIndices(sanitizeNow(nowMs))[0];
    if (n0 > this.atLeast) this.advanceAll(n0);
  }

  private advanceAll(n0: number): void {
    for (const s of this.series) if (s !== undefined && s.count > 0) s.advance(n0, this.pool, this.sealing);
    this.atLeast = n0;
  }

  /** Seals one budget of the queued slices (what a batch does at its end); true while more are queued. */
  sealStep(): boolean {
    this.sealing.run(SEAL_BUDGET_BYTES);
    return this.sealing.pending > 0;
  }

  snapshot(nowMs: number): Uint8Array {
    const now = sanitizeNow(nowMs);
    const n = sliceIndices(now);
    this.advanceTo(now);
    this.sealing.drain();
    // The open slices are the only items to encode: encoded first, the
    // snapshot's exact length is known, so its buffer is allocated once,
    // not zeroed, never grown and returned without a copy (growing and the
    // final copy took two thirds of a busy snapshot's time).
    const curs = new ByteWriter(4096);
    const curAt = new Map<Series, { start: number; end: number; entries: number }>();
    for (const s of this.series) {
      if (s === undefined || s.count === 0 || s.curCount === 0) continue;
      const start = curs.offset;
      const entries = this.pool.encode(s, curs);
      curAt.set(s, { start, end: curs.offset, entries });
    }
    const cursBytes = curs.written();
    const counted = new ByteCounter();
    this.writeSnapshot(counted, now, n, cursBytes, curAt);
    const w = new ByteWriter(counted.offset, { exact: true });
    this.writeSnapshot(w, now, n, cursBytes, curAt);
    // the buffer is not zeroed: a short write would hand out stale memory
    if (w.offset !== counted.offset) throw new Error(`spanmeter: the snapshot took ${w.offset} bytes, not the ${counted.offset} counted (a bug)`);
    return w.bytes();
  }

  /** Writes the snapshot's bytes (or counts them), the open slices' entries taken from `cursBytes`. */
  private writeSnapshot(w: ByteSink, now: number, n: number[], cursBytes: Uint8Array, curAt: Map<Series, { start: number; end: number; entries: number }>): void {
    w.u32(SNAPSHOT_MAGIC);
    w.u16(SNAPSHOT_VERSION);
    w.u8(this.layout.significantDigits);
    w.u8(WINDOW_COUNT);
    w.f64(this.layout.highestTrackable);
    w.f64(now);
    const seriesCountAt = w.offset;
    w.u32(0);
    w.u32(0);
    let written = 0;
    for (let id = 0; id < this.series.length; id++) {
      const s = this.series[id];
      if (s === undefined || s.count === 0) continue;
      written++;
      w.u32(id);
      const itemCountAt = w.offset;
      w.u32(0);
      w.f64(s.sumUs);
      w.f64(s.minUs);
      w.f64(s.maxUs);
      let items = 0;
      if (s.lifetime !== null) items += writeCompact(w, MASK_LIFETIME, s.lifetime);
      const cur = curAt.get(s);
      const curMask = MASK_LIFETIME | maskOfOpen(0, s.curIndex, n);
      if (cur !== undefined) items += writeItem(w, curMask, s.curCount, s.curErrors, cur.entries, cursBytes.subarray(cur.start, cur.end));
      for (let level = 1; level < LEVELS; level++) {
        const acc = s.acc[level];
        // accumulators are part of the lifetime too
        if (acc !== null) items += writeCompact(w, MASK_LIFETIME | maskOfOpen(level, acc.sliceIndex, n), acc);
      }
      for (let level = 0; level < LEVELS; level++) {
        for (const slice of s.rings[level]) items += writeCompact(w, maskOfSealed(level, slice.sliceIndex, n), slice);
      }
      w.patchU32(itemCountAt, items);
    }
    w.patchU32(seriesCountAt, written);
  }

  reset(): void {
    for (const s of this.series) if (s !== undefined) this.pool.release(s);
    this.series.length = 0;
    this.sealing.clear();
    this.live = 0;
    this.atLeast = -Infinity;
    this.invalidCount = 0;
    this.clampedCount = 0;
  }

  memoryBytes(): number {
    this.sealing.drain();
    let bytes = this.series.length * 8 + this.pool.memoryBytes();
    for (const s of this.series) if (s !== undefined) bytes += s.memoryBytes();
    return bytes;
  }
}

function writeCompact(w: ByteSink, mask: number, slice: CompactSlice): number {
  return writeItem(w, mask, slice.count, slice.errors, slice.entryCount, slice.bytes);
}

/** One item of a series record (skipped when masked out or empty); returns the items written. */
function writeItem(w: ByteSink, mask: number, count: number, errors: number, entries: number, bytes: Uint8Array): number {
  if (mask === 0 || count === 0) return 0;
  w.u8(mask);
  w.f64(count);
  w.f64(errors);
  w.u32(entries);
  w.u32(bytes.byteLength);
  w.raw(bytes);
  return 1;
}
