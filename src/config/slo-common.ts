/**
 * Validators shared by the `slos:`, `alerting:` and `notifiers:` sections:
 * span selectors, label maps, percentages and name lists.
 */
import type { SpanKindName } from '../report';
import { isPlainObject, mapping, quoted, type ConfigPath, type Issues } from './schema';

/** Which spans an SLO or a rule looks at. Globs use `*` (any run) and `?` (one character). */
export interface SelectorConfig {
  /** `service.name` glob; `*` matches every service. */
  service: string;
  /** Span name glob. */
  spanName: string;
  /** Span kinds; empty means any kind. */
  spanKinds: SpanKindName[];
  /** Attributes a span must carry, with exactly these values. */
  attributes: Record<string, string | number | boolean>;
}

export const SELECTOR_KEYS = ['service', 'span_name', 'span_kind', 'attributes'] as const;
const KINDS: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];

export function selectorConfig(value: unknown, path: ConfigPath, issues: Issues): SelectorConfig {
  const m = mapping(value, path, issues, SELECTOR_KEYS);
  return {
    service: globString(m, 'service', path, issues),
    spanName: globString(m, 'span_name', path, issues),
    spanKinds: spanKinds(m.span_kind, [...path, 'span_kind'], issues),
    attributes: attributeMatches(m.attributes, [...path, 'attributes'], issues),
  };
}

function globString(m: Record<string, unknown>, key: string, path: ConfigPath, issues: Issues): string {
  const value = m[key];
  if (value === undefined || value === null) return '*';
  if (typeof value !== 'string' || value === '') {
    issues.add([...path, key], `must be a non-empty string (a glob such as "checkout" or "GET /api/*"), got ${quoted(value)}`);
    return '*';
  }
  return value;
}

function spanKinds(value: unknown, path: ConfigPath, issues: Issues): SpanKindName[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: SpanKindName[] = [];
  items.forEach((item, i) => {
    const at = Array.isArray(value) ? [...path, i] : path;
    if (typeof item !== 'string' || !(KINDS as readonly string[]).includes(item)) {
      issues.add(at, `must be one of ${KINDS.join(', ')} (or a list of them), got ${quoted(item)}`);
    } else if (!out.includes(item as SpanKindName)) {
      out.push(item as SpanKindName);
    }
  });
  return out;
}

function attributeMatches(value: unknown, path: ConfigPath, issues: Issues): Record<string, string | number | boolean> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.add(path, 'must be a mapping of attribute name to value');
    return {};
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[key] = v;
    else issues.add([...path, key], `must be a string, number or boolean, got ${quoted(v)}`);
  }
  return out;
}

/** A mapping of label (or annotation) names to string values. */
/**
 * Refuses labels that the alert sets itself (they were overwritten without a
 * word: `labels: { severity: critical }` on a rule became severity "warning").
 * `reserved`: label name -> where its value comes from.
 */
export function refuseReservedLabels(labels: Record<string, string>, path: ConfigPath, issues: Issues, reserved: Record<string, string>): void {
  for (const [name, from] of Object.entries(reserved)) {
    if (labels[name] !== undefined) issues.add([...path, name], `is set by the alert itself: ${from}`);
  }
}

export function stringMap(value: unknown, path: ConfigPath, issues: Issues, labelNames: boolean): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.add(path, 'must be a mapping of names to strings');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (labelNames && !LABEL_NAME.test(key)) {
      issues.add([...path, key], 'is not a valid label name (letters, digits and _, not starting with a digit)');
      continue;
    }
    if (labelNames && key.startsWith('__')) {
      issues.add([...path, key], 'is reserved: label names starting with __ are for internal use (Prometheus drops or refuses them)');
      continue;
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else issues.add([...path, key], `must be a string, got ${quoted(v)}`);
  }
  return out;
}

/** Prometheus label names. */
export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A percentage written as a number of percent (`99.9`) or a string (`"99.9%"`).
 * Returns the percent value, bounds checked as percent.
 */
export function percent(
  obj: Record<string, unknown>,
  key: string,
  path: ConfigPath,
  issues: Issues,
  rule: { above?: number; below?: number; min?: number; max?: number },
): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const at = [...path, key];
  let n: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) n = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(value)) n = Number(value.trim().slice(0, -1));
  if (n === undefined) {
    issues.add(at, `must be a percentage such as 99.9 or "99.9%", got ${quoted(value)}`);
    return undefined;
  }
  const problems: string[] = [];
  if (rule.above !== undefined && n <= rule.above) problems.push(`> ${rule.above}`);
  if (rule.min !== undefined && n < rule.min) problems.push(`>= ${rule.min}`);
  if (rule.below !== undefined && n >= rule.below) problems.push(`< ${rule.below}`);
  if (rule.max !== undefined && n > rule.max) problems.push(`<= ${rule.max}`);
  if (problems.length > 0) {
    issues.add(at, `must be ${problems.join(' and ')} (percent), got ${quoted(value)}`);
    return undefined;
  }
  return n;
}

/** A list of strings (a single string is accepted as a list of one). */
export function stringList(value: unknown, path: ConfigPath, issues: Issues, check?: (s: string) => string | undefined): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  items.forEach((item, i) => {
    const at = Array.isArray(value) ? [...path, i] : path;
    if (typeof item !== 'string' || item === '') {
      issues.add(at, `must be a non-empty string, got ${quoted(item)}`);
      return;
    }
    const problem = check?.(item);
    if (problem !== undefined) issues.add(at, problem);
    else out.push(item);
  });
  return out;
}

/** Reports every `name` used twice in a raw list of mappings, at the second use. */
export function uniqueNames(rawList: unknown, listPath: ConfigPath, issues: Issues, what: string): void {
  if (!Array.isArray(rawList)) return;
  const seen = new Set<string>();
  rawList.forEach((item, i) => {
    const name = isPlainObject(item) ? item.name : undefined;
    if (typeof name !== 'string') return;
    if (seen.has(name)) issues.add([...listPath, i, 'name'], `duplicate ${what} name ${JSON.stringify(name)}`);
    seen.add(name);
  });
}
