/** The StatsReport schema (README, "The report"): plain JSON, stable field names. */

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
  windows: Record<WindowName, WindowStats>;
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

/** A burn-rate tier of an SLO, as last evaluated. */
export interface BurnRateTierStatus {
  tier: string;
  severity: string;
  budgetConsumedPercent: number;
  longWindow: string;
  shortWindow: string;
  /** The burn rate both windows must exceed: budget% x period / long window. */
  threshold: number;
  longBurnRate: number | null;
  shortBurnRate: number | null;
  /** Both windows burn faster than the threshold and the event guards pass. */
  conditionMet: boolean;
}

/** An SLO over its rolling window (see docs/slo-and-alerts.md). */
export interface SloStatus {
  name: string;
  description: string;
  /** The selector's service, when it names one service. */
  service: string | null;
  indicator: 'availability' | 'latency' | 'latency_and_availability';
  latencyThresholdMs: number | null;
  /** Percent, e.g. 99.9. */
  objective: number;
  /** e.g. "30d". */
  timeWindow: string;
  budgetingMethod: 'occurrences';
  labels: Record<string, string>;
  /** Spans in the window: good ones meet the indicator. */
  events: { total: number; good: number; bad: number };
  /** good / total over the window; null without spans. */
  sli: number | null;
  /** breached: SLI below the objective; at_risk: less than `at_risk_below` of the budget left, or a burn-rate tier's condition holds. */
  compliance: 'met' | 'at_risk' | 'breached';
  errorBudget: {
    /** Bad events the window allows. */
    totalEvents: number;
    consumedEvents: number;
    remainingEvents: number;
    consumedFraction: number;
    remainingFraction: number;
  };
  /** Bad ratio over allowed ratio, per window; null without spans in the window. */
  burnRates: Record<'5m' | '30m' | '1h' | '2h' | '6h' | '1d' | '3d', number | null>;
  /** Until the budget is spent at the 1h burn rate; 0 when spent, null when not burning. */
  timeToExhaustionMs: number | null;
  tiers: BurnRateTierStatus[];
}

export type AlertStateName = 'inactive' | 'pending' | 'firing';

/** An alert that is pending or firing. */
export interface AlertState {
  alertname: string;
  /** Sorted by name; the fingerprint is computed over them. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Alertmanager's fingerprint of the labels (16 hex digits). */
  fingerprint: string;
  state: 'pending' | 'firing';
  source: 'slo' | 'rule';
  /** The last evaluated value, in `valueUnit`. */
  value: number;
  valueUnit: 'burn_rate' | 'ratio' | 'per_second' | 'count' | 'sum';
  /** When the condition started to hold (ISO 8601). */
  activeAt: string;
  /** When it started firing. */
  firedAt?: string;
  /** Services whose spans feed the alert. */
  services: string[];
}

/** One transition of an alert. `resolved` is firing -> inactive; `inactive` is pending -> inactive. */
export interface AlertEvent {
  alertname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  from: AlertStateName;
  to: 'pending' | 'firing' | 'resolved' | 'inactive';
  /** When the transition happened (ISO 8601). */
  at: string;
  value: number;
  valueUnit: AlertState['valueUnit'];
  severity: string;
  source: 'slo' | 'rule';
  /** When the alert started firing (firing and resolved events). */
  startsAt?: string;
  /** When it resolved (resolved events). */
  endsAt?: string;
}

/** The evaluation loop's counters. */
export interface EvaluationStatus {
  evaluations: number;
  /** Evaluations skipped because the previous one was still running. */
  skipped: number;
  failures: number;
  lastError?: string;
  lastEvaluatedAt?: string;
  /** Event-loop time of the last evaluation (handing over counts, applying results), ms. */
  lastLoopMs: number;
  maxLoopMs: number;
  /** Worker time of the last evaluation, ms. */
  lastWorkerMs: number;
  /** Bytes of SLO and rule counters (fixed at start). */
  counterBytes: number;
  /** Attribute values that `aggregate: sum` rules skipped (not a finite number), once per rule. */
  nonNumericValues: number;
}

/** A notifier's delivery counters. */
export interface NotifierStatus {
  name: string;
  type: 'callback' | 'log' | 'webhook';
  /** Webhooks: the URL, credentials removed. */
  url?: string;
  /** Notifications (payloads, lines or calls) delivered. */
  sent: number;
  /** Notifications given up on (after the retries, or refused). */
  failed: number;
  retries: number;
  /** Dropped because the queue was full or the process shut down. */
  dropped: number;
  /** Waiting or in flight. */
  pending: number;
  lastError?: string;
  lastErrorAt?: string;
  lastSuccessAt?: string;
}

/** Percentiles of one window against the previous window of the same length. */
export interface WindowTrend {
  count: number;
  p50: number;
  p99: number;
  previous?: { count: number; p50: number; p99: number };
  /** current / previous; null when the previous window had no spans (p50 and p99: or the current one). */
  change?: { count: number | null; p50: number | null; p99: number | null };
}

export interface OperationTrend {
  service: string;
  name: string;
  kind: SpanKindName;
  windows: Partial<Record<WindowName, WindowTrend>>;
  baseline?: { source: 'previous_hour' | 'file'; count: number; p50: number; p99: number };
  /** True when a watched percentile of the regression window rose past the ratio over the baseline. */
  regression: boolean;
  regressions: { percentile: 'p50' | 'p99'; window: WindowName; current: number; baseline: number; ratio: number }[];
}

export interface ErrorGroup {
  /** `exception.type` of the span's exception event, or "(none)". */
  type: string;
  /** `exception.message`, else the status message (truncated). */
  message: string;
  count: number;
  lastSeen: string;
}

export interface OperationErrors {
  service: string;
  name: string;
  kind: SpanKindName;
  errors: number;
  /** Top groups by count. */
  groups: ErrorGroup[];
}

export interface ErrorAnalysis {
  operations: OperationErrors[];
  /** Error spans not grouped because `max_groups` was reached. */
  droppedGroups: number;
}

export interface HealthReason {
  kind: 'slo_breached' | 'slo_at_risk' | 'alert_firing' | 'error_rate' | 'latency_regression';
  subject: string;
  penalty: number;
  detail: string;
}

export interface ServiceHealth {
  service: string;
  /** 0-100. */
  score: number;
  status: 'healthy' | 'degraded' | 'unhealthy';
  reasons: HealthReason[];
}
/** The disk spool of the export pipeline (on its `type: 'spool'` entry of `exporters`). */
export interface SpoolStatus {
  dir: string;
  /** False when the directory cannot be used (locked by another process, not writable). */
  available: boolean;
  /** Why it is not available. */
  reason?: string;
  /**
   * The last lock left by another process that this one judged gone (dead,
   * or its pid reused) and took over: that process's pid (null when the lock
   * was unreadable) and when (ISO 8601). A live process on another host or in
   * another container sharing the volume is judged gone too (docs/export.md).
   */
  lockTakenOver?: { pid: number | null; at: string };
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
  alerts?: {
    firing: AlertState[];
    /** Newest first. */
    recent: AlertEvent[];
    pending: AlertState[];
    evaluation: EvaluationStatus;
  };
  notifiers?: NotifierStatus[];
  trends?: OperationTrend[];
  errorAnalysis?: ErrorAnalysis;
  health?: ServiceHealth[];
  exporters?: ExporterStatus[];
  /**
   * The sections left out of this report because computing them failed (an
   * SLO evaluation whose worker timed out, say): the rest of the report
   * stands. Absent when every section was computed.
   */
  incomplete?: IncompleteSection[];
  /**
   * What was repaired rather than dropped (README, "The report"): clamped
   * durations, failed clock readings, spans without a resource or
   * `service.name`, invalid kinds and names; the histograms' heap bytes and
   * the batches recorded. Present in every report `stats()` returns.
   */
  diagnostics: Diagnostics;
}

/** A section missing from a report, and why (`StatsReport.incomplete`). */
export interface IncompleteSection {
  /** The report's key that is missing (`slos`, `health`), or the extension whose sections are (`slo`, `export`). */
  section: string;
  /** The error's code, when it has one (`SPANMETER_WORKER_TIMEOUT`). */
  code?: string;
  error: string;
}

/** Notes in `report` that `section` is missing because of `error`. */
export function markIncomplete(report: StatsReport, section: string, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const entry: IncompleteSection = { section, error: error instanceof Error ? error.message : String(error) };
  if (typeof code === 'string') entry.code = code;
  (report.incomplete ??= []).push(entry);
}

/** `StatsReport.diagnostics`. */
export interface Diagnostics {
  /** Spans longer than `highestTrackableMs`, recorded as that. */
  clampedSpans: number;
  /** Clock readings that threw or were not usable, replaced by the last good one. */
  clockFailures: number;
  /** Spans without a resource or a usable `service.name` (recorded under `unknown_service`). */
  missingResource: number;
  /** Spans whose kind was not an integer from 0 to 4 (recorded as `internal`). */
  invalidKind: number;
  /** Spans whose name was not a string. */
  invalidName: number;
  /** Names cut to 1024 characters: a span's name, or its resource's `service.name` (one each per span). */
  truncatedName: number;
  /** Heap bytes of the histograms. */
  histogramBytes: number;
  /** Batches recorded. */
  batches: number;
  /**
   * Times a worker pool left without threads (a worker died while starting,
   * and piscina started no other) was replaced by a fresh one.
   */
  workerRestarts: number;
}
