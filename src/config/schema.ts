/**
 * Small validators for configuration sections. They read plain objects (from YAML
 * or code), collect every problem with its key path, and never throw; the loader
 * turns paths into file:line positions.
 */
import { describe } from '../errors';

export type ConfigPath = readonly (string | number)[];

export interface ConfigIssue {
  path: ConfigPath;
  message: string;
}

/** Collects the problems of one configuration. */
export class Issues {
  readonly list: ConfigIssue[] = [];
  add(path: ConfigPath, message: string): void {
    this.list.push({ path: [...path], message });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

/** `slos[0].objective` style rendering of a path. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(root)' : out;
}

/**
 * An object literal (or `Object.create(null)`, or one from another realm):
 * not an array, a Map, a URL or a class instance, whose fields a config
 * would otherwise ignore without a word.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** A value's type and value for a message ("number 42", "a mapping"); never throws (cycles, BigInts). */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${describe(value)}`;
}

/** A value for a message: a string quoted, a number as written (Infinity too), else its type; never throws. */
export function quoted(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? describe(value) : typeName(value);
}

/**
 * Checks that `value` is a mapping with only `allowed` keys. Returns the mapping
 * (or an empty one after reporting the problem).
 */
export function mapping(value: unknown, path: ConfigPath, issues: Issues, allowed: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.add(path, `must be a mapping, got ${typeName(value)}`);
    return {};
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const hint = closest(key, allowed);
      issues.add([...path, key], `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`);
    }
  }
  return value;
}

/** A list; each element is checked by `item`. */
export function list<T>(value: unknown, path: ConfigPath, issues: Issues, item: (element: unknown, path: ConfigPath) => T | undefined): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.add(path, `must be a list, got ${typeName(value)}`);
    return [];
  }
  const out: T[] = [];
  value.forEach((element, i) => {
    const checked = item(element, [...path, i]);
    if (checked !== undefined) out.push(checked);
  });
  return out;
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** exclusive lower bound */
  above?: number;
  /** exclusive upper bound */
  below?: number;
  integer?: boolean;
}

export function number(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, rule: NumberRule, fallback: number): number;
export function number(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, rule: NumberRule): number | undefined;
export function number(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, rule: NumberRule, fallback?: number): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  const at = [...path, key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.add(at, `must be a number, got ${typeName(value)}`);
    return fallback;
  }
  const problems: string[] = [];
  if (rule.integer && !Number.isInteger(value)) problems.push('an integer');
  if (rule.min !== undefined && value < rule.min) problems.push(`>= ${rule.min}`);
  if (rule.max !== undefined && value > rule.max) problems.push(`<= ${rule.max}`);
  if (rule.above !== undefined && value <= rule.above) problems.push(`> ${rule.above}`);
  if (rule.below !== undefined && value >= rule.below) problems.push(`< ${rule.below}`);
  if (problems.length > 0) {
    issues.add(at, `must be ${problems.join(' and ')}, got ${value}`);
    return fallback;
  }
  return value;
}

export function string(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, options: { oneOf?: readonly string[]; nonEmpty?: boolean }, fallback: string): string;
export function string(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, options?: { oneOf?: readonly string[]; nonEmpty?: boolean }): string | undefined;
export function string(
  obj: Record<string, unknown>,
  key: string,
  path: ConfigPath,
  issues: Issues,
  options: { oneOf?: readonly string[]; nonEmpty?: boolean } = {},
  fallback?: string,
): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  const at = [...path, key];
  if (typeof value !== 'string') {
    issues.add(at, `must be a string, got ${typeName(value)}`);
    return fallback;
  }
  if (options.nonEmpty && value.trim() === '') {
    issues.add(at, 'must not be empty');
    return fallback;
  }
  if (options.oneOf && !options.oneOf.includes(value)) {
    issues.add(at, `must be one of ${options.oneOf.join(', ')}, got ${quoted(value)}`);
    return fallback;
  }
  return value;
}

export function boolean(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    issues.add([...path, key], `must be true or false, got ${typeName(value)}`);
    return fallback;
  }
  return value;
}

/** Reports a missing required key. Returns whether it is present. */
export function required(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues): boolean {
  if (obj[key] === undefined || obj[key] === null) {
    issues.add([...path, key], 'is required');
    return false;
  }
  return true;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses "250ms", "30s", "5m", "1h", "30d", "1h30m" into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
  let total = 0;
  let at = 0;
  while (at < trimmed.length) {
    re.lastIndex = at;
    const m = re.exec(trimmed);
    if (m === null) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    at = re.lastIndex;
  }
  return total;
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days; beyond, they fire after 1 ms): the bound of every timer-like duration. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration given as a string ("30s", "5m", "30d") or a number of milliseconds. */
export function duration(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, rule: { minMs?: number; maxMs?: number }, fallback: number): number;
export function duration(obj: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues, rule?: { minMs?: number; maxMs?: number }): number | undefined;
export function duration(
  obj: Record<string, unknown>,
  key: string,
  path: ConfigPath,
  issues: Issues,
  rule: { minMs?: number; maxMs?: number } = {},
  fallback?: number,
): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  const at = [...path, key];
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) ms = value;
  else if (typeof value === 'string') ms = parseDuration(value);
  if (ms === undefined) {
    issues.add(at, `must be a duration such as "500ms", "30s", "5m", "1h" or "30d", got ${typeName(value)}`);
    return fallback;
  }
  if (rule.minMs !== undefined && ms < rule.minMs) {
    issues.add(at, `must be at least ${formatDuration(rule.minMs)}, got ${quoted(value)}`);
    return fallback;
  }
  if (rule.maxMs !== undefined && ms > rule.maxMs) {
    issues.add(at, `must be at most ${formatDuration(rule.maxMs)}, got ${quoted(value)}`);
    return fallback;
  }
  return ms;
}

/** Renders milliseconds with the largest unit that divides them. */
export function formatDuration(ms: number): string {
  // days at most, as the docs write windows ("28d", not "4w")
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The allowed name within two edits of `key` (case aside), for a "did you mean" hint. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
