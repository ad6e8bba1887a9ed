/**
 * The configuration as written, for `new SpanMeterProcessor({ config: { … } })`
 * in TypeScript: the keys of config/tracing_config.yaml (snake_case), so that a
 * misspelt key fails to compile rather than at start. What is accepted at run
 * time is checked either way; `SpanMeterConfig` is the validated result.
 */

/** "500ms", "30s", "5m", "1h30m", "30d", or a number of milliseconds. */
export type DurationInput = string | number;
/** "64MB", "1MiB", or a number of bytes. */
export type SizeInput = string | number;
/** 99.9 or "99.9%". */
export type PercentInput = number | string;
export type SpanKindInput = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
/** Label, annotation and header values: strings (numbers and booleans are taken as written). */
export type StringMapInput = Record<string, string | number | boolean>;

/** Which spans an SLO or a rule counts. */
export interface SelectorInput {
  /** `service.name` glob: `*` any run, `?` one character. */
  service?: string;
  /** Span name glob. */
  span_name?: string;
  span_kind?: SpanKindInput | SpanKindInput[];
  /** Exact attribute values. */
  attributes?: Record<string, string | number | boolean>;
}

export interface StatsInput {
  max_operations?: number;
  significant_digits?: 1 | 2 | 3 | 4 | 5;
  highest_trackable?: DurationInput;
  batch_size?: number;
  flush_interval?: DurationInput;
  worker_timeout?: DurationInput;
}

export interface SloInput {
  name: string;
  description?: string;
  selector?: SelectorInput;
  indicator: 'availability' | 'latency' | 'latency_and_availability' | { type: 'availability' | 'latency' | 'latency_and_availability'; latency_threshold?: DurationInput };
  objective: PercentInput;
  time_window?: DurationInput;
  budgeting_method?: 'occurrences';
  at_risk_below?: PercentInput;
  labels?: StringMapInput;
  alerting?: {
    enabled?: boolean;
    name?: string;
    disabled_tiers?: string[];
    min_events?: number;
    min_bad_events?: number;
    for?: DurationInput;
    keep_firing_for?: DurationInput;
    annotations?: StringMapInput;
  };
}

export interface BurnRateTierInput {
  name: string;
  severity?: string;
  budget_consumed?: PercentInput;
  long_window?: DurationInput;
  short_window?: DurationInput;
  enabled?: boolean;
}

export interface RuleInput {
  name: string;
  type: 'latency' | 'error_rate' | 'request_rate' | 'attribute';
  selector?: SelectorInput;
  window?: DurationInput;
  percentile?: number;
  attribute?: string;
  aggregate?: 'sum' | 'count';
  /** A duration (latency), a percentage (error_rate) or a number. */
  above?: DurationInput | PercentInput;
  below?: number;
  min_events?: number;
  for?: DurationInput;
  keep_firing_for?: DurationInput;
  severity?: string;
  labels?: StringMapInput;
  annotations?: StringMapInput;
}

export interface AlertingInput {
  evaluation_interval?: DurationInput;
  history_size?: number;
  burn_rate?: {
    enabled?: boolean;
    min_events?: number;
    min_bad_events?: number;
    for?: DurationInput;
    keep_firing_for?: DurationInput;
    tiers?: BurnRateTierInput[];
  };
  rules?: RuleInput[];
}

export interface WebhookInput {
  name: string;
  url: string;
  format?: 'alertmanager_webhook' | 'alertmanager_api';
  receiver?: string;
  headers?: StringMapInput;
  timeout?: DurationInput;
  max_retries?: number;
  retry_backoff?: DurationInput;
  max_backoff?: DurationInput;
  send_resolved?: boolean;
  group_by?: string[];
  max_alerts?: number;
  repeat_interval?: DurationInput;
  queue_size?: number;
}

export interface NotifiersInput {
  external_url?: string;
  log?: { enabled?: boolean; stream?: 'stderr' | 'stdout'; format?: 'json' | 'logfmt' };
  webhooks?: WebhookInput[];
}

export type TrendWindowInput = '1m' | '5m' | '15m' | '1h';

export interface TrendsInput {
  enabled?: boolean;
  regression?: {
    enabled?: boolean;
    window?: TrendWindowInput;
    ratio?: number;
    percentiles?: ('p50' | 'p99')[];
    min_count?: number;
    baseline?: 'previous_hour' | 'file';
    baseline_file?: string;
  };
  error_analysis?: { enabled?: boolean; top?: number; max_groups?: number; max_message_length?: number };
  health?: { enabled?: boolean; error_rate_window?: TrendWindowInput };
}

export type ExportTargetInput =
  | {
      type: 'otlp' | 'jaeger' | 'zipkin';
      name?: string;
      endpoint?: string;
      headers?: StringMapInput;
      compression?: 'gzip' | 'none';
      timeout?: DurationInput;
      max_request_size?: SizeInput;
    }
  | { type: 'file'; name?: string; path?: string; max_file_size?: SizeInput; max_files?: number }
  | { type: 'exporter'; name?: string; index: number; timeout?: DurationInput };

export interface ExportInput {
  enabled?: boolean;
  targets?: ExportTargetInput[];
  batch?: { max_spans?: number; max_size?: SizeInput; delay?: DurationInput; max_span_size?: SizeInput };
  queue?: { max_spans?: number; max_size?: SizeInput };
  retry?: { initial_backoff?: DurationInput; max_backoff?: DurationInput; failure_threshold?: number };
  circuit_breaker?: { open_duration?: DurationInput; max_open_duration?: DurationInput };
  spool?: { enabled?: boolean; dir?: string; max_size?: SizeInput; max_age?: DurationInput };
  concurrency?: number;
  flush_timeout?: DurationInput;
  shutdown_timeout?: DurationInput;
  exit_timeout?: DurationInput;
}

/** The whole configuration as written (every section optional). */
export interface SpanMeterConfigInput {
  stats?: StatsInput;
  slos?: SloInput[];
  alerting?: AlertingInput;
  notifiers?: NotifiersInput;
  trends?: TrendsInput;
  export?: ExportInput;
}
