/**
 * `slos:` — service level objectives over the spans a selector picks. Field names
 * follow OpenSLO and Sloth: objective, time_window, budgeting_method, indicator.
 */
import { rulesValidatedIn, tiersValidatedIn } from './alerting-section';
import { labelSetKey, ruleLabels, tierLabels } from './alert-labels';
import { boolean, duration, formatDuration, list, mapping, MAX_TIMER_MS, number, required, string, type ConfigPath, type Issues } from './schema';
import { percent, selectorConfig, refuseReservedLabels, stringList, stringMap, uniqueNames, type SelectorConfig } from './slo-common';

export type IndicatorType = 'availability' | 'latency' | 'latency_and_availability';

export interface SloAlertingConfig {
  /** Burn-rate alerts for this SLO (when `alerting.burn_rate.enabled`). */
  enabled: boolean;
  /** The `alertname` label of this SLO's burn-rate alerts. */
  name: string;
  /** Tier names (of `alerting.burn_rate.tiers`) this SLO does not alert on. */
  disabledTiers: string[];
  /** Overrides of the `alerting.burn_rate` guards and timers; undefined = inherit. */
  minEvents?: number;
  minBadEvents?: number;
  forMs?: number;
  keepFiringForMs?: number;
  annotations: Record<string, string>;
}

export interface SloConfig {
  name: string;
  description: string;
  selector: SelectorConfig;
  indicator: IndicatorType;
  /** Latency indicators: a span is good when its duration is at most this. */
  latencyThresholdMs?: number;
  /** Percent, e.g. 99.9. */
  objective: number;
  /** Rolling window. */
  timeWindowMs: number;
  budgetingMethod: 'occurrences';
  /** Compliance is `at_risk` when less than this percent of the budget remains (or a burn-rate tier's condition holds). */
  atRiskBelowPercent: number;
  labels: Record<string, string>;
  alerting: SloAlertingConfig;
}

export const SLO_KEYS = [
  'name',
  'description',
  'selector',
  'indicator',
  'objective',
  'time_window',
  'budgeting_method',
  'at_risk_below',
  'labels',
  'alerting',
] as const;
const INDICATOR_KEYS = ['type', 'latency_threshold'] as const;
const SLO_ALERTING_KEYS = ['enabled', 'name', 'disabled_tiers', 'min_events', 'min_bad_events', 'for', 'keep_firing_for', 'annotations'] as const;
const INDICATORS: readonly IndicatorType[] = ['availability', 'latency', 'latency_and_availability'];
/** The longest rolling window: its counts are kept in one-hour slices. */
export const MAX_TIME_WINDOW_MS = 90 * 86_400_000;

/** Whether `alerting.burn_rate.enabled` is on, per validation run (set by the loader once `alerting:` is validated). */
const burnRateAlertingOfRun = new WeakMap<Issues, boolean>();

export function noteBurnRateAlerting(issues: Issues, enabled: boolean): void {
  burnRateAlertingOfRun.set(issues, enabled);
}

/** Validates `slos:`. Runs after `alerting:` (see sections.ts) so that tier references can be checked. */
export function slosSection(value: unknown, path: ConfigPath, issues: Issues, _env: NodeJS.ProcessEnv): SloConfig[] {
  const slos = list(value, path, issues, (item, at) => sloConfig(item, at, issues));
  uniqueNames(value, path, issues, 'SLO');
  if (burnRateAlertingOfRun.get(issues) !== false) refuseSharedLabels(slos, issues);
  return slos;
}

/** A rule whose labels equal a burn-rate tier alert's would share its fingerprint: refused, at the rule. */
function refuseSharedLabels(slos: readonly SloConfig[], issues: Issues): void {
  const tierOf = new Map<string, string>();
  for (const slo of slos) {
    if (!slo.alerting.enabled) continue;
    for (const tier of tiersValidatedIn(issues)) {
      if (!tier.enabled || slo.alerting.disabledTiers.includes(tier.name)) continue;
      tierOf.set(labelSetKey(slo.alerting.name, tierLabels(slo, tier)), `SLO "${slo.name}", tier ${tier.name}`);
    }
  }
  for (const { rule, path } of rulesValidatedIn(issues)) {
    const tier = tierOf.get(labelSetKey(rule.name, ruleLabels(rule)));
    if (tier !== undefined) {
      issues.add([...path, 'labels'], `with the rule's name and severity, give the same labels (so the same fingerprint) as the burn-rate alert of ${tier}; alerts must differ in at least one label`);
    }
  }
}

function sloConfig(item: unknown, path: ConfigPath, issues: Issues): SloConfig | undefined {
  const m = mapping(item, path, issues, SLO_KEYS);
  const hasName = required(m, 'name', path, issues);
  const hasObjective = required(m, 'objective', path, issues);
  const name = string(m, 'name', path, issues, { nonEmpty: true });
  const description = string(m, 'description', path, issues, {}, '');
  const selector = selectorConfig(m.selector, [...path, 'selector'], issues);
  const { indicator, latencyThresholdMs } = indicatorConfig(m.indicator, [...path, 'indicator'], issues);
  const objective = percent(m, 'objective', path, issues, { above: 0, below: 100 });
  // 0.999 is a ratio (OpenSLO's target), not an objective of 0.999%, which nothing would ever breach
  if (objective !== undefined && objective <= 1 && typeof m.objective === 'number') {
    issues.add([...path, 'objective'], `is in percent: ${m.objective} means ${m.objective}%; for a ratio of ${m.objective} write ${Number((m.objective * 100).toPrecision(12))}% (a bare number of 1 or less is taken for a ratio written by mistake; write "${m.objective}%" if you mean it)`);
  }
  const timeWindowMs = duration(m, 'time_window', path, issues, { minMs: 3_600_000, maxMs: MAX_TIME_WINDOW_MS }, 30 * 86_400_000);
  string(m, 'budgeting_method', path, issues, { oneOf: ['occurrences'] });
  const atRiskBelowPercent = percent(m, 'at_risk_below', path, issues, { min: 0, max: 100 }) ?? 25;
  const labels = stringMap(m.labels, [...path, 'labels'], issues, true);
  refuseReservedLabels(labels, [...path, 'labels'], issues, {
    alertname: "the SLO's alerting.name (default SLOErrorBudgetBurn)",
    slo: "the SLO's name",
    severity: "the burn-rate tier's severity (alerting.burn_rate.tiers[].severity)",
    tier: "the burn-rate tier's name",
  });
  const alerting = sloAlertingConfig(m.alerting, [...path, 'alerting'], issues, timeWindowMs);
  if (!hasName || !hasObjective || name === undefined || objective === undefined || indicator === undefined) return undefined;
  return {
    name,
    description,
    selector,
    indicator,
    latencyThresholdMs,
    objective,
    timeWindowMs,
    budgetingMethod: 'occurrences',
    atRiskBelowPercent,
    labels,
    alerting,
  };
}

function indicatorConfig(value: unknown, path: ConfigPath, issues: Issues): { indicator?: IndicatorType; latencyThresholdMs?: number } {
  // `indicator: availability` is accepted as a short form.
  if (typeof value === 'string') value = { type: value };
  if (value === undefined || value === null) {
    issues.add(path, `is required (type: ${INDICATORS.join(' | ')})`);
    return {};
  }
  const m = mapping(value, path, issues, INDICATOR_KEYS);
  if (!required(m, 'type', path, issues)) return {};
  const indicator = string(m, 'type', path, issues, { oneOf: INDICATORS }) as IndicatorType | undefined;
  const latencyThresholdMs = duration(m, 'latency_threshold', path, issues, { minMs: 0.001 });
  if (indicator === 'availability' && m.latency_threshold !== undefined) {
    issues.add([...path, 'latency_threshold'], 'only applies to latency indicators (type: latency or latency_and_availability)');
  }
  if ((indicator === 'latency' || indicator === 'latency_and_availability') && (m.latency_threshold === undefined || m.latency_threshold === null)) {
    issues.add([...path, 'latency_threshold'], `is required for type ${indicator}`);
    return {};
  }
  return { indicator, latencyThresholdMs };
}

function sloAlertingConfig(value: unknown, path: ConfigPath, issues: Issues, timeWindowMs: number): SloAlertingConfig {
  const m = mapping(value, path, issues, SLO_ALERTING_KEYS);
  const tiers = tiersValidatedIn(issues);
  const names = tiers.map((t) => t.name);
  const disabledTiers = stringList(m.disabled_tiers, [...path, 'disabled_tiers'], issues, (s) =>
    names.includes(s) ? undefined : `unknown tier ${JSON.stringify(s)}; tiers: ${names.join(', ')}`,
  );
  const enabled = boolean(m, 'enabled', path, issues, true);
  // With burn-rate alerts off globally no tier runs, so no tier constrains the time window.
  if (enabled && burnRateAlertingOfRun.get(issues) !== false) {
    for (const tier of tiers) {
      if (!tier.enabled || disabledTiers.includes(tier.name) || tier.longWindowMs <= timeWindowMs) continue;
      issues.add(
        [...path.slice(0, -1), 'time_window'],
        `is shorter than the long window of burn-rate tier ${tier.name} (${formatDuration(tier.longWindowMs)}); disable the tier with alerting.disabled_tiers: [${tier.name}]`,
      );
    }
  }
  return {
    enabled,
    name: string(m, 'name', path, issues, { nonEmpty: true }, 'SLOErrorBudgetBurn'),
    disabledTiers,
    minEvents: number(m, 'min_events', path, issues, { integer: true, min: 0 }),
    minBadEvents: number(m, 'min_bad_events', path, issues, { integer: true, min: 0 }),
    forMs: duration(m, 'for', path, issues, { maxMs: MAX_TIMER_MS }),
    keepFiringForMs: duration(m, 'keep_firing_for', path, issues, { maxMs: MAX_TIMER_MS }),
    annotations: stringMap(m.annotations, [...path, 'annotations'], issues, false),
  };
}
