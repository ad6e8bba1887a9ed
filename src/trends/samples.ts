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

/**
 * Without a known start, the first sample's time stands for it, and samples
 * come at most once a minute, so it may be up to this late: a window that
 * starts this long before it may still hold every span the process recorded
 * in it. (With the start known there is no slack: a 1m window sampled 10 s
 * after the start served as the "previous minute", and steady traffic showed
 * a 6x rise.)
 */
const SAMPLING_SLACK_MS = 60_000;

export interface WindowSample {
  count: number;
  errors: number;
  p50: number;
  p99: number;
}

interface Sample {
  /** floor(time / window): the boundary the sample was taken after. */
  boundary: number;
  /** When it was taken: its window ends here. */
  takenMs: number;
  /** This window's numbers only, by series id: count, errors, p50, p99 (count NaN: not in the sample). */
  values: Float64Array;
}

export class TrendSamples {
  private readonly latest: (Sample | undefined)[] = TREND_WINDOWS.map(() => undefined);
  private readonly previous: (Sample | undefined)[] = TREND_WINDOWS.map(() => undefined);
  private lastMinute = -1;

  /**
   * @param startMs when the spans began to be recorded; by default, the first
   *   sample's time. A window reaching back before it is not a full window.
   */
  constructor(private startMs?: number) {
    this.slackMs = startMs === undefined ? SAMPLING_SLACK_MS : 0;
  }

  /** How far before the start a sampled window may begin and still count as whole. */
  private readonly slackMs: number;

  /** Whether an evaluation at `nowMs` should bring a sample (once per minute). */
  due(nowMs: number): boolean {
    return Math.floor(nowMs / 60_000) !== this.lastMinute;
  }

  add(nowMs: number, data: Float64Array): void {
    this.lastMinute = Math.floor(nowMs / 60_000);
    // min: a clock that stepped back must not leave every later window "partial"
    this.startMs = this.startMs === undefined ? nowMs : Math.min(this.startMs, nowMs);
    TREND_WINDOWS.forEach(({ ms }, k) => {
      const boundary = Math.floor(nowMs / ms);
      // Samples of boundaries the clock has not reached (it stepped back) are dropped.
      const kept = [this.previous[k], this.latest[k]].filter((s): s is Sample => s !== undefined && s.boundary <= boundary);
      const last = kept[kept.length - 1];
      if (last?.boundary === boundary) {
        // only the first sample after a boundary is kept
        this.latest[k] = last;
        this.previous[k] = kept.length > 1 ? kept[0] : undefined;
        return;
      }
      this.previous[k] = last;
      this.latest[k] = { boundary, takenMs: nowMs, values: windowValues(data, k) };
    });
  }

  /**
   * The previous window of window `k` for series `id`: the sample taken after the
   * last boundary that lies at least one window before `nowMs`, when there is one
   * and its window lies wholly after the start. Not an older sample (after a clock
   * jump or a missed minute), not one from a boundary ahead of the clock.
   */
  previousWindow(k: number, id: number, nowMs: number): WindowSample | undefined {
    const windowMs = TREND_WINDOWS[k].ms;
    const wanted = Math.floor(nowMs / windowMs) - 1;
    const latest = this.latest[k];
    const previous = this.previous[k];
    const sample = latest?.boundary === wanted ? latest : previous?.boundary === wanted ? previous : undefined;
    if (sample === undefined || this.startMs === undefined || sample.takenMs - windowMs < this.startMs - this.slackMs) return undefined;
    const v = sample.values;
    const at = id * 4;
    if (!(at < v.length) || Number.isNaN(v[at])) return { count: 0, errors: 0, p50: 0, p99: 0 };
    return { count: v[at], errors: v[at + 1], p50: v[at + 2], p99: v[at + 3] };
  }
}

/**
 * Window `k`'s numbers of a worker summary, indexed by series id (small dense
 * integers): a sample keeps 32 bytes a series rather than the whole summary, and
 * is read without a Map (up to a million series, once a minute).
 */
function windowValues(data: Float64Array, k: number): Float64Array {
  let maxId = -1;
  for (let o = 0; o < data.length; o += SAMPLE_STRIDE) if (data[o] > maxId) maxId = data[o];
  const values = new Float64Array((maxId + 1) * 4).fill(Number.NaN);
  for (let o = 0; o < data.length; o += SAMPLE_STRIDE) {
    const at = data[o] * 4;
    const from = o + 1 + k * 4;
    values[at] = data[from];
    values[at + 1] = data[from + 1];
    values[at + 2] = data[from + 2];
    values[at + 3] = data[from + 3];
  }
  return values;
}
