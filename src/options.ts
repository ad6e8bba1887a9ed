/**
 * The processor's options given in code, checked in the order the README's
 * options table lists them, each completely before the next: a bad option
 * fails with an error that names it, and with several bad ones, the first.
 */
import {
  MAX_BATCH_SIZE,
  MAX_HIGHEST_TRACKABLE_MS,
  MAX_OPERATIONS,
  MAX_TIMER_MS,
  MIN_HIGHEST_TRACKABLE_MS,
  type StatsConfig,
} from './config/stats-section';
import { SpanMeterError, describeKind, invalidOption } from './errors';
import { closest, isPlainObject } from './config/schema';
import { checkExporters } from './export/create';

/** The options this module checks (a subset of `SpanMeterOptions`). */
export interface CodeOptions {
  maxOperations?: unknown;
  significantDigits?: unknown;
  highestTrackableMs?: unknown;
  batchSize?: unknown;
  flushIntervalMs?: unknown;
  workerTimeoutMs?: unknown;
  backend?: unknown;
  clock?: unknown;
  exporters?: unknown;
  onAlert?: unknown;
}

/** Every option `SpanMeterOptions` has. */
const OPTION_NAMES = [
  'config',
  'exporters',
  'maxOperations',
  'significantDigits',
  'highestTrackableMs',
  'batchSize',
  'flushIntervalMs',
  'workerTimeoutMs',
  'backend',
  'clock',
  'onAlert',
] as const;

/** Accepted too, not offered in messages: internal (tests and the processor's own parts). */
const INTERNAL_OPTION_NAMES = ['extensions'];

/**
 * The options must be an object of known options: a misspelt one (`exporter`,
 * `maxOperation`, `max_operations`) would leave the processor on its
 * defaults, export off, without a word.
 */
export function checkOptionNames(options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    const hint = typeof options === 'string' ? ` (a config file goes in { config: ${JSON.stringify(options.length > 60 ? `${options.slice(0, 60)}…` : options)} })` : '';
    throw new SpanMeterError(`spanmeter: the processor's options must be an object, got ${describeKind(options)}${hint}`, 'SPANMETER_INVALID_OPTION');
  }
  for (const key of Object.keys(options)) {
    if ((OPTION_NAMES as readonly string[]).includes(key) || INTERNAL_OPTION_NAMES.includes(key)) continue;
    const hint = closest(key, OPTION_NAMES);
    throw new SpanMeterError(
      `spanmeter: unknown option "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}; options: ${OPTION_NAMES.join(', ')}`,
      'SPANMETER_INVALID_OPTION',
    );
  }
}

/** The `stats:` settings the processor runs with: the code's options over the file's. */
export function resolveStatsOptions(options: CodeOptions, file: StatsConfig): StatsConfig {
  const stats: StatsConfig = {
    maxOperations: integerIn('maxOperations', options.maxOperations, file.maxOperations, MAX_OPERATIONS),
    significantDigits: integerIn('significantDigits', options.significantDigits, file.significantDigits, 5) as StatsConfig['significantDigits'],
    highestTrackableMs: numberIn(
      'highestTrackableMs',
      options.highestTrackableMs,
      file.highestTrackableMs,
      MIN_HIGHEST_TRACKABLE_MS,
      MAX_HIGHEST_TRACKABLE_MS,
      `a number of milliseconds from ${MIN_HIGHEST_TRACKABLE_MS} to ${MAX_HIGHEST_TRACKABLE_MS} (2 µs to 2^53 - 1 µs)`,
    ),
    batchSize: integerIn('batchSize', options.batchSize, file.batchSize, MAX_BATCH_SIZE),
    flushIntervalMs: numberIn('flushIntervalMs', options.flushIntervalMs, file.flushIntervalMs, Number.MIN_VALUE, MAX_TIMER_MS, `a positive number of milliseconds up to ${MAX_TIMER_MS}`),
    workerTimeoutMs: numberIn('workerTimeoutMs', options.workerTimeoutMs, file.workerTimeoutMs, 1, MAX_TIMER_MS, `a number of milliseconds from 1 to ${MAX_TIMER_MS}`),
  };
  const backend = options.backend;
  if (backend !== undefined && backend !== 'auto' && backend !== 'native' && backend !== 'js') throw invalidOption('backend', backend, 'one of auto, native, js');
  if (options.clock !== undefined && typeof options.clock !== 'function') throw invalidOption('clock', options.clock, 'a function returning epoch milliseconds');
  checkExporters(options.exporters);
  if (options.onAlert !== undefined && typeof options.onAlert !== 'function') throw invalidOption('onAlert', options.onAlert, 'a function called with each alert event');
  return stats;
}

/** `value` when it is an integer from 1 to `max`, `fallback` when it is undefined. */
function integerIn(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw invalidOption(name, value, `an integer from 1 to ${max}`);
  return value;
}

function numberIn(name: string, value: unknown, fallback: number, min: number, max: number, expected: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) throw invalidOption(name, value, expected);
  return value;
}
