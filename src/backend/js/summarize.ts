import * as hdr from 'hdr-histogram-js';
import { hdrLayout, percentilesOfEntries, valueFromIndex, type HdrLayout } from '../hdr-math';
import { readSnapshot, type SnapshotItem } from '../snapshot-format';
import type { SeriesSummary, WindowSummary } from '../types';
import { MASK_LIFETIME, WINDOW_MASKS } from '../windows';

/**
 * Adds sparse items into one sorted entry list in a dense scratch array,
 * reused for every window of every series: the entries come out in index
 * order by scanning the touched range, with no list to sort.
 */
class EntryMerger {
  private readonly scratch: Float64Array;

  constructor(countsLen: number) {
    this.scratch = new Float64Array(countsLen);
  }

  merge(items: SnapshotItem[]): { indices: Uint32Array; counts: Float64Array; total: number; errors: number } {
    const scratch = this.scratch;
    let total = 0;
    let errors = 0;
    let lo = scratch.length;
    let hi = 0;
    let distinct = 0;
    for (const item of items) {
      total += item.count;
      errors += item.errors;
      if (item.length === 0) continue;
      lo = Math.min(lo, item.indices[0]);
      hi = Math.max(hi, Math.min(item.indices[item.length - 1] + 1, scratch.length));
      distinct += item.length;
      for (let e = 0; e < item.length; e++) {
        const index = item.indices[e];
        if (index < scratch.length) scratch[index] += item.counts[e];
      }
    }
    // at most `distinct` entries; trimmed below
    const indices = new Uint32Array(Math.min(distinct, Math.max(hi - lo, 0)));
    const counts = new Float64Array(indices.length);
    let n = 0;
    for (let index = lo; index < hi; index++) {
      const count = scratch[index];
      if (count === 0) continue;
      indices[n] = index;
      counts[n++] = count;
      scratch[index] = 0;
    }
    return { indices: indices.subarray(0, n), counts: counts.subarray(0, n), total, errors };
  }
}

/** Encodes sorted entries as HdrHistogram V2 compressed base64, through hdr-histogram-js. */
export function encodeEntries(layout: HdrLayout, indices: ArrayLike<number>, counts: ArrayLike<number>, length: number): string {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: layout.highestTrackable,
    numberOfSignificantValueDigits: layout.significantDigits as 1 | 2 | 3 | 4 | 5,
    bitBucketSize: 64,
    useWebAssembly: false,
  });
  for (let e = 0; e < length; e++) h.recordValueWithCount(valueFromIndex(layout, indices[e]), counts[e]);
  const encoded = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return encoded;
}

/** The JS implementation of `summarizeSnapshot` (docs/internals.md, "Summaries"). */
export function summarizeSnapshotJs(
  bytes: Uint8Array,
  percentiles: number[],
  windowPercentiles: number[],
  includeHistogram: boolean,
): SeriesSummary[] {
  const snapshot = readSnapshot(bytes);
  const layout = hdrLayout(snapshot.significantDigits, snapshot.highestTrackableUs);
  const merger = new EntryMerger(layout.countsLen);
  const out: SeriesSummary[] = [];
  for (const series of snapshot.series) {
    const lifetime = merger.merge(series.items.filter((item) => (item.mask & MASK_LIFETIME) !== 0));
    const windows: WindowSummary[] = WINDOW_MASKS.map((bit) => {
      const merged = merger.merge(series.items.filter((item) => (item.mask & bit) !== 0));
      return {
        count: merged.total,
        errors: merged.errors,
        percentilesUs: percentilesOfEntries(layout, merged.indices, merged.counts, merged.indices.length, merged.total, windowPercentiles),
      };
    });
    out.push({
      id: series.id,
      count: lifetime.total,
      errors: lifetime.errors,
      sumUs: series.sumUs,
      minUs: series.minUs,
      maxUs: series.maxUs,
      percentilesUs: percentilesOfEntries(layout, lifetime.indices, lifetime.counts, lifetime.indices.length, lifetime.total, percentiles),
      histogram: includeHistogram ? encodeEntries(layout, lifetime.indices, lifetime.counts, lifetime.indices.length) : '',
      windows,
    });
  }
  return out;
}
