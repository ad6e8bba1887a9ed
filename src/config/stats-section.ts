import { duration, mapping, number, type ConfigPath, type Issues } from './schema';

/** `stats:` — the latency statistics core. */
export interface StatsConfig {
  /** Cardinality cap; further series fold into the overflow series. */
  maxOperations: number;
  significantDigits: 1 | 2 | 3 | 4 | 5;
  /** Durations above this are clamped (and counted). */
  highestTrackableMs: number;
  /** Spans buffered before one native call records them. */
  batchSize: number;
  /** A partial batch is recorded at least this often. */
  flushIntervalMs: number;
  /** A task on the worker pool (a stats() summary, an SLO evaluation) taking longer fails, and the pool restarts. */
  workerTimeoutMs: number;
}

/** The cap on `max_operations`: series ids stay below 2^20 in both back ends (id 0 is the overflow series). */
export const MAX_OPERATIONS = 1_000_000;
/** The longest flush interval: Node fires a longer timer after 1 ms, and then every 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The largest batch: spans buffered on the event loop before one back-end call. */
export const MAX_BATCH_SIZE = 1_048_576;
/** The highest trackable value's bounds: both back ends take 2 to 2^53 - 1 µs. */
export const MIN_HIGHEST_TRACKABLE_MS = 0.002;
export const MAX_HIGHEST_TRACKABLE_MS = 9_007_199_254_740;

export const STATS_KEYS = ['max_operations', 'significant_digits', 'highest_trackable', 'batch_size', 'flush_interval', 'worker_timeout'] as const;

export function statsSection(value: unknown, path: ConfigPath, issues: Issues, _env: NodeJS.ProcessEnv): StatsConfig {
  const m = mapping(value, path, issues, STATS_KEYS);
  return {
    maxOperations: number(m, 'max_operations', path, issues, { integer: true, min: 1, max: MAX_OPERATIONS }, 1000),
    significantDigits: number(m, 'significant_digits', path, issues, { integer: true, min: 1, max: 5 }, 3) as StatsConfig['significantDigits'],
    highestTrackableMs: duration(m, 'highest_trackable', path, issues, { minMs: MIN_HIGHEST_TRACKABLE_MS, maxMs: MAX_HIGHEST_TRACKABLE_MS }, 3_600_000),
    batchSize: number(m, 'batch_size', path, issues, { integer: true, min: 1, max: MAX_BATCH_SIZE }, 2048),
    flushIntervalMs: duration(m, 'flush_interval', path, issues, { minMs: 1, maxMs: MAX_TIMER_MS }, 1000),
    workerTimeoutMs: duration(m, 'worker_timeout', path, issues, { minMs: 1, maxMs: MAX_TIMER_MS }, 60_000),
  };
}
