import { countsIndex, hdrLayout, type HdrLayout } from '../hdr-math';
import { ByteWriter, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, WINDOW_COUNT } from '../snapshot-format';
import type { HistogramSet, HistogramSetOptions } from '../types';
import { LEVELS, MASK_LIFETIME, maskOfOpen, maskOfSealed, sliceIndices, SLICE_MS } from '../windows';
import type { PagedCounts } from './paged-counts';
import { Series } from './series';
import type { CompactSlice } from './compact-slice';

/** Ids at or above this are refused (counted as invalid), as in the Rust core. */
export const MAX_SERIES = 1 << 20;

/** The pure-JS histogram set: the same contract as native `NativeHistogramSet`. */
export class JsHistogramSet implements HistogramSet {
  private readonly layout: HdrLayout;
  private readonly series: (Series | undefined)[] = [];
  invalidCount = 0;
  clampedCount = 0;

  constructor(options: HistogramSetOptions) {
    this.layout = hdrLayout(options.significantDigits, options.highestTrackableUs);
  }

  get seriesCount(): number {
    let n = 0;
    for (const s of this.series) if (s !== undefined && s.count > 0) n++;
    return n;
  }

  record(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number, nowMs: number): void {
    const n = Math.min(len, seriesIds.length, durationsUs.length, flags.length);
    const n0 = Math.floor(nowMs / SLICE_MS[0]);
    const highest = this.layout.highestTrackable;
    for (let i = 0; i < n; i++) {
      const id = seriesIds[i];
      const raw = durationsUs[i];
      if (!(raw >= 0) || raw === Infinity || id >= MAX_SERIES) {
        this.invalidCount++;
        continue;
      }
      let value = Math.round(raw);
      if (value > highest) {
        value = highest;
        this.clampedCount++;
      }
      let series = this.series[id];
      if (series === undefined) {
        while (this.series.length < id) this.series.push(undefined);
        series = new Series(nowMs);
        this.series[id] = series;
      }
      series.advance(n0);
      series.record(countsIndex(this.layout, value), value, (flags[i] & 1) === 1);
    }
  }

  snapshot(nowMs: number): Uint8Array {
    const w = new ByteWriter();
    const n = sliceIndices(nowMs);
    w.u32(SNAPSHOT_MAGIC);
    w.u16(SNAPSHOT_VERSION);
    w.u8(this.layout.significantDigits);
    w.u8(WINDOW_COUNT);
    w.f64(this.layout.highestTrackable);
    w.f64(nowMs);
    const seriesCountAt = w.offset;
    w.u32(0);
    w.u32(0);
    let written = 0;
    for (let id = 0; id < this.series.length; id++) {
      const s = this.series[id];
      if (s === undefined || s.count === 0) continue;
      s.advance(n[0]);
      written++;
      w.u32(id);
      const itemCountAt = w.offset;
      w.u32(0);
      w.f64(s.sumUs);
      w.f64(s.minUs);
      w.f64(s.maxUs);
      let items = 0;
      items += writePaged(w, MASK_LIFETIME, s.count, s.errors, s.lifetime);
      items += writePaged(w, maskOfOpen(0, s.curIndex, n), s.cur.total, s.curErrors, s.cur);
      for (let level = 1; level < LEVELS; level++) {
        const acc = s.acc[level];
        if (acc !== null) items += writeCompact(w, maskOfOpen(level, acc.sliceIndex, n), acc);
      }
      for (let level = 0; level < LEVELS; level++) {
        for (const slice of s.rings[level]) items += writeCompact(w, maskOfSealed(level, slice.sliceIndex, n), slice);
      }
      w.patchU32(itemCountAt, items);
    }
    w.patchU32(seriesCountAt, written);
    return w.bytes();
  }

  reset(): void {
    this.series.length = 0;
    this.invalidCount = 0;
    this.clampedCount = 0;
  }

  memoryBytes(): number {
    let bytes = this.series.length * 8;
    for (const s of this.series) if (s !== undefined) bytes += s.memoryBytes();
    return bytes;
  }
}

function writeItemHeader(w: ByteWriter, mask: number, count: number, errors: number): [number, number] {
  w.u8(mask);
  w.f64(count);
  w.f64(errors);
  const entryCountAt = w.offset;
  w.u32(0);
  w.u32(0);
  return [entryCountAt, w.offset];
}

function writePaged(w: ByteWriter, mask: number, count: number, errors: number, counts: PagedCounts): number {
  if (mask === 0 || count === 0) return 0;
  const [entryCountAt, start] = writeItemHeader(w, mask, count, errors);
  let entries = 0;
  let previous = -1;
  counts.forEachNonZero((index, c) => {
    w.varint(index - previous - 1);
    w.varint(c);
    previous = index;
    entries++;
  });
  w.patchU32(entryCountAt, entries);
  w.patchU32(entryCountAt + 4, w.offset - start);
  return 1;
}

function writeCompact(w: ByteWriter, mask: number, slice: CompactSlice): number {
  if (mask === 0 || slice.count === 0) return 0;
  w.u8(mask);
  w.f64(slice.count);
  w.f64(slice.errors);
  w.u32(slice.entryCount);
  w.u32(slice.bytes.byteLength);
  w.raw(slice.bytes);
  return 1;
}
