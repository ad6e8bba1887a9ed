/** The interface both histogram back ends (Rust and JS) implement. See docs/internals.md. */
import type { SnapshotSource } from './snapshot-source';

export type BackendKind = 'native' | 'js';

export interface HistogramSetOptions {
  significantDigits: number;
  highestTrackableUs: number;
  /**
   * Native only: seal full slices on the recording thread instead of the set's
   * sealer thread (for comparisons; the JS back end defers them over batches).
   */
  sealInline?: boolean;
}

/** A keyed set of HDR histograms with lifetime and rolling windows per series. */
export interface HistogramSet {
  /** Records `len` values in one call. Bad values are counted, never thrown. */
  record(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number, nowMs: number): void;
  /** A v2 snapshot of every series at `nowMs` (docs/internals.md), for a worker to summarize. */
  snapshot(nowMs: number): Uint8Array;
  /**
   * Native only: `snapshot(nowMs)` with the copying off the event loop. The set's
   * sealer thread writes it behind the slices queued before the call (so it is
   * the state at the call); the returned ticket is redeemed once, by
   * `Backend.summarize({ ticket })` in any thread of the process (which waits for
   * the bytes), or given up with `Backend.releaseSnapshot`.
   */
  snapshotTicket?(nowMs: number): number;
  /** JS only: advances every series to `nowMs`, queueing the slices that fills for sealing. */
  advanceTo?(nowMs: number): void;
  /** JS only: seals one budget of the queued slices; true while more are queued. */
  sealStep?(): boolean;
  reset(): void;
  readonly seriesCount: number;
  readonly invalidCount: number;
  readonly clampedCount: number;
  memoryBytes(): number;
  /**
   * Full slices sealed, the time spent sealing them (on the thread `mode` says),
   * and slices lost to a failure while sealing (a bug). Seals what is queued first.
   */
  sealingStats(): SealingStats;
  /** Slices lost to a failure while sealing so far (a bug), without sealing or waiting for anything first. */
  readonly failedSlices: number;
}

/** How a set seals the 10 s slices its series fill (docs/internals.md, "Where sealing runs"). */
export interface SealingStats {
  slices: number;
  ms: number;
  failed: number;
  /**
   * `thread`: the native set's sealer thread; `inline`: the recording thread, in
   * the batch that opens the next slice; `deferred`: the recording thread, a
   * budget at the end of each batch (the JS back end).
   */
  mode: 'thread' | 'inline' | 'deferred';
  /**
   * `deferred` only: how long the sealing step at the end of a batch took (ms),
   * over the latest 4,096 steps that sealed anything (GC pauses included).
   */
  steps?: { p50: number; p99: number; max: number };
}

/**
 * A standalone HDR histogram (lowest discernible value 1, integer values).
 * Both back ends give the same numbers; the native one keeps its counters in
 * pages (memory follows the values recorded), the JS fallback in one dense
 * array of doubles (185 KiB at 3 digits up to an hour in µs; 39 MB at 5 digits
 * up to 2^53 - 1).
 */
export interface Histogram {
  /** Records one value, rounded to an integer: NaN, infinite or negative ones are counted in `invalidCount`, larger than the highest trackable value recorded as it and counted in `clampedCount`. Never throws. */
  record(value: number): void;
  /** `record` for the first `len` values (all of them without `len`). */
  recordBatch(values: Float64Array, len?: number): void;
  /** Values recorded (clamped ones included, invalid ones not). */
  readonly count: number;
  /** Values not recorded: NaN, infinite or negative. */
  readonly invalidCount: number;
  /** Values above the highest trackable value, recorded as that value; for a decoded histogram, its counts above 2^53 - 1 (or above its own highest, when it had a lowest value above 1). */
  readonly clampedCount: number;
  /** The lowest value recorded, to the histogram's precision (0 when empty). */
  readonly min: number;
  /** The highest value recorded, to the histogram's precision (0 when empty). */
  readonly max: number;
  /** The mean, from each bucket's middle value, as HdrHistogram computes it (0 when empty). */
  readonly mean: number;
  /** The value at `percentile` (0 to 100), as hdr-histogram-js's `getValueAtPercentile` (docs/internals.md). */
  valueAtPercentile(percentile: number): number;
  /** Adds `other`'s counts; those above this histogram's highest trackable value are clamped and counted. */
  merge(other: Histogram): void;
  /** Empties the histogram and its counters. */
  reset(): void;
  /** HdrHistogram V2 compressed base64, which hdr-histogram-js, HdrHistogram (Java) and the Rust `hdrhistogram` crate read. */
  encode(): string;
  /** Heap bytes the histogram holds. */
  memoryBytes(): number;
}

export interface WindowSummary {
  count: number;
  errors: number;
  percentilesUs: number[];
}

export interface SeriesSummary {
  id: number;
  count: number;
  errors: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  percentilesUs: number[];
  histogram: string;
  windows: WindowSummary[];
}

export type SummarizeFn = (
  snapshot: SnapshotSource,
  percentiles: number[],
  windowPercentiles: number[],
  includeHistogram: boolean,
) => SeriesSummary[];

/** What a loaded back end offers. */
export interface Backend {
  readonly kind: BackendKind;
  createSet(options: HistogramSetOptions): HistogramSet;
  createHistogram(significantDigits: number, highestTrackableUs: number): Histogram;
  decodeHistogram(base64: string): Histogram;
  /** Summarizes snapshot bytes, or redeems a native ticket (blocking until it is written: call it on a worker). */
  summarize: SummarizeFn;
  /** Gives up a ticket that will not be summarized (nothing for bytes). */
  releaseSnapshot(snapshot: SnapshotSource): void;
}

/** Window names in snapshot order. */
export const WINDOW_NAMES = ['1m', '5m', '15m', '1h'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];
