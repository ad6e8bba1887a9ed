/**
 * Per-operation trends: each window's percentiles against the previous window of
 * the same length, and a regression flag when a watched percentile of the
 * regression window rises past `ratio` times its baseline (the previous hour, or a
 * saved report).
 */
import type { OperationStats, OperationTrend, WindowName, WindowTrend } from '../report';
import { OVERFLOW_ID } from '../series-table';
import { operationKey, type BaselineEntry } from './baseline';
import { TREND_WINDOWS, type TrendSamples } from './samples';
import type { RegressionConfig } from './types';

export class TrendAnalysis {
  private readonly fileBaseline: Map<string, BaselineEntry> | undefined;

  constructor(private readonly config: RegressionConfig) {
    this.fileBaseline = config.baselineEntries === undefined ? undefined : new Map(config.baselineEntries.map((e) => [operationKey(e.service, e.name, e.kind), e]));
  }

  /** `ids[i]` is the series id of `operations[i]`. */
  compute(operations: readonly OperationStats[], ids: readonly number[], samples: TrendSamples, nowMs: number): OperationTrend[] {
    const out: OperationTrend[] = [];
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i];
      const id: number | undefined = ids[i];
      if (op.windows === undefined || id === OVERFLOW_ID) continue;
      const windows: Partial<Record<WindowName, WindowTrend>> = {};
      TREND_WINDOWS.forEach(({ name }, k) => {
        const current = op.windows![name];
        const trend: WindowTrend = { count: current.count, p50: current.p50, p99: current.p99 };
        const previous = id === undefined ? undefined : samples.previousWindow(k, id, nowMs);
        if (previous !== undefined) {
          trend.previous = { count: previous.count, p50: previous.p50, p99: previous.p99 };
          // a window without spans has no percentiles to compare (its 0 is not a latency)
          const both = current.count > 0 && previous.count > 0;
          trend.change = { count: ratio(current.count, previous.count), p50: both ? ratio(current.p50, previous.p50) : null, p99: both ? ratio(current.p99, previous.p99) : null };
        }
        windows[name] = trend;
      });
      const baseline = this.baselineOf(op, id, samples, nowMs);
      const trend: OperationTrend = { service: op.service, name: op.name, kind: op.kind, windows, regression: false, regressions: [] };
      if (baseline !== undefined) {
        trend.baseline = baseline;
        this.flagRegressions(trend, op.windows[this.config.window], baseline);
      }
      out.push(trend);
    }
    return out;
  }

  private baselineOf(op: OperationStats, id: number | undefined, samples: TrendSamples, nowMs: number): OperationTrend['baseline'] {
    if (this.fileBaseline !== undefined) {
      const entry = this.fileBaseline.get(operationKey(op.service, op.name, op.kind));
      return entry === undefined ? undefined : { source: 'file', count: entry.count, p50: entry.p50, p99: entry.p99 };
    }
    const hour = TREND_WINDOWS.findIndex((w) => w.name === '1h');
    const previous = id === undefined ? undefined : samples.previousWindow(hour, id, nowMs);
    return previous === undefined || previous.count === 0 ? undefined : { source: 'previous_hour', count: previous.count, p50: previous.p50, p99: previous.p99 };
  }

  private flagRegressions(trend: OperationTrend, current: { count: number; p50: number; p99: number }, baseline: NonNullable<OperationTrend['baseline']>): void {
    const config = this.config;
    if (!config.enabled || current.count < config.minCount || baseline.count < config.minCount) return;
    for (const percentile of config.percentiles) {
      const base = baseline[percentile];
      const now = current[percentile];
      if (!(base > 0)) continue;
      const r = now / base;
      if (r >= config.ratio) trend.regressions.push({ percentile, window: config.window, current: now, baseline: base, ratio: r });
    }
    trend.regression = trend.regressions.length > 0;
  }
}

function ratio(current: number, previous: number): number | null {
  return previous > 0 ? current / previous : null;
}
