/**
 * Window percentiles per operation, sampled at window boundaries, so that each
 * window can be compared with the previous one of the same length (and the last
 * hour with the hour before). Samples are taken at most once a minute, from a
 * histogram snapshot summarized on the worker pool.
 */
import type { WindowName } from '../report';

export const TREND_WINDOWS: readonly { name: WindowName; ms: number }[] = [
  { name: '1m', ms: 60_000 },
  { name: '5m', ms: 300_000 },
  { name: '15m', ms: 900_000 },
  { name: '1h', ms: 3_600_000 },
];

/** Per series: id, then per window (1m, 5m, 15m, 1h): count, errors, p50 ms, p99 ms. */
export const SAMPLE_STRIDE = 17;

export interface WindowSample {
  count: number;
  errors: number;
  p50: number;
  p99: number;
}

interface Sample {
  /** floor(time / window): the boundary the sample was taken after. */
  boundary: number;
  data: Float64Array;
  offsetOf: Map<number, number>;
}

export class TrendSamples {
  private readonly latest: (Sample | undefined)[] = TREND_WINDOWS.map(() => undefined);
  private readonly previous: (Sample | undefined)[] = TREND_WINDOWS.map(() => undefined);
  private lastMinute = -1;

  /** Whether an evaluation at `nowMs` should bring a sample (once per minute). */
  due(nowMs: number): boolean {
    return Math.floor(nowMs / 60_000) !== this.lastMinute;
  }

  add(nowMs: number, data: Float64Array): void {
    this.lastMinute = Math.floor(nowMs / 60_000);
    let offsetOf: Map<number, number> | undefined;
    TREND_WINDOWS.forEach(({ ms }, k) => {
      const boundary = Math.floor(nowMs / ms);
      if (this.latest[k]?.boundary === boundary) return;
      if (offsetOf === undefined) {
        offsetOf = new Map();
        for (let o = 0; o < data.length; o += SAMPLE_STRIDE) offsetOf.set(data[o], o);
      }
      this.previous[k] = this.latest[k];
      this.latest[k] = { boundary, data, offsetOf };
    });
  }

  /**
   * The previous window of window `k` for series `id`: the sample taken after the
   * last boundary that lies at least one window before `nowMs`.
   */
  previousWindow(k: number, id: number, nowMs: number): WindowSample | undefined {
    const current = Math.floor(nowMs / TREND_WINDOWS[k].ms);
    const latest = this.latest[k];
    const sample = latest !== undefined && latest.boundary < current ? latest : this.previous[k];
    if (sample === undefined || sample.boundary < current - 2) return undefined;
    const o = sample.offsetOf.get(id);
    if (o === undefined) return { count: 0, errors: 0, p50: 0, p99: 0 };
    const at = o + 1 + k * 4;
    return { count: sample.data[at], errors: sample.data[at + 1], p50: sample.data[at + 2], p99: sample.data[at + 3] };
  }
}
