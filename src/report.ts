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
/** The disk spool of the export pipeline (on its `type: 'spool'` entry of `exporters`). */
export interface SpoolStatus {
  dir: string;
  /** False when the directory cannot be used (locked by another process, not writable). */
  available: boolean;
  /** Why it is not available. */
  reason?: string;
  /** What is in the spool now. */
  bytes: number;
  batches: number;
  spans: number;
  /** Age of the oldest batch in the spool, 0 when empty. */
  oldestAgeMs: number;
  /** Spans written to the spool, read back and delivered, and removed for age since start. */
  spooledSpans: number;
  replayedSpans: number;
  expiredSpans: number;
}

/**
 * One export target (in priority order, highest first), or the disk spool
 * (`type: 'spool'`, last). Counters are since the processor started.
 */
export interface ExporterStatus {
  name: string;
  type: 'otlp' | 'jaeger' | 'zipkin' | 'file' | 'exporter' | 'spool';
  /** URL or directory. */
  endpoint?: string;
  /** 0 is the highest priority; the spool comes after every target. */
  priority: number;
  /** healthy (circuit closed), retrying (backing off after failures) or open (circuit open: skipped). */
  state: 'healthy' | 'retrying' | 'open';
  spansSent: number;
  batchesSent: number;
  /** Attempts that failed (each retry that fails counts again). */
  spansFailed: number;
  batchesFailed: number;
  /** Attempts of batches that had failed before (here or on another target). */
  retries: number;
  /**
   * Spans sent again after an attempt whose outcome was unknown (timeout, reset,
   * partial response): the only spans a receiver may see twice.
   */
  resentSpans: number;
  /** Batches the target refused with a 4xx other than 408/413/429 (not retried on it). */
  badBatches: number;
  /** Spans the target acknowledged but rejected (OTLP partial success). */
  rejectedSpans: number;
  lastError?: string;
  /** ISO 8601 */
  lastErrorAt?: string;
  /** Request latency of the last 1024 attempts. */
  latencyMs: { p50: number; p99: number };
  /** ISO 8601, while the circuit is open. */
  circuitOpenUntil?: string;
  spool?: SpoolStatus;
}

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
