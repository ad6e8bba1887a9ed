import { hdrLayout, percentilesOfEntries } from '../hdr-math';
import { readSnapshot, type SnapshotItem } from '../snapshot-format';
import { encodeV2Base64 } from '../v2-encode';
import type { SeriesSummary, WindowSummary } from '../types';
import { MASK_LIFETIME, WINDOW_MASKS } from '../windows';

/** A merged histogram: ascending entries with counts > 0, and its totals. */
interface Merged {
  indices: Uint32Array;
  counts: Float64Array;
  total: number;
  errors: number;
}

/**
 * A histogram stays dense while its span is at most this plus
 * `SPAN_PER_ENTRY` counters per entry merged into it; beyond, its entries are
 * sorted as a list. Scanning the span cost 7 s for 1,000 series of two
 * values 2^18 indices apart (5 digits), 150 ms at 3 digits. The native back
 * end draws the same line (native/src/summary.rs).
 */
const THIN_SPAN = 4096;
const SPAN_PER_ENTRY = 32;

/**
 * Adds sparse items into one sorted entry list: in a dense scratch array,
 * reused for every window of every series, where the entries come out in
 * index order by scanning the touched range; or, for a thin histogram over a
 * wide range, by sorting its entries.
 */
class EntryMerger {
  private readonly scratch: Float64Array;

  constructor(countsLen: number) {
    this.scratch = new Float64Array(countsLen);
  }

  merge(items: SnapshotItem[]): Merged {
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
    }
    if (hi - lo > THIN_SPAN + SPAN_PER_ENTRY * distinct) return sortedEntries(items, distinct, scratch.length, total, errors);
    for (const item of items) {
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

/** The items' entries below `countsLen`, sorted by index, repeats summed. */
function sortedEntries(items: SnapshotItem[], distinct: number, countsLen: number, total: number, errors: number): Merged {
  const allIndices = new Uint32Array(distinct);
  const allCounts = new Float64Array(distinct);
  let n = 0;
  for (const item of items) {
    for (let e = 0; e < item.length; e++) {
      if (item.indices[e] >= countsLen) continue;
      allIndices[n] = item.indices[e];
      allCounts[n++] = item.counts[e];
    }
  }
  const order = Uint32Array.from({ length: n }, (_, k) => k).sort((a, b) => allIndices[a] - allIndices[b]);
  const indices = new Uint32Array(n);
  const counts = new Float64Array(n);
  let kept = 0;
  for (let k = 0; k < n; k++) {
    const index = allIndices[order[k]];
    if (kept > 0 && indices[kept - 1] === index) counts[kept - 1] += allCounts[order[k]];
    else {
      indices[kept] = index;
      counts[kept++] = allCounts[order[k]];
    }
  }
  return { indices: indices.subarray(0, kept), counts: counts.subarray(0, kept), total, errors };
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
      histogram: includeHistogram ? encodeV2Base64(layout, lifetime.indices, lifetime.counts, lifetime.indices.length) : '',
      windows,
    });
  }
  return out;
}
