/**
 * `alerting:` — the evaluation loop, the multi-window multi-burn-rate tiers every
 * SLO gets, and alert rules over latency, errors, traffic and span attributes.
 */
import { boolean, duration, formatDuration, list, mapping, MAX_TIMER_MS, number, required, string, type ConfigPath, type Issues } from './schema';
import { percent, refuseReservedLabels, selectorConfig, stringMap, uniqueNames, type SelectorConfig } from './slo-common';

/** One burn-rate tier: fires when both windows burn the budget faster than its factor. */
export interface BurnRateTierConfig {
  name: string;
  /** `page` or `ticket` (or any severity label value). */
  severity: string;
  /** Percent of the SLO period's error budget that the long window may consume. */
  budgetConsumedPercent: number;
  longWindowMs: number;
  shortWindowMs: number;
  enabled: boolean;
}

export interface BurnRateConfig {
  /** Burn-rate alerts for every SLO (each SLO can opt out). */
  enabled: boolean;
  /** A tier fires only when its long window holds at least this many spans... */
  minEvents: number;
  /** ...and at least this many bad ones. */
  minBadEvents: number;
  forMs: number;
  keepFiringForMs: number;
  tiers: BurnRateTierConfig[];
}

export type RuleType = 'latency' | 'error_rate' | 'request_rate' | 'attribute';

export interface RuleConfig {
  /** The `alertname` label. */
  name: string;
  type: RuleType;
  selector: SelectorConfig;
  windowMs: number;
  /** latency: the percentile (0-100]. */
  percentile: number;
  /** attribute: the span attribute to count or sum. */
  attribute?: string;
  aggregate: 'count' | 'sum';
  /**
   * The threshold, in the rule's unit: latency in ms, error rate as a ratio (0..1),
   * request rate per second, attribute count or sum.
   */
  above?: number;
  below?: number;
  minEvents: number;
  forMs: number;
  keepFiringForMs: number;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AlertingConfig {
  evaluationIntervalMs: number;
  /** Transitions kept in the history ring. */
  historySize: number;
  burnRate: BurnRateConfig;
  rules: RuleConfig[];
}

/** The tiers of the Google SRE Workbook, "Alerting on SLOs", recommendation 6. */
export const DEFAULT_TIERS: readonly BurnRateTierConfig[] = [
  { name: 'page_1h', severity: 'page', budgetConsumedPercent: 2, longWindowMs: 3_600_000, shortWindowMs: 300_000, enabled: true },
  { name: 'page_6h', severity: 'page', budgetConsumedPercent: 5, longWindowMs: 21_600_000, shortWindowMs: 1_800_000, enabled: true },
  { name: 'ticket_1d', severity: 'ticket', budgetConsumedPercent: 10, longWindowMs: 86_400_000, shortWindowMs: 7_200_000, enabled: true },
  { name: 'ticket_3d', severity: 'ticket', budgetConsumedPercent: 10, longWindowMs: 259_200_000, shortWindowMs: 21_600_000, enabled: true },
];

/** Burn-rate windows are counted in slices that cover at most three days (see docs/slo-and-alerts.md). */
export const MAX_TIER_WINDOW_MS = 259_200_000;
/** Rule windows: at most one day. */
export const MAX_RULE_WINDOW_MS = 86_400_000;
/** request_rate and attribute windows: at least three 10 s slices, so that the pro-rated one weighs at most a third. */
export const MIN_ESTIMATED_WINDOW_MS = 30_000;

export const ALERTING_KEYS = ['evaluation_interval', 'history_size', 'burn_rate', 'rules'] as const;
const BURN_RATE_KEYS = ['enabled', 'min_events', 'min_bad_events', 'for', 'keep_firing_for', 'tiers'] as const;
const TIER_KEYS = ['name', 'severity', 'budget_consumed', 'long_window', 'short_window', 'enabled'] as const;
const RULE_KEYS = [
  'name',
  'type',
  'selector',
  'window',
  'percentile',
  'attribute',
  'aggregate',
  'above',
  'below',
  'min_events',
  'for',
  'keep_firing_for',
  'severity',
  'labels',
  'annotations',
] as const;
const RULE_TYPES: readonly RuleType[] = ['latency', 'error_rate', 'request_rate', 'attribute'];

/** Burn-rate tiers per validation run, for the `slos:` section to check its references against. */
const tiersOfRun = new WeakMap<Issues, readonly BurnRateTierConfig[]>();

/** Valid rules per validation run, with their key paths, for the `slos:` section's fingerprint check. */
const rulesOfRun = new WeakMap<Issues, readonly { rule: RuleConfig; path: ConfigPath }[]>();

export function rulesValidatedIn(issues: Issues): readonly { rule: RuleConfig; path: ConfigPath }[] {
  return rulesOfRun.get(issues) ?? [];
}

/** The tiers the `alerting:` section of this validation run defined (the defaults when it failed). */
export function tiersValidatedIn(issues: Issues): readonly BurnRateTierConfig[] {
  return tiersOfRun.get(issues) ?? DEFAULT_TIERS;
}

export function alertingSection(value: unknown, path: ConfigPath, issues: Issues, _env: NodeJS.ProcessEnv): AlertingConfig {
  const m = mapping(value, path, issues, ALERTING_KEYS);
  const burnRate = burnRateConfig(m.burn_rate, [...path, 'burn_rate'], issues);
  tiersOfRun.set(issues, burnRate.tiers);
  const rulesPath = [...path, 'rules'];
  const valid: { rule: RuleConfig; path: ConfigPath }[] = [];
  const rules = list(m.rules, rulesPath, issues, (item, at) => {
    const rule = ruleConfig(item, at, issues);
    if (rule !== undefined) valid.push({ rule, path: at });
    return rule;
  });
  rulesOfRun.set(issues, valid);
  uniqueNames(m.rules, rulesPath, issues, 'rule');
  return {
    evaluationIntervalMs: duration(m, 'evaluation_interval', path, issues, { minMs: 1000, maxMs: 600_000 }, 10_000),
    historySize: number(m, 'history_size', path, issues, { integer: true, min: 1, max: 10_000 }, 100),
    burnRate,
    rules,
  };
}

function burnRateConfig(value: unknown, path: ConfigPath, issues: Issues): BurnRateConfig {
  const m = mapping(value, path, issues, BURN_RATE_KEYS);
  let tiers: BurnRateTierConfig[] = DEFAULT_TIERS.map((t) => ({ ...t }));
  if (m.tiers !== undefined && m.tiers !== null) {
    const tiersPath = [...path, 'tiers'];
    tiers = list(m.tiers, tiersPath, issues, (item, at) => tierConfig(item, at, issues));
    uniqueNames(m.tiers, tiersPath, issues, 'tier');
  }
  return {
    enabled: boolean(m, 'enabled', path, issues, true),
    minEvents: number(m, 'min_events', path, issues, { integer: true, min: 0 }, 10),
    minBadEvents: number(m, 'min_bad_events', path, issues, { integer: true, min: 0 }, 2),
    forMs: duration(m, 'for', path, issues, { maxMs: MAX_TIMER_MS }, 0),
    keepFiringForMs: duration(m, 'keep_firing_for', path, issues, { maxMs: MAX_TIMER_MS }, 0),
    tiers,
  };
}

function tierConfig(item: unknown, path: ConfigPath, issues: Issues): BurnRateTierConfig | undefined {
  const m = mapping(item, path, issues, TIER_KEYS);
  const ok = [required(m, 'name', path, issues), required(m, 'budget_consumed', path, issues), required(m, 'long_window', path, issues), required(m, 'short_window', path, issues)];
  const name = string(m, 'name', path, issues, { nonEmpty: true });
  const budget = percent(m, 'budget_consumed', path, issues, { above: 0, max: 100 });
  const longMs = duration(m, 'long_window', path, issues, { minMs: 60_000, maxMs: MAX_TIER_WINDOW_MS });
  const shortMs = duration(m, 'short_window', path, issues, { minMs: 60_000, maxMs: MAX_TIER_WINDOW_MS });
  if (longMs !== undefined && shortMs !== undefined && shortMs >= longMs) {
    issues.add([...path, 'short_window'], `must be shorter than long_window (${formatDuration(longMs)}), got ${formatDuration(shortMs)}`);
    return undefined;
  }
  const severity = string(m, 'severity', path, issues, { nonEmpty: true }, 'page');
  const enabled = boolean(m, 'enabled', path, issues, true);
  if (ok.includes(false) || name === undefined || budget === undefined || longMs === undefined || shortMs === undefined) return undefined;
  return { name, severity, budgetConsumedPercent: budget, longWindowMs: longMs, shortWindowMs: shortMs, enabled };
}

function ruleConfig(item: unknown, path: ConfigPath, issues: Issues): RuleConfig | undefined {
  const m = mapping(item, path, issues, RULE_KEYS);
  const hasName = required(m, 'name', path, issues);
  const hasType = required(m, 'type', path, issues);
  const name = string(m, 'name', path, issues, { nonEmpty: true });
  const type = string(m, 'type', path, issues, { oneOf: RULE_TYPES }) as RuleType | undefined;
  const selector = selectorConfig(m.selector, [...path, 'selector'], issues);
  const windowMs = duration(m, 'window', path, issues, { minMs: 10_000, maxMs: MAX_RULE_WINDOW_MS }, 300_000);
  if ((type === 'request_rate' || type === 'attribute') && windowMs < MIN_ESTIMATED_WINDOW_MS) {
    issues.add([...path, 'window'], `must be at least 30s for ${type} rules (their value is estimated from 10s slices, one of them pro-rated), got ${formatDuration(windowMs)}`);
  }
  const percentile = number(m, 'percentile', path, issues, { above: 0, max: 100 }, 99);
  const aggregate = string(m, 'aggregate', path, issues, { oneOf: ['count', 'sum'] }, 'sum') as 'count' | 'sum';
  const attribute = string(m, 'attribute', path, issues, { nonEmpty: true });
  if (type === 'attribute' && aggregate === 'sum' && (m.attribute === undefined || m.attribute === null)) {
    issues.add([...path, 'attribute'], 'is required for an attribute rule that sums (aggregate: sum)');
  }
  if (type !== undefined && type !== 'latency' && m.percentile !== undefined) issues.add([...path, 'percentile'], 'only applies to latency rules');
  if (type !== undefined && type !== 'attribute') {
    if (m.attribute !== undefined) issues.add([...path, 'attribute'], 'only applies to attribute rules');
    if (m.aggregate !== undefined) issues.add([...path, 'aggregate'], 'only applies to attribute rules');
  }
  const above = threshold(m, 'above', type, aggregate, path, issues);
  const below = threshold(m, 'below', type, aggregate, path, issues);
  if (m.above !== undefined && m.below !== undefined) issues.add([...path, 'below'], 'give either above or below, not both');
  else if ((m.above === undefined || m.above === null) && (m.below === undefined || m.below === null)) issues.add([...path, 'above'], 'is required (or below)');
  const defaultMinEvents = type === 'latency' || type === 'error_rate' ? 10 : 0;
  const minEvents = number(m, 'min_events', path, issues, { integer: true, min: 0 }, defaultMinEvents);
  const forMs = duration(m, 'for', path, issues, { maxMs: MAX_TIMER_MS }, 0);
  const keepFiringForMs = duration(m, 'keep_firing_for', path, issues, { maxMs: MAX_TIMER_MS }, 0);
  const severity = string(m, 'severity', path, issues, { nonEmpty: true }, 'warning');
  const labels = stringMap(m.labels, [...path, 'labels'], issues, true);
  refuseReservedLabels(labels, [...path, 'labels'], issues, {
    alertname: "the rule's name",
    severity: `the rule's severity key (write severity: ${JSON.stringify(labels.severity ?? '')} beside labels)`,
  });
  const annotations = stringMap(m.annotations, [...path, 'annotations'], issues, false);
  if (!hasName || !hasType || name === undefined || type === undefined) return undefined;
  return { name, type, selector, windowMs, percentile, attribute, aggregate, above, below, minEvents, forMs, keepFiringForMs, severity, labels, annotations };
}

/**
 * A rule threshold in the rule type's unit: a duration, a percentage, or a number. Thresholds that
 * could never or would always fire are refused: a latency of 0, an error rate of 100% (nothing is
 * above it), a negative rate or count, a rate or count below 0 or below a negative number.
 */
function threshold(m: Record<string, unknown>, key: 'above' | 'below', type: RuleType | undefined, aggregate: 'count' | 'sum', path: ConfigPath, issues: Issues): number | undefined {
  if (m[key] === undefined || m[key] === null) return undefined;
  if (key === 'below' && (type === 'latency' || type === 'error_rate')) {
    issues.add([...path, key], `${type} rules alert above a threshold; use above`);
    return undefined;
  }
  switch (type) {
    case 'latency': {
      const ms = duration(m, key, path, issues, {});
      if (ms === 0) issues.add([...path, key], 'must be above 0 (every span takes at least 0)');
      return ms === 0 ? undefined : ms;
    }
    case 'error_rate': {
      const p = percent(m, key, path, issues, { min: 0, below: 100 });
      return p === undefined ? undefined : p / 100;
    }
    case 'request_rate':
    case 'attribute': {
      // a sum may be negative (refunds, deltas); a rate or a count is not
      if (type === 'attribute' && aggregate === 'sum') return number(m, key, path, issues, {});
      return number(m, key, path, issues, key === 'above' ? { min: 0 } : { above: 0 });
    }
    default:
      return undefined;
  }
}
