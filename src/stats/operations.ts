/**
 * Series summaries to report operations, in two halves: the worker packs
 * each series' numbers into one Float64Array row (`toRows`), and the event
 * loop turns rows into `OperationStats` with the series keys it holds
 * (`toOperations`). Posting the operations as objects cost the event loop
 * ~10 µs per operation to deserialize (7 objects each); a Float64Array and
 * an array of strings clone at memory speed, and objects built here from
 * them take a fraction of that. The keys stay on this thread too.
 */
import type { SeriesSummary } from '../backend/types';
import type { OperationStats, WindowName, WindowStats } from '../report';
import type { SeriesKey } from '../series-table';

/** Percentiles the report needs, in the order the summarizer is asked for them. */
export const REPORT_PERCENTILES = [50, 90, 95, 99, 99.9];
export const WINDOW_PERCENTILES = [50, 99];
const WINDOW_ORDER: readonly WindowName[] = ['1m', '5m', '15m', '1h'];

/** Row layout: id, count, errors, min, sum, max (µs), the five report percentiles (µs), then per window: count, errors, p50, p99 (µs). */
const WINDOWS_AT = 11;
export const ROW_LENGTH = WINDOWS_AT + 4 * WINDOW_ORDER.length;

/** What the stats worker posts back: one row per series with spans, and its V2 histogram string. */
export interface SummaryRows {
  rows: Float64Array;
  histograms: string[];
}

/** The worker's half: the summaries of series with spans, packed. */
export function toRows(summaries: readonly SeriesSummary[]): SummaryRows {
  const kept = summaries.filter((s) => s.count > 0);
  const rows = new Float64Array(kept.length * ROW_LENGTH);
  kept.forEach((s, i) => {
    const o = i * ROW_LENGTH;
    rows.set([s.id, s.count, s.errors, s.minUs, s.sumUs, s.maxUs], o);
    rows.set(s.percentilesUs.slice(0, REPORT_PERCENTILES.length), o + 6);
    s.windows.forEach((w, k) => rows.set([w.count, w.errors, w.percentilesUs[0], w.percentilesUs[1]], o + WINDOWS_AT + 4 * k));
  });
  return { rows, histograms: kept.map((s) => s.histogram) };
}

const ms = (us: number): number => us / 1000;

/** The report's operations and, at the same positions, their series ids. */
export interface NamedOperations {
  operations: OperationStats[];
  ids: number[];
}

/**
 * The event loop's half: the report's operations, sorted by count, descending
 * (ties by service, name and kind, in code-unit order: `localeCompare` made
 * the sort of 10,000 light operations most of this function's time).
 */
export function toOperations({ rows, histograms }: SummaryRows, keys: readonly SeriesKey[]): NamedOperations {
  const unsorted: OperationStats[] = [];
  const unsortedIds: number[] = [];
  for (let i = 0, o = 0; o < rows.length; i++, o += ROW_LENGTH) {
    const id = rows[o];
    const key = keys[id];
    if (key === undefined) continue;
    unsortedIds.push(id);
    const [count, errors, minUs, sumUs, maxUs] = [rows[o + 1], rows[o + 2], rows[o + 3], rows[o + 4], rows[o + 5]];
    // A percentile is the top of its HDR bucket; the exact max is known, so no
    // percentile is reported above it (p99.9 > max would puzzle anyone).
    const capped = (at: number): number => ms(Math.min(rows[at], maxUs));
    const windows = {} as Record<WindowName, WindowStats>;
    for (let k = 0; k < WINDOW_ORDER.length; k++) {
      const w = o + WINDOWS_AT + 4 * k;
      windows[WINDOW_ORDER[k]] = { count: rows[w], errors: rows[w + 1], p50: capped(w + 2), p99: capped(w + 3) };
    }
    unsorted.push({
      service: key.service,
      name: key.name,
      kind: key.kind,
      count,
      errors,
      errorRate: errors / count,
      latencyMs: {
        min: ms(minUs),
        mean: ms(sumUs / count),
        p50: capped(o + 6),
        p90: capped(o + 7),
        p95: capped(o + 8),
        p99: capped(o + 9),
        p999: capped(o + 10),
        max: ms(maxUs),
      },
      windows,
      histogram: histograms[i],
    });
  }
  const order = unsorted.map((_, i) => i);
  order.sort((i, j) => {
    const a = unsorted[i];
    const b = unsorted[j];
    return b.count - a.count || compareText(a.service, b.service) || compareText(a.name, b.name) || compareText(a.kind, b.kind);
  });
  return { operations: order.map((i) => unsorted[i]), ids: order.map((i) => unsortedIds[i]) };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
