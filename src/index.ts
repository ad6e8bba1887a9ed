/**
 * spanmeter: exact latency percentiles, SLOs, alerts and failover export for
 * OpenTelemetry, from one SpanProcessor.
 */
export { SpanMeterProcessor } from './processor';
export type { SpanMeterOptions } from './processor';
export type {
  Diagnostics,
  IncompleteSection,
  StatsReport,
  OperationStats,
  LatencyMs,
  WindowStats,
  Totals,
  SpanKindName,
  WindowName,
  SloStatus,
  AlertState,
  AlertEvent,
  AlertStateName,
  BurnRateTierStatus,
  EvaluationStatus,
  NotifierStatus,
  OperationTrend,
  WindowTrend,
  ErrorAnalysis,
  ErrorGroup,
  OperationErrors,
  ServiceHealth,
  HealthReason,
  ExporterStatus,
  SpoolStatus,
} from './report';
export { SpanMeterError } from './errors';
export { createHistogram, decodeHistogram, backendInfo } from './histogram';
export type { Histogram, BackendKind } from './backend/types';
export { OVERFLOW_NAME, UNKNOWN_SERVICE } from './series-table';
export { loadConfig, parseYamlConfig, ConfigError } from './config/load';
export type { ConfigProblem } from './config/load';
export type { SpanMeterConfig } from './config/sections';
export type {
  SpanMeterConfigInput,
  StatsInput,
  SloInput,
  SelectorInput,
  AlertingInput,
  RuleInput,
  BurnRateTierInput,
  NotifiersInput,
  WebhookInput,
  TrendsInput,
  ExportInput,
  ExportTargetInput,
  DurationInput,
  SizeInput,
  PercentInput,
} from './config/input';
export { formatStatsTable } from './format';
export type { FormatOptions } from './format';
export { alertFingerprint } from './alerts/fingerprint';
export { burnRateThreshold, burnRate, errorBudget, timeToExhaustionMs, timeToFireMs } from './slo/burn-rate';
export { DEFAULT_TIERS } from './config/alerting-section';
export type { BurnRateTierConfig } from './config/alerting-section';
export type { WebhookPayload, WebhookAlert, PostableAlert } from './notify/alertmanager';
