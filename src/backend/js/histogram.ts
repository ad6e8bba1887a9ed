import * as hdr from 'hdr-histogram-js';
import type { Histogram } from '../types';

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
    if (!Number.isInteger(significantDigits) || significantDigits < 1 || significantDigits > 5) {
      throw new RangeError(`spanmeter: significantDigits must be an integer from 1 to 5, got ${significantDigits}`);
    }
    const h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: highestTrackableUs,
      numberOfSignificantValueDigits: significantDigits as 1 | 2 | 3 | 4 | 5,
      bitBucketSize: 64,
      useWebAssembly: false,
    });
    return new JsHistogram(h, highestTrackableUs);
  }

  static decode(base64: string): JsHistogram {
    let h: hdr.Histogram;
    try {
      h = hdr.decodeFromCompressedBase64(base64, 64, false);
    } catch (error) {
      throw new Error(`spanmeter: cannot decode histogram: ${(error as Error).message}`);
    }
    return new JsHistogram(h, h.highestTrackableValue);
  }

  record(value: number): void {
    if (!(value >= 0) || value === Infinity) {
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

  recordBatch(values: Float64Array, len: number): void {
    const n = Math.min(len, values.length);
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
  get mean(): number {
    return this.h.totalCount === 0 ? 0 : this.h.mean;
  }

  valueAtPercentile(percentile: number): number {
    return this.h.getValueAtPercentile(percentile);
  }

  merge(other: Histogram): void {
    if (!(other instanceof JsHistogram)) throw new TypeError('spanmeter: can only merge histograms of the same back end');
    this.h.add(other.h);
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
