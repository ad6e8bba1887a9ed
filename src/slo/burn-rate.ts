/**
 * Error-budget arithmetic of the Google SRE Workbook, "Alerting on SLOs".
 * `target` is the objective as a ratio (99.9% -> 0.999); budgets are occurrence based.
 */

/**
 * The burn rate at which a tier fires: spending `budgetConsumedPercent` of the
 * period's budget within the long window. 2% of 30d in 1h gives 14.4.
 */
export function burnRateThreshold(budgetConsumedPercent: number, periodMs: number, longWindowMs: number): number {
  return ((budgetConsumedPercent / 100) * periodMs) / longWindowMs;
}

/** How fast a window spends the budget: its bad ratio over the allowed ratio. 0 without events. */
export function burnRate(bad: number, total: number, target: number): number {
  if (total <= 0) return 0;
  return bad / total / (1 - target);
}

export interface ErrorBudget {
  /** Bad events the period allows: total x (1 - target). */
  totalEvents: number;
  consumedEvents: number;
  /** May be negative once the budget is exhausted. */
  remainingEvents: number;
  /** Consumed / allowed; equals the burn rate over the whole period. */
  consumedFraction: number;
  remainingFraction: number;
}

export function errorBudget(total: number, bad: number, target: number): ErrorBudget {
  const allowed = total * (1 - target);
  const consumedFraction = burnRate(bad, total, target);
  return {
    totalEvents: allowed,
    consumedEvents: bad,
    remainingEvents: allowed - bad,
    consumedFraction,
    remainingFraction: 1 - consumedFraction,
  };
}

/**
 * Time until the remaining budget is spent at `currentBurnRate` (a burn rate of 1
 * spends the whole budget in one period). 0 when it is already spent; null when
 * nothing is being spent.
 */
export function timeToExhaustionMs(remainingFraction: number, currentBurnRate: number, periodMs: number): number | null {
  if (remainingFraction <= 0) return 0;
  if (!(currentBurnRate > 0)) return null;
  return (remainingFraction * periodMs) / currentBurnRate;
}

/**
 * Detection time of a tier's long window for a sudden, constant error ratio on
 * steady traffic that was clean before: the time after which the long window's
 * burn rate exceeds `factor`. Null when the ratio never gets there.
 */
export function timeToFireMs(errorRatio: number, target: number, factor: number, longWindowMs: number): number | null {
  const burn = errorRatio / (1 - target);
  if (burn <= factor) return null;
  return (factor / burn) * longWindowMs;
}

/**
 * The nearest-rank position of percentile `q` among `total` values (1-based), with
 * the same rounding as the HDR histograms (docs/internals.md). The q-th percentile
 * exceeds a threshold exactly when fewer than this many values are at or below it.
 */
export function percentileRank(q: number, total: number): number {
  const fp = (Math.min(q, 100) / 100) * total;
  const ulp = fp === 0 ? 0 : 2 ** (Math.floor(Math.log2(fp)) - 52);
  return Math.max(Math.ceil(fp - ulp), 1);
}
