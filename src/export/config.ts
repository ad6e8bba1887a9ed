import { boolean, duration, isPlainObject, list, mapping, number, string, type ConfigPath, type Issues } from '../config/schema';
import { MAX_TIMER_MS } from './timers';

/** `export:` — spans leave the process, in priority order, with failover. */
export interface ExportConfig {
  /** False when the section is absent or `enabled: false`. */
  enabled: boolean;
  /** In priority order, highest first. */
  targets: TargetConfig[];
  batch: { maxSpans: number; maxBytes: number; delayMs: number; maxSpanBytes: number };
  queue: { maxSpans: number; maxBytes: number };
  retry: { initialBackoffMs: number; maxBackoffMs: number; failureThreshold: number };
  circuitBreaker: { openMs: number; maxOpenMs: number };
  spool: { enabled: boolean; dir: string; maxBytes: number; maxAgeMs: number };
  /** Requests in flight at once, over all targets. */
  concurrency: number;
  flushTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** Deadline of the shutdown that runs when the event loop empties without one (0: none). */
  exitTimeoutMs: number;
}

export interface HttpTargetConfig {
  type: 'otlp' | 'jaeger' | 'zipkin';
  name: string;
  endpoint: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  timeoutMs: number;
  /** Requests (before compression) above this are split. */
  maxRequestBytes: number;
}

export interface FileTargetConfig {
  type: 'file';
  name: string;
  /** Directory of `traces.jsonl` and its rotated files. */
  dir: string;
  maxFileBytes: number;
  maxFiles: number;
}

export interface ExporterTargetConfig {
  type: 'exporter';
  name: string;
  /** Index into the processor's `exporters` option. */
  index: number;
  timeoutMs: number;
}

export type TargetConfig = HttpTargetConfig | FileTargetConfig | ExporterTargetConfig;

export const EXPORT_KEYS = ['enabled', 'targets', 'batch', 'queue', 'retry', 'circuit_breaker', 'spool', 'concurrency', 'flush_timeout', 'shutdown_timeout', 'exit_timeout'] as const;
const TARGET_TYPES = ['otlp', 'jaeger', 'zipkin', 'file', 'exporter'] as const;
const HTTP_TARGET_KEYS = ['type', 'name', 'endpoint', 'headers', 'compression', 'timeout', 'max_request_size'] as const;
const FILE_TARGET_KEYS = ['type', 'name', 'path', 'max_file_size', 'max_files'] as const;
const EXPORTER_TARGET_KEYS = ['type', 'name', 'index', 'timeout'] as const;

export const DEFAULT_ENDPOINTS = {
  otlp: 'http://localhost:4318/v1/traces',
  jaeger: 'http://localhost:4318/v1/traces',
  zipkin: 'http://localhost:9411/api/v2/spans',
} as const;

const MiB = 1024 * 1024;

/** Durations that run as timers: Node fires a longer one after 1 ms. */
const TIMER = { minMs: 1, maxMs: MAX_TIMER_MS };

/** Sizes: a number of bytes or "512KB", "64MB", "1GB" (1024-based; KiB, MiB, GiB also accepted). */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(value);
  if (m === null) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? MiB : unit === 'g' ? 1024 * MiB : 1;
  return Math.floor(Number(m[1]) * scale);
}

function size(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, min: number, fallback: number): number {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    issues.add([...path, key], `must be a size such as 512KB, 64MB or 1GB (or a number of bytes), got ${JSON.stringify(value)}`);
    return fallback;
  }
  if (bytes < min) {
    issues.add([...path, key], `must be at least ${min} bytes, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return bytes;
}

/** A header name is an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header value: visible ASCII, spaces and tabs, no control characters. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Checks one header; returns a problem or undefined. */
export function headerProblem(name: string, value: unknown): string | undefined {
  if (!HEADER_NAME.test(name)) return `header name ${JSON.stringify(name)} is not a valid HTTP header name`;
  if (typeof value !== 'string') return `header ${JSON.stringify(name)} must be a string`;
  if (!HEADER_VALUE.test(value)) return `header ${JSON.stringify(name)} has a control character (CR, LF or NUL) in its value`;
  if (/^content-length$|^content-type$|^content-encoding$|^host$/i.test(name)) return `header ${JSON.stringify(name)} is set by spanmeter and cannot be configured`;
  return undefined;
}

/** Checks an endpoint URL; returns a problem or undefined. */
export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${JSON.stringify(value)} is not a valid URL (expected e.g. http://127.0.0.1:4318/v1/traces)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${JSON.stringify(value)} must use http or https, not ${url.protocol.replace(':', '')}`;
  if (url.hostname === '') return `${JSON.stringify(value)} has no host`;
  return undefined;
}

/** Parses the OTEL_EXPORTER_OTLP_HEADERS form `k1=v1,k2=v2` (values URL-encoded). */
export function parseEnvHeaders(text: string): { headers: Record<string, string>; problem?: string } {
  const headers: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return { headers, problem: `${JSON.stringify(part.trim())} is not of the form name=value` };
    const name = part.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return { headers, problem: `the value of ${JSON.stringify(name)} is not valid URL encoding` };
    }
    const problem = headerProblem(name, value);
    if (problem !== undefined) return { headers, problem };
    headers[name] = value;
  }
  return { headers };
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The `export:` section validator. */
export function exportSection(value: unknown, path: ConfigPath, issues: Issues, env: NodeJS.ProcessEnv): ExportConfig {
  const present = value !== undefined && value !== null;
  const m = mapping(value, path, issues, EXPORT_KEYS);
  const batchM = mapping(m.batch, [...path, 'batch'], issues, ['max_spans', 'max_size', 'delay', 'max_span_size']);
  const queueM = mapping(m.queue, [...path, 'queue'], issues, ['max_spans', 'max_size']);
  const retryM = mapping(m.retry, [...path, 'retry'], issues, ['initial_backoff', 'max_backoff', 'failure_threshold']);
  const breakerM = mapping(m.circuit_breaker, [...path, 'circuit_breaker'], issues, ['open_duration', 'max_open_duration']);
  const spoolM = mapping(m.spool, [...path, 'spool'], issues, ['enabled', 'dir', 'max_size', 'max_age']);
  const p = (key: string): ConfigPath => [...path, key];
  const enabled = boolean(m, 'enabled', path, issues, present);
  const targets = list(m.targets, p('targets'), issues, (element, at) => target(element, at, issues));
  const config: ExportConfig = {
    enabled,
    targets,
    batch: {
      maxSpans: number(batchM, 'max_spans', p('batch'), issues, { integer: true, min: 1, max: 65_535 }, 2048),
      maxBytes: size(batchM, 'max_size', p('batch'), issues, 1024, 1 * MiB),
      delayMs: duration(batchM, 'delay', p('batch'), issues, TIMER, 1000),
      maxSpanBytes: size(batchM, 'max_span_size', p('batch'), issues, 1024, 1 * MiB),
    },
    queue: {
      maxSpans: number(queueM, 'max_spans', p('queue'), issues, { integer: true, min: 1 }, 200_000),
      maxBytes: size(queueM, 'max_size', p('queue'), issues, 64 * 1024, 64 * MiB),
    },
    retry: {
      initialBackoffMs: duration(retryM, 'initial_backoff', p('retry'), issues, TIMER, 100),
      maxBackoffMs: duration(retryM, 'max_backoff', p('retry'), issues, TIMER, 5000),
      failureThreshold: number(retryM, 'failure_threshold', p('retry'), issues, { integer: true, min: 1, max: 100 }, 3),
    },
    circuitBreaker: {
      openMs: duration(breakerM, 'open_duration', p('circuit_breaker'), issues, TIMER, 5000),
      maxOpenMs: duration(breakerM, 'max_open_duration', p('circuit_breaker'), issues, TIMER, 60_000),
    },
    spool: {
      enabled: boolean(spoolM, 'enabled', p('spool'), issues, true),
      dir: string(spoolM, 'dir', p('spool'), issues, { nonEmpty: true }, '.spanmeter-spool'),
      maxBytes: size(spoolM, 'max_size', p('spool'), issues, 64 * 1024, 256 * MiB),
      maxAgeMs: duration(spoolM, 'max_age', p('spool'), issues, { minMs: 1000 }, 86_400_000),
    },
    concurrency: number(m, 'concurrency', path, issues, { integer: true, min: 1, max: 64 }, 2),
    flushTimeoutMs: duration(m, 'flush_timeout', path, issues, TIMER, 30_000),
    shutdownTimeoutMs: duration(m, 'shutdown_timeout', path, issues, TIMER, 30_000),
    exitTimeoutMs: duration(m, 'exit_timeout', path, issues, { minMs: 0, maxMs: MAX_TIMER_MS }, 5_000),
  };
  if (config.retry.maxBackoffMs < config.retry.initialBackoffMs) issues.add([...path, 'retry', 'max_backoff'], 'must be at least initial_backoff');
  if (config.circuitBreaker.maxOpenMs < config.circuitBreaker.openMs) issues.add([...path, 'circuit_breaker', 'max_open_duration'], 'must be at least open_duration');
  if (config.batch.maxSpanBytes > config.queue.maxBytes) issues.add([...path, 'batch', 'max_span_size'], 'must not be larger than queue.max_size');
  // Names must be unique: they label the targets in stats(). (Checked before the
  // environment may add a target in front, which would shift the indexes named.)
  const seen = new Set<string>();
  config.targets.forEach((t, i) => {
    if (seen.has(t.name)) issues.add([...path, 'targets', i, 'name'], `duplicate target name ${JSON.stringify(t.name)}`);
    seen.add(t.name);
  });
  if (enabled) applyEnv(config, path, issues, env);
  return config;
}

function target(element: unknown, at: ConfigPath, issues: Issues): TargetConfig | undefined {
  if (!isPlainObject(element)) {
    issues.add(at, 'must be a mapping with a type (otlp, jaeger, zipkin, file or exporter)');
    return undefined;
  }
  const type = string(element, 'type', at, issues, { oneOf: TARGET_TYPES }) as (typeof TARGET_TYPES)[number] | undefined;
  if (type === undefined) {
    if (element.type === undefined) issues.add([...at, 'type'], `is required (one of ${TARGET_TYPES.join(', ')})`);
    return undefined;
  }
  const index = at[at.length - 1] as number;
  if (type === 'file') {
    const m = mapping(element, at, issues, FILE_TARGET_KEYS);
    return {
      type,
      name: string(m, 'name', at, issues, { nonEmpty: true }, `file-${index}`),
      dir: string(m, 'path', at, issues, { nonEmpty: true }, 'spanmeter-traces'),
      maxFileBytes: size(m, 'max_file_size', at, issues, 1024, 64 * MiB),
      maxFiles: number(m, 'max_files', at, issues, { integer: true, min: 1, max: 10_000 }, 5),
    };
  }
  if (type === 'exporter') {
    const m = mapping(element, at, issues, EXPORTER_TARGET_KEYS);
    const exporterIndex = number(m, 'index', at, issues, { integer: true, min: 0 }, 0);
    return {
      type,
      name: string(m, 'name', at, issues, { nonEmpty: true }, `exporter-${exporterIndex}`),
      index: exporterIndex,
      timeoutMs: duration(m, 'timeout', at, issues, TIMER, 30_000),
    };
  }
  const m = mapping(element, at, issues, HTTP_TARGET_KEYS);
  const endpoint = string(m, 'endpoint', at, issues, { nonEmpty: true }, DEFAULT_ENDPOINTS[type]);
  const endpointIssue = endpointProblem(endpoint);
  if (endpointIssue !== undefined) issues.add([...at, 'endpoint'], endpointIssue);
  const headers: Record<string, string> = {};
  const headersM = m.headers;
  if (headersM !== undefined && headersM !== null) {
    if (!isPlainObject(headersM)) issues.add([...at, 'headers'], 'must be a mapping of header names to values');
    else
      for (const [name, v] of Object.entries(headersM)) {
        const value = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
        const problem = headerProblem(name, value);
        if (problem !== undefined) issues.add([...at, 'headers', name], problem);
        else headers[name] = value as string;
      }
  }
  const config: HttpTargetConfig = {
    type,
    name: string(m, 'name', at, issues, { nonEmpty: true }, `${type}-${index}`),
    endpoint,
    headers,
    // none by default, as OTEL_EXPORTER_OTLP_COMPRESSION in the OTel specification.
    compression: string(m, 'compression', at, issues, { oneOf: ['gzip', 'none'] }, 'none') as 'gzip' | 'none',
    timeoutMs: duration(m, 'timeout', at, issues, TIMER, 10_000),
    maxRequestBytes: size(m, 'max_request_size', at, issues, 1024, 4 * MiB),
  };
  if (m.endpoint !== undefined && m.endpoint !== null) endpointsGiven.add(config);
  return config;
}

/** Targets whose endpoint the configuration gives (not the default): an environment meant for another protocol leaves it be. */
const endpointsGiven = new WeakSet<HttpTargetConfig>();

/**
 * The OTEL_* variables of the OTel specification override the first `otlp`
 * target (one is added in front when none is configured but an endpoint is set),
 * and OTEL_EXPORTER_ZIPKIN_* the first `zipkin` target. Signal-specific
 * (`_TRACES_`) variables win over the general ones.
 */
function applyEnv(config: ExportConfig, path: ConfigPath, issues: Issues, env: NodeJS.ProcessEnv): void {
  const tracesEndpoint = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const index = config.targets.findIndex((t) => t.type === 'otlp');
  // Added in front at the end, so that the problems of the file's targets keep their indexes;
  // its own problems name `targets` and the variable.
  let added: HttpTargetConfig | undefined;
  if (index < 0 && (tracesEndpoint !== undefined || baseEndpoint !== undefined)) {
    added = { type: 'otlp', name: 'otlp-env', endpoint: DEFAULT_ENDPOINTS.otlp, headers: {}, compression: 'none', timeoutMs: 10_000, maxRequestBytes: 4 * MiB };
    const clash = config.targets.findIndex((t) => t.name === added?.name);
    if (clash >= 0) issues.add([...path, 'targets', clash, 'name'], `duplicate target name "otlp-env": the name of the otlp target that OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT adds`);
  }
  if (added !== undefined || index >= 0) {
    const t = added ?? (config.targets[index] as HttpTargetConfig);
    const at: ConfigPath = added !== undefined ? [...path, 'targets'] : [...path, 'targets', index];
    const endpoint = tracesEndpoint ?? (baseEndpoint !== undefined ? `${baseEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
    if (endpoint !== undefined) {
      const variable = tracesEndpoint !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
      const protocol = protocolProblem(env, variable);
      // the environment is set for another OTLP protocol (the SDK's own exporter over gRPC, say):
      // an endpoint the file gives is kept; without one, it is an error naming the way out
      const keepFileEndpoint = protocol !== undefined && endpointsGiven.has(t);
      const problem = keepFileEndpoint ? undefined : (endpointProblem(endpoint) ?? protocol);
      if (problem !== undefined) issues.add([...at, 'endpoint'], `${variable}: ${problem}`);
      else if (!keepFileEndpoint) t.endpoint = endpoint;
    }
    for (const variable of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
      const text = envValue(env, variable);
      if (text === undefined) continue;
      const parsed = parseEnvHeaders(text);
      if (parsed.problem !== undefined) issues.add([...at, 'headers'], `${variable}: ${parsed.problem}`);
      else t.headers = { ...t.headers, ...parsed.headers };
    }
    envTimeout(env, ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], t, at, issues);
    const compression = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') ?? envValue(env, 'OTEL_EXPORTER_OTLP_COMPRESSION');
    if (compression !== undefined) {
      if (compression !== 'gzip' && compression !== 'none') issues.add([...at, 'compression'], `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION must be gzip or none, got ${JSON.stringify(compression)}`);
      else t.compression = compression;
    }
  }
  const zipkinIndex = config.targets.findIndex((t) => t.type === 'zipkin');
  if (zipkinIndex >= 0) {
    const t = config.targets[zipkinIndex] as HttpTargetConfig;
    const at: ConfigPath = [...path, 'targets', zipkinIndex];
    const endpoint = envValue(env, 'OTEL_EXPORTER_ZIPKIN_ENDPOINT');
    if (endpoint !== undefined) {
      const problem = endpointProblem(endpoint);
      if (problem !== undefined) issues.add([...at, 'endpoint'], `OTEL_EXPORTER_ZIPKIN_ENDPOINT: ${problem}`);
      else t.endpoint = endpoint;
    }
    envTimeout(env, ['OTEL_EXPORTER_ZIPKIN_TIMEOUT'], t, at, issues);
  }
  if (added !== undefined) config.targets.unshift(added);
}

/**
 * An endpoint from the environment meant for another OTLP protocol: an
 * http/protobuf request to a gRPC port (4317) fails at every batch.
 */
function protocolProblem(env: NodeJS.ProcessEnv, endpointVariable: string): string | undefined {
  const variable = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = envValue(env, variable);
  if (protocol === undefined || protocol === 'http/protobuf') return undefined;
  return `${variable} is ${JSON.stringify(protocol)}, but spanmeter sends OTLP as http/protobuf only: give the otlp target's endpoint in the file (the collector's OTLP/HTTP endpoint, port 4318; the environment's is then left to the SDK), or set OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf with ${endpointVariable} at that endpoint`;
}

function envTimeout(env: NodeJS.ProcessEnv, variables: string[], t: HttpTargetConfig, at: ConfigPath, issues: Issues): void {
  for (const variable of variables) {
    const text = envValue(env, variable);
    if (text === undefined) continue;
    const ms = Number(text);
    if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMER_MS) issues.add([...at, 'timeout'], `${variable} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${JSON.stringify(text)}`);
    else t.timeoutMs = ms;
    return;
  }
}
