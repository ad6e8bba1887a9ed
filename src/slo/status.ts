/**
 * SLO status for `stats().slos`, from an SLO's window sums (computed by the worker).
 */
import { formatDuration } from '../config/schema';
import type { BurnRateTierStatus, SloStatus } from '../report';
import { burnRate, errorBudget, timeToExhaustionMs } from './burn-rate';
import { BURN_WINDOWS, EXHAUSTION_WINDOW, PERIOD_WINDOW, type PlanSlo } from './plan';

/** Reads the total and bad count of window `w` of an SLO. */
export type WindowReader = (w: number) => { total: number; bad: number };

export function sloStatus(slo: PlanSlo, read: WindowReader, tierActive: readonly boolean[]): SloStatus {
  const period = read(PERIOD_WINDOW);
  const budget = errorBudget(period.total, period.bad, slo.target);
  const burnRates = {} as SloStatus['burnRates'];
  BURN_WINDOWS.forEach(([name], w) => {
    const { total, bad } = read(w);
    burnRates[name] = total === 0 ? null : burnRate(bad, total, slo.target);
  });
  const [, exhaustionWindowMs] = BURN_WINDOWS[EXHAUSTION_WINDOW];
  const current = read(EXHAUSTION_WINDOW);
  const tiers: BurnRateTierStatus[] = slo.tiers.map((tier, i) => {
    const long = read(tier.long);
    const short = read(tier.short);
    return {
      tier: tier.name,
      severity: tier.severity,
      budgetConsumedPercent: tier.budgetConsumedPercent,
      longWindow: formatDuration(tier.longWindowMs),
      shortWindow: formatDuration(tier.shortWindowMs),
      threshold: tier.factor,
      longBurnRate: long.total === 0 ? null : burnRate(long.bad, long.total, slo.target),
      shortBurnRate: short.total === 0 ? null : burnRate(short.bad, short.total, slo.target),
      conditionMet: tierActive[i] === true,
    };
  });
  const hasData = period.total > 0;
  const breached = hasData && budget.remainingFraction < 0;
  const atRisk = hasData && (budget.remainingFraction < slo.atRiskBelow || tierActive.some(Boolean));
  return {
    name: slo.name,
    description: slo.description,
    service: slo.service,
    indicator: slo.indicator,
    latencyThresholdMs: slo.latencyThresholdMs,
    objective: slo.objective,
    timeWindow: formatDuration(slo.periodMs),
    budgetingMethod: 'occurrences',
    labels: slo.labels,
    events: { total: period.total, good: period.total - period.bad, bad: period.bad },
    sli: hasData ? (period.total - period.bad) / period.total : null,
    compliance: breached ? 'breached' : atRisk ? 'at_risk' : 'met',
    errorBudget: budget,
    burnRates,
    timeToExhaustionMs: hasData ? timeToExhaustionMs(budget.remainingEvents, current.bad, current.total, slo.target, exhaustionWindowMs) : null,
    tiers,
  };
}
