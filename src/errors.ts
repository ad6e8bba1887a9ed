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

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
