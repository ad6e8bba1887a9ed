// Trends: window-over-window changes per operation, and regression flags against
// the previous hour or a saved baseline report.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MINUTE, sloHarness } from './helpers/slo.mjs';

const near = (actual, expected, tolerance = 0.01) => Math.abs(actual - expected) <= tolerance * expected;

test('p99 rising past the ratio over the previous hour flags a regression; windows show their change', async (t) => {
  const h = sloHarness({ trends: { regression: { window: '15m', ratio: 1.5, min_count: 20 } } });
  const minute = (ms) => h.tick(MINUTE, () => h.traffic(30, 0, { durationMs: ms }));
  for (let m = 0; m < 140; m++) await minute(10); // two hours and 20 minutes at 10 ms
  let trend = (await h.processor.stats()).trends.find((x) => x.name === 'GET /checkout');
  t.false(trend.regression);
  t.is(trend.baseline.source, 'previous_hour');
  t.true(near(trend.baseline.p99, 10), `baseline p99 ${trend.baseline.p99}`);
  t.true(near(trend.windows['5m'].change.p99, 1));
  for (let m = 0; m < 3; m++) await minute(40); // latency quadruples
  trend = (await h.processor.stats()).trends.find((x) => x.name === 'GET /checkout');
  // The last 5 minutes against the 5 minutes before them.
  t.true(near(trend.windows['5m'].p99, 40), `5m p99 ${trend.windows['5m'].p99}`);
  t.true(near(trend.windows['5m'].previous.p99, 10));
  t.true(near(trend.windows['5m'].change.p99, 4), `change ${trend.windows['5m'].change.p99}`);
  t.is(trend.windows['5m'].change.count, trend.windows['5m'].count / trend.windows['5m'].previous.count);
  for (let m = 0; m < 17; m++) await minute(40);
  const report = await h.processor.stats();
  trend = report.trends.find((x) => x.name === 'GET /checkout');
  t.true(trend.regression);
  const p99 = trend.regressions.find((r) => r.percentile === 'p99');
  t.is(p99.window, '15m');
  t.true(near(p99.ratio, 4), `ratio ${p99.ratio}`);
  t.true(near(p99.baseline, 10));
  t.true(trend.regressions.some((r) => r.percentile === 'p50'), 'p50 rose as much');
  t.deepEqual(
    report.health.find((s) => s.service === 'checkout').reasons.map((r) => [r.kind, r.subject, r.penalty]),
    [['latency_regression', 'GET /checkout', 5]],
  );
  t.is(report.health[0].score, 95);
  await h.close();
});

test('a saved stats() report serves as the baseline; min_count guards it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanmeter-baseline-'));
  const file = path.join(dir, 'baseline.json');
  const before = sloHarness({});
  await before.tick(MINUTE, () => before.traffic(50, 0, { durationMs: 20 }));
  fs.writeFileSync(file, JSON.stringify(await before.processor.stats()));
  await before.close();

  const config = { trends: { regression: { baseline: 'file', baseline_file: file, ratio: 2, percentiles: ['p99'] } } };
  const slower = sloHarness(config);
  await slower.tick(MINUTE, () => slower.traffic(50, 0, { durationMs: 50 }));
  let trend = (await slower.processor.stats()).trends[0];
  t.is(trend.baseline.source, 'file');
  t.true(near(trend.baseline.p99, 20));
  t.true(trend.regression);
  t.deepEqual(
    trend.regressions.map((r) => r.percentile),
    ['p99'],
  );
  await slower.close();

  const same = sloHarness(config);
  await same.tick(MINUTE, () => same.traffic(50, 0, { durationMs: 30 })); // 1.5x: under the ratio of 2
  trend = (await same.processor.stats()).trends[0];
  t.false(trend.regression);
  await same.close();

  const few = sloHarness(config);
  await few.tick(MINUTE, () => few.traffic(5, 0, { durationMs: 500 })); // 5 spans < min_count 20
  trend = (await few.processor.stats()).trends[0];
  t.false(trend.regression);
  await few.close();
  fs.rmSync(dir, { recursive: true });
});

test('trends off: no trends in the report', async (t) => {
  const h = sloHarness({ trends: { enabled: false } });
  await h.tick(MINUTE, () => h.traffic(5));
  const report = await h.processor.stats();
  t.is(report.trends, undefined);
  t.truthy(report.health, 'health stays on');
  await h.close();
});
