// error_rate thresholds are compared exactly: a window at exactly the threshold is not above it.
// Percentages like 0.7 became 0.7 / 100 = 0.006999999999999999 in floating point, under 7/1000,
// so 7 errors in 1000 spans fired "above 0.7%".
import test from 'ava';
import { createRequire } from 'node:module';
import { sloHarness } from './helpers/slo.mjs';

// [threshold, errors, spans, fires]: fires exactly when errors / spans > threshold, by hand
const CASES = [
  [0.7, 7, 1000, false],
  [0.7, 8, 1000, true],
  ['2.8%', 28, 1000, false],
  ['2.8%', 29, 1000, true],
  [5, 5, 100, false],
  [5, 6, 100, true],
  [0.1, 1, 1000, false],
  [0.3, 3, 1000, false],
  [0.3, 301, 100_000, true],
  [14.7, 147, 1000, false],
  [57, 57, 100, false],
  [99.99, 9999, 10_000, false],
  [99.99, 10_000, 10_000, true],
  [0, 0, 10, false],
  [0, 1, 10, true],
];

for (const [above, errors, spans, fires] of CASES) {
  test(`error rate ${errors}/${spans} against above ${above}: ${fires ? 'fires' : 'does not fire'}`, async (t) => {
    const h = sloHarness({ alerting: { rules: [{ name: 'E', type: 'error_rate', window: '5m', above }] } });
    const events = await h.tick(1000, () => h.traffic(spans, errors));
    t.deepEqual(
      events.map((e) => e.to),
      fires ? ['firing'] : [],
    );
    await h.close();
  });
}

test('thresholds near 0% and 100% keep their digits: 0.00001% is not 0, 99.99999% is not 100%', (t) => {
  // the rule compares errors / spans with above / 100 through ratioAbove; a fixed tolerance of 1e-6
  // rounded these to 0/1 and 1/1: any error fired the first, and 100% errors never fired the second
  const { ratioAbove } = createRequire(import.meta.url)('../dist/slo/burn-rate.js');
  const cases = [
    // [above (percent), errors, spans, fires], by hand: errors / spans > above / 100
    [0.00001, 1, 20_000_000, false], // 5e-8 against 1e-7
    [0.00001, 3, 20_000_000, true], // 1.5e-7
    [0.00001, 1, 10_000_000, false], // exactly at it
    [99.99999, 1000, 1000, true], // 100% errors
    [99.99999, 9_999_999, 10_000_000, false], // exactly at it
  ];
  for (const [above, errors, spans, fires] of cases) t.is(ratioAbove(errors, spans, above / 100), fires, `${errors}/${spans} above ${above}%`);
});
