/**
 * Alert rules besides SLOs: latency percentile, error rate, request rate and
 * attribute count/sum over a window. Compiled on the event loop; evaluated by
 * the worker from the rule's counter ring.
 *
 * A latency rule "p99 over 5m above 500ms" is decided exactly, from counts, not
 * from a histogram: with n spans in the window, the p-th percentile (nearest rank
 * r = ceil(p/100 * n)) exceeds 500ms exactly when fewer than r spans took at most
 * 500ms. Its value is the fraction of spans slower than the threshold.
 */
import type { RuleConfig } from '../config/alerting-section';
import { ruleLabels } from '../config/alert-labels';
import { formatDuration } from '../config/schema';
import { percentileRank, ratioAbove } from '../slo/burn-rate';
import { sliceMsFor, slicesFor, type RingArena } from '../slo/counters';
import type { IngestTarget } from '../slo/ingest';
import type { PlanRule } from '../slo/plan';
import { compileSelector } from '../slo/selector';
import type { AlertCatalog, AlertValueUnit } from './catalog';

/** Slots in a rule's slice: tag, total, bad, sum. */
export const RULE_STRIDE = 4;

const UNITS: Record<RuleConfig['type'], AlertValueUnit> = { latency: 'ratio', error_rate: 'ratio', request_rate: 'per_second', attribute: 'count' };

export function compileRules(rules: readonly RuleConfig[], arena: RingArena, catalog: AlertCatalog): { plans: PlanRule[]; targets: IngestTarget[] } {
  const plans: PlanRule[] = [];
  const targets: IngestTarget[] = [];
  for (const rule of rules) {
    const sliceMs = sliceMsFor(rule.windowMs);
    const slices = slicesFor(rule.windowMs, sliceMs);
    // one slot more than the window's slices: request_rate and attribute rules pro-rate the oldest (ringEstimate)
    const ring = arena.allocate(slices + 1, sliceMs, RULE_STRIDE);
    const selector = compileSelector(rule.selector);
    const labels = ruleLabels(rule);
    const valueUnit: AlertValueUnit = rule.type === 'attribute' && rule.aggregate === 'sum' ? 'sum' : UNITS[rule.type];
    const alert = catalog.add({
      alertname: rule.name,
      labels,
      annotations: { summary: describeRule(rule), ...rule.annotations },
      forMs: rule.forMs,
      keepFiringForMs: rule.keepFiringForMs,
      severity: rule.severity,
      source: 'rule',
      group: -1,
      valueUnit,
    });
    plans.push({
      alert: alert.index,
      name: rule.name,
      type: rule.type,
      ring,
      windowMs: rule.windowMs,
      slices,
      percentile: rule.percentile,
      above: rule.above ?? null,
      below: rule.below ?? null,
      minEvents: rule.minEvents,
      aggregate: rule.aggregate,
      valueUnit,
    });
    targets.push({
      selector,
      errorIsBad: rule.type === 'error_rate',
      // Latency rules count the spans slower than the threshold, exactly.
      slowUs: rule.type === 'latency' && rule.above !== undefined ? Math.round(rule.above * 1e6) / 1e3 : Infinity,
      attribute: rule.type === 'attribute' ? rule.attribute : undefined,
      aggregate: rule.type === 'attribute' ? rule.aggregate : undefined,
      rings: [ring],
      alerts: [alert],
      services: new Set(),
    });
  }
  return { plans, targets };
}

/** A readable default `summary` annotation. */
export function describeRule(rule: RuleConfig): string {
  const window = formatDuration(rule.windowMs);
  const bound = rule.above !== undefined ? 'above' : 'below';
  const value = rule.above ?? rule.below ?? 0;
  switch (rule.type) {
    case 'latency':
      return `p${rule.percentile} latency over ${window} ${bound} ${formatDuration(value)}`;
    case 'error_rate':
      return `error rate over ${window} ${bound} ${round(value * 100)}%`;
    case 'request_rate':
      return `request rate over ${window} ${bound} ${value}/s`;
    case 'attribute':
      return `${rule.aggregate} of ${rule.attribute ?? 'matching spans'} over ${window} ${bound} ${value}`;
  }
}

/** Window counts of one rule: whole slices (`ringSums`) for latency and error rate, else estimated over the window (`ringEstimate`). */
export interface RuleWindow {
  total: number;
  bad: number;
  sum: number;
}

/**
 * Evaluates a rule. `runningMs` is how long counting has been going on: `below`
 * rules, which could fire on traffic that was never seen, wait for one full window.
 */
export function evaluateRule(rule: PlanRule, w: RuleWindow, runningMs: number): { active: boolean; value: number } {
  switch (rule.type) {
    case 'latency': {
      if (w.total === 0 || w.total < rule.minEvents || rule.above === null) return { active: false, value: w.total === 0 ? 0 : w.bad / w.total };
      const good = w.total - w.bad;
      return { active: good < percentileRank(rule.percentile, w.total), value: w.bad / w.total };
    }
    case 'error_rate': {
      const value = w.total === 0 ? 0 : w.bad / w.total;
      // in integers: 7 errors in 1000 is not above 0.7% (0.7 / 100 < 0.007 in floating point)
      const above = rule.above !== null && w.total > 0 && ratioAbove(w.bad, w.total, rule.above);
      return { active: above && w.total >= rule.minEvents, value };
    }
    case 'request_rate': {
      // over the time counted, but at least one slice: a first evaluation right after a flush is no spike
      const seconds = Math.min(rule.windowMs, Math.max(runningMs, rule.ring.sliceMs)) / 1000;
      const value = w.total / seconds;
      const warm = rule.below === null || runningMs >= rule.windowMs;
      return { active: warm && w.total >= rule.minEvents && compare(rule, value), value };
    }
    case 'attribute': {
      const value = rule.aggregate === 'sum' ? w.sum : w.total;
      const warm = rule.below === null || runningMs >= rule.windowMs;
      return { active: warm && w.total >= rule.minEvents && compare(rule, value), value };
    }
  }
}

function compare(rule: PlanRule, value: number): boolean {
  if (rule.above !== null) return value > rule.above;
  if (rule.below !== null) return value < rule.below;
  return false;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
