// The error-budget arithmetic of the Google SRE Workbook, "Alerting on SLOs".
import test from 'ava';
import { burnRate, burnRateThreshold, DEFAULT_TIERS, errorBudget, timeToExhaustionMs, timeToFireMs } from 'spanmeter';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const close = (t, actual, expected, what) => t.true(Math.abs(actual - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

test('the default tiers are the Workbook table: 2%/1h/5m, 5%/6h/30m page; 10%/1d/2h, 10%/3d/6h ticket', (t) => {
  t.deepEqual(
    DEFAULT_TIERS.map((tier) => [tier.name, tier.severity, tier.budgetConsumedPercent, tier.longWindowMs, tier.shortWindowMs]),
    [
      ['page_1h', 'page', 2, HOUR, 5 * MINUTE],
      ['page_6h', 'page', 5, 6 * HOUR, 30 * MINUTE],
      ['ticket_1d', 'ticket', 10, DAY, 2 * HOUR],
      ['ticket_3d', 'ticket', 10, 3 * DAY, 6 * HOUR],
    ],
  );
});

test('burn-rate thresholds: budget% x period / long window gives 14.4, 6, 3, 1 for 30 days', (t) => {
  const factors = DEFAULT_TIERS.map((tier) => burnRateThreshold(tier.budgetConsumedPercent, 30 * DAY, tier.longWindowMs));
  [14.4, 6, 3, 1].forEach((expected, i) => close(t, factors[i], expected, DEFAULT_TIERS[i].name));
  // A 28-day period scales them: 13.44, 5.6, 2.8, 0.933...
  const f28 = DEFAULT_TIERS.map((tier) => burnRateThreshold(tier.budgetConsumedPercent, 28 * DAY, tier.longWindowMs));
  [13.44, 5.6, 2.8, 28 / 30].forEach((expected, i) => close(t, f28[i], expected, `28d ${DEFAULT_TIERS[i].name}`));
});

test('a tier at its threshold consumes exactly its budget share over its long window', (t) => {
  for (const tier of DEFAULT_TIERS) {
    const factor = burnRateThreshold(tier.budgetConsumedPercent, 30 * DAY, tier.longWindowMs);
    // Budget consumed = burn rate x window / period.
    close(t, (factor * tier.longWindowMs) / (30 * DAY), tier.budgetConsumedPercent / 100, tier.name);
  }
});

test('burn rate is the bad ratio over the allowed ratio', (t) => {
  close(t, burnRate(1, 1000, 0.999), 1, '0.1% bad on 99.9%');
  close(t, burnRate(150, 1000, 0.999), 150, '15% bad on 99.9%');
  close(t, burnRate(1000, 1000, 0.999), 1000, 'outage on 99.9%');
  close(t, burnRate(5, 1000, 0.99), 0.5, '0.5% bad on 99%');
  t.is(burnRate(0, 0, 0.999), 0);
});

test('time to fire of the 1h tier (threshold 14.4) for a range of error ratios', (t) => {
  // Long window 1h must reach 14.4 x 0.1%: t = 14.4 x 0.001 / ratio x 1h.
  const table = [
    [1.0, 51.84 * 1000],
    [0.5, 103.68 * 1000],
    [0.15, 345.6 * 1000],
    [0.05, 1036.8 * 1000],
    [0.02, 2592 * 1000],
  ];
  for (const [ratio, expectedMs] of table) close(t, timeToFireMs(ratio, 0.999, 14.4, HOUR), expectedMs, `ratio ${ratio}`);
  // At 1% the burn rate (10) never reaches 14.4: the 6h tier (threshold 6) catches it, after 3.6 h.
  t.is(timeToFireMs(0.01, 0.999, 14.4, HOUR), null);
  close(t, timeToFireMs(0.01, 0.999, 6, 6 * HOUR), 3.6 * HOUR, 'ratio 1% on the 6h tier');
});

test('error budget: allowed, consumed and remaining, in events and as fractions', (t) => {
  const b = errorBudget(1_000_000, 250, 0.999);
  close(t, b.totalEvents, 1000, 'allowed');
  t.is(b.consumedEvents, 250);
  close(t, b.remainingEvents, 750, 'remaining events');
  close(t, b.consumedFraction, 0.25, 'consumed');
  close(t, b.remainingFraction, 0.75, 'remaining');
  const over = errorBudget(1000, 3, 0.999);
  t.true(over.remainingFraction < 0, 'an exhausted budget goes negative');
});

test('time to exhaustion: the remaining budget over what the last hour spends net of the budget it adds', (t) => {
  // Budgets are occurrence based: each span adds (1 - target) of an event to the budget.
  // 36 events left; the last hour had 30 bad of 6000 spans against 99.9%: it spent 30 and
  // added 6000 x 0.001 = 6, a net 24 an hour, so 36 last 36 / 24 = 1.5 h.
  t.is(timeToExhaustionMs(36, 30, 6000, 0.999, HOUR), 1.5 * HOUR);
  // 750 left, 1000 bad of 10^6 spans an hour against 99.9% (burn rate 1) adds as much as it
  // spends: never exhausted. 999 bad (burn 0.999): the budget grows.
  t.is(timeToExhaustionMs(750, 1000, 1_000_000, 0.999, HOUR), null);
  t.is(timeToExhaustionMs(750, 999, 1_000_000, 0.999, HOUR), null);
  // 750 left, 14 400 bad of 10^6 an hour (burn 14.4): net 14 400 - 1000 = 13 400 an hour,
  // 750 / 13 400 h = 201 492.537... ms.
  close(t, timeToExhaustionMs(750, 14_400, 1_000_000, 0.999, HOUR), (750 / 13_400) * HOUR, 'burn 14.4');
  // 5 left against 99% (1/100), the last 5 minutes 20 bad of 100: net 20 - 1 = 19 per 5 min, 5/19 of 5 min.
  close(t, timeToExhaustionMs(5, 20, 100, 0.99, 5 * MINUTE), (5 / 19) * 5 * MINUTE, '99%, 5m');
  t.is(timeToExhaustionMs(36, 0, 0, 0.999, HOUR), null, 'no spans in the last hour');
  t.is(timeToExhaustionMs(0, 30, 6000, 0.999, HOUR), 0, 'spent exactly');
  t.is(timeToExhaustionMs(-3, 30, 6000, 0.999, HOUR), 0, 'overspent');
});
