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

/**
 * A ratio as an exact fraction `num / den` of integers when it is a short decimal (0.007 -> 7/1000,
 * den a power of ten up to 10^9), so that comparisons at the boundary are exact: 0.7 / 100 is
 * 0.006999999999999999 in floating point, under 7 / 1000. Other ratios fall back to `ratio / 1`.
 */
export function decimalFraction(ratio: number): { num: number; den: number } {
  let cached = fractionCache.get(ratio);
  if (cached === undefined) {
    cached = { num: ratio, den: 1 };
    for (let den = 1; den <= 1e9; den *= 10) {
      const num = Math.round(ratio * den);
      // relative: floating-point noise, not digits (0.9999999 is not 1/1, nor 1e-7 0/1)
      if (Math.abs(ratio * den - num) < 1e-9 * Math.max(1, Math.abs(num))) {
        cached = { num, den };
        break;
      }
    }
    if (fractionCache.size > 1000) fractionCache.clear();
    fractionCache.set(ratio, cached);
  }
  return cached;
}
const fractionCache = new Map<number, { num: number; den: number }>();

/**
 * The allowed bad ratio `1 - target` as an exact fraction (99.9% -> 1/1000, 99.95% -> 5/10000), so
 * that a window exactly at its objective is exactly at it: `1 - 0.999` is 0.0010000000000000009 in
 * floating point, which made 1 bad span in 1000 against 99.9% "breached".
 */
export function allowedBadRatio(target: number): { num: number; den: number } {
  let cached = ratioCache.get(target);
  if (cached === undefined) {
    const { num, den } = decimalFraction(target);
    cached = den === 1 ? { num: 1 - target, den: 1 } : { num: den - num, den };
    if (ratioCache.size > 1000) ratioCache.clear();
    ratioCache.set(target, cached);
  }
  return cached;
}
const ratioCache = new Map<number, { num: number; den: number }>();

/** Whether `part / whole` exceeds `ratio`, exactly (in integers) while the products are safe integers. */
export function ratioAbove(part: number, whole: number, ratio: number): boolean {
  const { num, den } = decimalFraction(ratio);
  const left = part * den;
  const right = whole * num;
  if (Number.isSafeInteger(left) && Number.isSafeInteger(right)) return left > right;
  return part / whole > ratio;
}

/**
 * `bad x den` and `total x num` (so `bad / total` against `num / den`), exact while both are safe
 * integers; otherwise in floating point with residues below 1e-9 of the allowance snapped to equality.
 */
function scaled(bad: number, total: number, target: number): { badScaled: number; allowedScaled: number; den: number } {
  const { num, den } = allowedBadRatio(target);
  const badScaled = bad * den;
  const allowedScaled = total * num;
  if (Number.isSafeInteger(badScaled) && Number.isSafeInteger(allowedScaled)) return { badScaled, allowedScaled, den };
  const equal = Math.abs(badScaled - allowedScaled) <= 1e-9 * Math.abs(allowedScaled);
  return { badScaled: equal ? allowedScaled : badScaled, allowedScaled, den };
}

/** How fast a window spends the budget: its bad ratio over the allowed ratio. 0 without events. */
export function burnRate(bad: number, total: number, target: number): number {
  if (total <= 0) return 0;
  const { badScaled, allowedScaled } = scaled(bad, total, target);
  return badScaled / allowedScaled;
}

export interface ErrorBudget {
  /** Bad events the period allows: total x (1 - target). */
  totalEvents: number;
  consumedEvents: number;
  /** May be negative once the budget is exhausted; exactly 0 at the objective. */
  remainingEvents: number;
  /** Consumed / allowed; equals the burn rate over the whole period. */
  consumedFraction: number;
  /** Negative exactly when the SLI is below the target. */
  remainingFraction: number;
}

export function errorBudget(total: number, bad: number, target: number): ErrorBudget {
  if (total <= 0) {
    return { totalEvents: 0, consumedEvents: bad, remainingEvents: -bad, consumedFraction: 0, remainingFraction: 1 };
  }
  const { badScaled, allowedScaled, den } = scaled(bad, total, target);
  return {
    totalEvents: allowedScaled / den,
    consumedEvents: bad,
    remainingEvents: (allowedScaled - badScaled) / den,
    consumedFraction: badScaled / allowedScaled,
    remainingFraction: (allowedScaled - badScaled) / allowedScaled,
  };
}

/**
 * Time until the remaining budget is spent if the last `windowMs` (`bad` of `total` events) goes on.
 * Budgets are occurrence based, so the budget grows with the traffic, by `total x (1 - target)` a
 * window, while `bad` a window spend it: it lasts `remainingEvents / (bad - total x (1 - target))`
 * windows, i.e. `remainingEvents / ((burn - 1) x (1 - target) x total)`. 0 when already spent; null
 * when the burn rate is at most 1 (the budget grows at least as fast as it is spent).
 */
export function timeToExhaustionMs(remainingEvents: number, bad: number, total: number, target: number, windowMs: number): number | null {
  if (remainingEvents <= 0) return 0;
  if (!(total > 0)) return null;
  // exact integers where possible, so that a window at exactly burn rate 1 gives null, not a huge time
  const { badScaled, allowedScaled, den } = scaled(bad, total, target);
  const netScaled = badScaled - allowedScaled; // (bad - allowed) x den per window
  if (!(netScaled > 0)) return null;
  return (remainingEvents * den * windowMs) / netScaled;
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
