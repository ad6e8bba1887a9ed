import * as hdr from 'hdr-histogram-js';
import { displayF64 } from '../snapshot-format';
import type { Histogram } from '../types';
import { decodeV2 } from './v2-decode';
import { float64Values, mergeMismatch, percentileArgument } from '../../errors';

/**
 * Checks a histogram's (or a set's) options as native's `validate_options`
 * (native/src/hdr_math.rs) does, with its messages: significantDigits an
 * integer in 1..=5, highestTrackableUs an integer in 2..=2^53-1.
 */
export function validateOptions(significantDigits: number, highestTrackableUs: number): void {
  if (!(Number.isInteger(significantDigits) && significantDigits >= 1 && significantDigits <= 5)) {
    throw new RangeError(`spanmeter: significantDigits must be an integer in 1..=5, got ${displayOption(significantDigits)}`);
  }
  if (!(Number.isInteger(highestTrackableUs) && highestTrackableUs >= 2 && highestTrackableUs <= Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`spanmeter: highestTrackableUs must be an integer in 2..=2^53-1, got ${displayOption(highestTrackableUs)}`);
  }
}

function displayOption(v: unknown): string {
  return typeof v === 'number' ? displayF64(v) : String(v);
}

/**
 * The standalone histogram of the JS back end, on hdr-histogram-js. Values follow
 * the native rules: rounded to integers; NaN, infinite and negative values are
 * counted as invalid; values above the highest trackable value are clamped.
 */
export class JsHistogram implements Histogram {
  invalidCount = 0;
  clampedCount = 0;

  constructor(
    private readonly h: hdr.Histogram,
    private readonly highestTrackable: number,
  ) {}

  static create(significantDigits: number, highestTrackableUs: number): JsHistogram {
    validateOptions(significantDigits, highestTrackableUs);
    const h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: highestTrackableUs,
      numberOfSignificantValueDigits: significantDigits as 1 | 2 | 3 | 4 | 5,
      bitBucketSize: 64,
      useWebAssembly: false,
    });
    return new JsHistogram(h, highestTrackableUs);
  }

  /**
   * Reads V2 base64, plain or compressed, with the native decoder's rules
   * and bounded memory (`decodeV2`). (hdr-histogram-js `PackedHistogram`,
   * which would hold a wide range in less than one Float64 per counter,
   * gave wrong percentiles at 5 digits up to 2^53 - 1: p50 5,133 for
   * 64,380,927.)
   */
  static decode(base64: string): JsHistogram {
    const { histogram, clamped } = decodeV2(base64);
    const decoded = new JsHistogram(histogram, histogram.highestTrackableValue);
    decoded.clampedCount = clamped;
    return decoded;
  }

  record(value: number): void {
    // not a number (null, a string, a BigInt from untyped callers): invalid, as NaN is
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      this.invalidCount++;
      return;
    }
    let v = Math.round(value);
    if (v > this.highestTrackable) {
      v = this.highestTrackable;
      this.clampedCount++;
    }
    this.h.recordValue(v);
  }

  recordBatch(values: Float64Array, len?: number): void {
    const all = float64Values(values).length;
    // no len: all of them (as native, given the same)
    const n = Math.min(len ?? all, all);
    for (let i = 0; i < n; i++) this.record(values[i]);
  }

  get count(): number {
    return this.h.totalCount;
  }
  get min(): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(0);
  }
  get max(): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(100);
  }
  /**
   * As native's: the sum over buckets of (lowest value + half the bucket's
   * size) times its count, in index order, over the count.
   * (hdr-histogram-js's `mean` lost precision near 2^53: 9,002,801,208,229,888
   * for 9,005,000,231,485,440.)
   */
  get mean(): number {
    const total = this.h.totalCount;
    if (total === 0) return 0;
    const h = this.h as unknown as hdr.JsHistogram;
    const halfCount = h.subBucketHalfCount;
    let sum = 0;
    for (let i = 0, length = h.countsArrayLength; i < length; i++) {
      const count = h.getCountAtIndex(i);
      if (count === 0) continue;
      // the bucket of index i, its sub-bucket, and the size of its values' range
      let bucket = Math.floor(i / halfCount) - 1;
      let sub = (i % halfCount) + halfCount;
      if (bucket < 0) {
        sub -= halfCount;
        bucket = 0;
      }
      const size = 2 ** bucket;
      sum += (sub * size + Math.floor(size / 2)) * count;
    }
    return sum / total;
  }

  valueAtPercentile(percentile: number): number {
    return this.h.getValueAtPercentile(percentileArgument(percentile));
  }

  /**
   * Adds `other`'s counts as native's `Histogram::merge` does (not
   * hdr-histogram-js `add`, which grows the histogram instead of clamping):
   * each bucket's lowest value is re-recorded here with the bucket's count;
   * above this histogram's highest it is recorded as highest and its count
   * (every value, not the bucket) added to `clampedCount`. `other`'s own
   * invalid and clamped counters are not carried over; `h.merge(h)` doubles.
   */
  merge(other: Histogram): void {
    if (!(other instanceof JsHistogram)) throw mergeMismatch();
    const from = other.h as unknown as hdr.JsHistogram;
    const length = from.countsArrayLength;
    // read all of other's counts before adding any: other may be this histogram
    const indices: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < length; i++) {
      const c = from.getCountAtIndex(i);
      if (c > 0) {
        indices.push(i);
        counts.push(c);
      }
    }
    const highest = this.highestTrackable;
    for (let k = 0; k < indices.length; k++) {
      let v = from.valueFromIndex(indices[k]);
      if (v > highest) {
        v = highest;
        this.clampedCount += counts[k];
      }
      this.h.recordValueWithCount(v, counts[k]);
    }
  }

  reset(): void {
    this.h.reset();
    this.invalidCount = 0;
    this.clampedCount = 0;
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  memoryBytes(): number {
    return this.h.estimatedFootprintInBytes;
  }
}
