import type { SeriesSummary } from '../backend/types';
import type { OperationStats, WindowName } from '../report';
import type { SeriesKey } from '../series-table';

/** Percentiles the report needs, in the order the summarizer is asked for them. */
export const REPORT_PERCENTILES = [50, 90, 95, 99, 99.9];
export const WINDOW_PERCENTILES = [50, 99];
const WINDOW_ORDER: readonly WindowName[] = ['1m', '5m', '15m', '1h'];

const ms = (us: number): number => us / 1000;

/** Turns series summaries into the report's operations, sorted by count, descending. */
export function toOperations(summaries: SeriesSummary[], keys: readonly SeriesKey[]): OperationStats[] {
  const operations: OperationStats[] = [];
  for (const s of summaries) {
    const key = keys[s.id];
    if (key === undefined || s.count === 0) continue;
    // A percentile is the top of its HDR bucket; the exact max is known, so no
    // percentile is reported above it (p99.9 > max would puzzle anyone).
    const cap = (us: number): number => Math.min(us, s.maxUs);
    const [p50, p90, p95, p99, p999] = s.percentilesUs.map(cap);
    const windows = {} as Record<WindowName, { count: number; errors: number; p50: number; p99: number }>;
    WINDOW_ORDER.forEach((name, i) => {
      const w = s.windows[i];
      windows[name] = { count: w.count, errors: w.errors, p50: ms(cap(w.percentilesUs[0])), p99: ms(cap(w.percentilesUs[1])) };
    });
    operations.push({
      service: key.service,
      name: key.name,
      kind: key.kind,
      count: s.count,
      errors: s.errors,
      errorRate: s.count === 0 ? 0 : s.errors / s.count,
      latencyMs: {
        min: ms(s.minUs),
        mean: ms(s.sumUs / s.count),
        p50: ms(p50),
        p90: ms(p90),
        p95: ms(p95),
        p99: ms(p99),
        p999: ms(p999),
        max: ms(s.maxUs),
      },
      windows,
      histogram: s.histogram,
    });
  }
  operations.sort((a, b) => b.count - a.count || a.service.localeCompare(b.service) || a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
  return operations;
}
