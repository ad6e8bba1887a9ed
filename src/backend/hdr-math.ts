/**
 * HdrHistogram index arithmetic for lowestDiscernibleValue = 1, as specified in
 * docs/internals.md. The Rust core implements the same formulas; both must agree
 * bit for bit, so keep this a literal transcription.
 */
export interface HdrLayout {
  readonly significantDigits: number;
  readonly highestTrackable: number;
  readonly subBucketHalfMag: number;
  readonly subBucketHalfCount: number;
  readonly subBucketCount: number;
  readonly subBucketMask: number;
  readonly bucketCount: number;
  readonly countsLen: number;
}

/** Builds the layout of an HDR histogram with lowest value 1. */
export function hdrLayout(significantDigits: number, highestTrackable: number): HdrLayout {
  if (!Number.isInteger(significantDigits) || significantDigits < 1 || significantDigits > 5) {
    throw new RangeError(`spanmeter: significantDigits must be an integer from 1 to 5, got ${significantDigits}`);
  }
  if (!Number.isSafeInteger(highestTrackable) || highestTrackable < 2) {
    throw new RangeError(`spanmeter: highestTrackableUs must be an integer >= 2, got ${highestTrackable}`);
  }
  const largestSingleUnit = 2 * Math.pow(10, significantDigits);
  const subBucketCountMag = Math.ceil(Math.log2(largestSingleUnit));
  const subBucketHalfMag = Math.max(subBucketCountMag, 1) - 1;
  const subBucketCount = Math.pow(2, subBucketHalfMag + 1);
  const subBucketHalfCount = subBucketCount / 2;
  let smallestUntrackable = subBucketCount;
  let bucketCount = 1;
  while (smallestUntrackable <= highestTrackable) {
    smallestUntrackable *= 2;
    bucketCount++;
  }
  return {
    significantDigits,
    highestTrackable,
    subBucketHalfMag,
    subBucketHalfCount,
    subBucketCount,
    subBucketMask: subBucketCount - 1,
    bucketCount,
    countsLen: (bucketCount + 1) * subBucketHalfCount,
  };
}

/** floor(log2(v)) for a non-negative safe integer (0 for 0). */
function floorLog2(v: number): number {
  if (v < 0x100000000) return 31 - Math.clz32(v);
  return 32 + (31 - Math.clz32(Math.floor(v / 0x100000000)));
}

export function bucketIndex(layout: HdrLayout, value: number): number {
  // value | subBucketMask without 32-bit truncation: the mask only matters below subBucketCount.
  const v = value < layout.subBucketCount ? layout.subBucketMask : value;
  return floorLog2(v) - layout.subBucketHalfMag;
}

export function countsIndex(layout: HdrLayout, value: number): number {
  const b = bucketIndex(layout, value);
  const sub = Math.floor(value / Math.pow(2, b));
  return (b + 1) * layout.subBucketHalfCount + (sub - layout.subBucketHalfCount);
}

export function valueFromIndex(layout: HdrLayout, index: number): number {
  let b = Math.floor(index / layout.subBucketHalfCount) - 1;
  let sub = (index % layout.subBucketHalfCount) + layout.subBucketHalfCount;
  if (b < 0) {
    sub -= layout.subBucketHalfCount;
    b = 0;
  }
  return sub * Math.pow(2, b);
}

export function lowestEquivalent(layout: HdrLayout, value: number): number {
  const b = bucketIndex(layout, value);
  return Math.floor(value / Math.pow(2, b)) * Math.pow(2, b);
}

export function sizeOfEquivalentRange(layout: HdrLayout, value: number): number {
  const b = bucketIndex(layout, value);
  const sub = Math.floor(value / Math.pow(2, b));
  return Math.pow(2, sub >= layout.subBucketCount ? b + 1 : b);
}

export function highestEquivalent(layout: HdrLayout, value: number): number {
  return lowestEquivalent(layout, value) + sizeOfEquivalentRange(layout, value) - 1;
}

/** ulp as hdr-histogram-js computes it. */
function ulp(x: number): number {
  return x === 0 ? 0 : Math.pow(2, Math.floor(Math.log2(x)) - 52);
}

/** The 1-based rank a percentile selects among `total` values (hdr-histogram-js arithmetic). */
export function percentileRank(percentile: number, total: number): number {
  const fp = (Math.min(percentile, 100) / 100) * total;
  return Math.max(Math.ceil(fp - ulp(fp)), 1);
}

/**
 * Percentiles over sorted (index, count) entries: one cumulative walk answers every
 * requested percentile. `percentiles` may come in any order.
 */
export function percentilesOfEntries(
  layout: HdrLayout,
  indices: ArrayLike<number>,
  counts: ArrayLike<number>,
  length: number,
  total: number,
  percentiles: readonly number[],
): number[] {
  const out = new Array<number>(percentiles.length).fill(0);
  if (total <= 0 || length === 0) return out;
  // a NaN or negative percentile answers 0, as in the native back end (and would break the sort)
  const order = percentiles
    .map((_, i) => i)
    .filter((i) => percentiles[i] >= 0)
    .sort((a, b) => percentiles[a] - percentiles[b]);
  let cumulative = 0;
  let entry = 0;
  for (const slot of order) {
    const p = percentiles[slot];
    const target = percentileRank(p, total);
    while (entry < length && cumulative + counts[entry] < target) {
      cumulative += counts[entry];
      entry++;
    }
    const index = indices[Math.min(entry, length - 1)];
    const value = valueFromIndex(layout, index);
    out[slot] = p === 0 ? lowestEquivalent(layout, value) : highestEquivalent(layout, value);
  }
  return out;
}
