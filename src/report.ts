/** The StatsReport schema of design.md: plain JSON, stable field names. */

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type WindowName = '1m' | '5m' | '15m' | '1h';

export interface LatencyMs {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export interface WindowStats {
  count: number;
  errors: number;
  p50: number;
  p99: number;
}

export interface OperationStats {
  service: string;
  name: string;
  kind: SpanKindName;
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: LatencyMs;
  windows?: Record<WindowName, WindowStats>;
  /** HdrHistogram V2 compressed base64 of the lifetime histogram, values in microseconds. */
  histogram: string;
}

export interface Totals {
  spans: number;
  errors: number;
  operations: number;
  overflowSpans: number;
  /** Spans not counted in any histogram (or not exported), by reason. */
  dropped: Record<string, number>;
}

/** SLO status (filled in by the SLO engine). */
export type SloStatus = Record<string, unknown>;
/** An alert's state (filled in by the alert engine). */
export type AlertState = Record<string, unknown>;
/** An alert transition. */
export type AlertEvent = Record<string, unknown>;
/** An export target's status (filled in by the export pipeline). */
export type ExporterStatus = Record<string, unknown>;

export interface StatsReport {
  schemaVersion: 1;
  /** ISO 8601 */
  generatedAt: string;
  backend: 'native' | 'js';
  totals: Totals;
  /** Sorted by count, descending. */
  operations: OperationStats[];
  slos?: SloStatus[];
  alerts?: { firing: AlertState[]; recent: AlertEvent[] };
  exporters?: ExporterStatus[];
}
