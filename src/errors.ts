/**
 * spanmeter's errors, made by one factory so that every message names what is
 * wrong and where, and carries a stable `code`.
 */
export class SpanMeterError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SpanMeterError';
  }
}

/** An option passed to the processor is wrong. */
export function invalidOption(name: string, value: unknown, expected: string): SpanMeterError {
  return new SpanMeterError(`spanmeter: option "${name}" must be ${expected}, got ${describe(value)}`, 'SPANMETER_INVALID_OPTION');
}

/** The message of a caught error, or the thrown value as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** `values` when it is a Float64Array; else a TypeError naming the argument (a standalone histogram's `recordBatch`). */
export function float64Values(values: unknown): Float64Array {
  if (values instanceof Float64Array) return values;
  throw Object.assign(new TypeError(`spanmeter: recordBatch(values, len): values must be a Float64Array, got ${describe(values)}`), { code: 'SPANMETER_INVALID_ARGUMENT' });
}

/** `percentile` when it is a number (NaN included: it gives 0); else a TypeError naming the argument. */
export function percentileArgument(percentile: unknown): number {
  if (typeof percentile === 'number') return percentile;
  throw Object.assign(new TypeError(`spanmeter: valueAtPercentile(percentile): percentile must be a number, got ${describe(percentile)}`), {
    code: 'SPANMETER_INVALID_ARGUMENT',
  });
}

/** A standalone histogram's `merge` given one of the other back end, or something else. */
export function mergeMismatch(): TypeError {
  return Object.assign(new TypeError('spanmeter: can only merge histograms of the same back end'), { code: 'SPANMETER_INVALID_ARGUMENT' });
}

/** `describe`, naming an object's class when it is not a plain one ("a Map", "a URL https://…"). */
export function describeKind(value: unknown): string {
  if (value instanceof URL) return `a URL ${value.href.length > 60 ? `${value.href.slice(0, 60)}…` : value.href}`;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    if (typeof name === 'string' && name !== '' && name !== 'Object') return `a ${name}`;
  }
  return describe(value);
}

/** A webhook receiver's non-2xx answer; 408, 429 and 5xx are worth retrying. */
export interface WebhookStatusError extends SpanMeterError {
  readonly statusCode: number;
  readonly retryable: boolean;
}

/** A webhook receiver answered with a status other than 2xx. */
export function webhookStatus(statusCode: number): WebhookStatusError {
  const error = new SpanMeterError(`HTTP ${statusCode}`, 'SPANMETER_WEBHOOK_STATUS');
  return Object.assign(error, { statusCode, retryable: statusCode === 408 || statusCode === 429 || statusCode >= 500 });
}

export function isWebhookStatus(error: unknown): error is WebhookStatusError {
  return error instanceof SpanMeterError && error.code === 'SPANMETER_WEBHOOK_STATUS';
}

/** A webhook receiver did not answer within the timeout. */
export function webhookTimeout(timeoutMs: number): SpanMeterError {
  return new SpanMeterError(`no answer within ${timeoutMs} ms`, 'SPANMETER_WEBHOOK_TIMEOUT');
}

/** A task given to the worker pool after `shutdown()` closed it. */
export function poolClosed(): SpanMeterError {
  return new SpanMeterError('spanmeter: the worker pool is closed (shutdown() was called)', 'SPANMETER_POOL_CLOSED');
}

/** A `stats()` summary or an SLO evaluation took longer than `workerTimeoutMs` on the worker pool. */
export function workerTimeout(timeoutMs: number): SpanMeterError {
  return new SpanMeterError(
    `spanmeter: the worker pool gave no result within ${timeoutMs} ms (option workerTimeoutMs), waiting for a thread included; the worker running it, if any, is replaced`,
    'SPANMETER_WORKER_TIMEOUT',
  );
}

/** A task of a worker pool that was replaced because it was left without threads. */
export function poolRestarted(cause: string): SpanMeterError {
  return new SpanMeterError(
    `spanmeter: the worker pool was replaced (it was left without threads) while this task waited or ran (${cause}); the next call runs on the fresh pool`,
    'SPANMETER_POOL_RESTARTED',
  );
}
