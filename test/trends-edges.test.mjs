// Trends at their edges: baselines from too little time, clock steps, empty
// windows, odd configuration and baseline files, error grouping at its limits.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from 'spanmeter';
import { MINUTE, SECOND, sloHarness } from './helpers/slo.mjs';

const near = (actual, expected, tolerance = 0.01) => Math.abs(actual - expected) <= tolerance * expected;

/** One minute: the clock moves, `perMinute` spans of `durationMs` end, one evaluation runs. */
const minute = (h, perMinute, durationMs) => h.tick(MINUTE, () => h.traffic(perMinute, 0, { durationMs }));

async function minutes(h, n, perMinute, durationMs) {
  for (let i = 0; i < n; i++) await minute(h, perMinute, durationMs);
}

const trendOf = async (h) => (await h.processor.stats()).trends[0];

/** The problem lines of a configuration that must be refused. */
function problemsOf(t, config) {
  const error = t.throws(() => loadConfig(config), { instanceOf: ConfigError });
  return error?.problems.map((p) => `${p.key}: ${p.message}`) ?? [];
}

function tempFile(t, name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanmeter-trends-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

test('the previous-hour baseline is a full hour, never the first minutes after start', async (t) => {
  const h = sloHarness({});
  // The first minute is a slow warm-up: 20 of its 60 spans take 100 ms.
  await h.tick(MINUTE, () => {
    h.traffic(20, 0, { durationMs: 100 });
    h.traffic(40, 0, { durationMs: 10 });
  });
  await minutes(h, 89, 60, 10); // until 01:30
  // The hour that ended an hour ago began before the process: no full hour to compare with.
  t.is((await trendOf(h)).baseline, undefined);
  await minutes(h, 40, 60, 10); // until 02:10
  // Now the hour 00:00-01:00: 20 slow spans of 3600 are under 1%.
  const { baseline } = await trendOf(h);
  t.is(baseline?.source, 'previous_hour');
  t.true(near(baseline?.p99, 10), `baseline p99 ${baseline?.p99}`);
  await h.close();
});

test('after a clock step, no other time window is shown as the previous one', async (t) => {
  const h = sloHarness({});
  // The spans recorded at minute m (00:01 ... 00:10) take 9 + m ms.
  for (let m = 1; m <= 10; m++) await minute(h, 30, 9 + m);
  await h.tick(-2 * MINUTE); // back to 00:08: the previous minute is 00:06-00:07 (16 ms)
  let { previous } = (await trendOf(h)).windows['1m'];
  t.true(previous === undefined || near(previous.p99, 16), `previous p99 ${previous?.p99}`);
  await h.tick(2 * MINUTE); // 00:10 again
  await h.tick(2.5 * MINUTE); // 00:12:30: the previous minute, 00:10:30-00:11:30, had no spans
  ({ previous } = (await trendOf(h)).windows['1m']);
  t.true(previous === undefined || previous.count === 0, `previous ${JSON.stringify(previous)}`);
  await h.close();
});

test('a window without spans has no percentile change', async (t) => {
  const h = sloHarness({});
  await minutes(h, 3, 30, 10);
  await h.tick(MINUTE); // a minute without spans
  const w = (await trendOf(h)).windows['1m'];
  t.is(w.count, 0);
  t.is(w.previous.count, 30);
  t.deepEqual(w.change, { count: 0, p50: null, p99: null });
  await h.close();
});

test('regression.percentiles must watch something, each percentile once', (t) => {
  const at = (percentiles) => problemsOf(t, { trends: { regression: { percentiles } } });
  t.true(at([]).some((p) => p.startsWith('trends.regression.percentiles:')), 'an empty list');
  t.true(at(['p99', 'p99']).some((p) => p.startsWith('trends.regression.percentiles[1]:')), 'p99 twice');
  t.notThrows(() => loadConfig({ trends: { regression: { percentiles: ['p50'] } } }));
});

test('a baseline file with no usable latency is refused at start, naming the key', (t) => {
  const report = (p99) => `{"operations":[{"service":"checkout","name":"GET /checkout","kind":"server","count":50,"latencyMs":{"p50":10,"p99":${p99}}}]}`;
  const fromFile = (text) => ({ trends: { regression: { baseline: 'file', baseline_file: tempFile(t, 'baseline.json', text) } } });
  const cases = {
    'an infinite p99': report('1e999'),
    'a negative p99': report('-5'),
    'operations without latencies': '{"operations":[{"operation":"GET /checkout","p99":10}]}',
  };
  for (const [what, text] of Object.entries(cases)) {
    const problems = problemsOf(t, fromFile(text));
    t.true(problems.some((p) => p.startsWith('trends.regression.baseline_file:')), `${what}: ${problems}`);
  }
  t.notThrows(() => loadConfig(fromFile(report('12.5'))));
  t.notThrows(() => loadConfig(fromFile('{"operations":[]}')), 'a report saved before any span');
});

test('with trends off, the baseline file is not read: a missing one does not stop the start', (t) => {
  const regression = { baseline: 'file', baseline_file: path.join(os.tmpdir(), 'spanmeter-no-such-dir', 'baseline.json') };
  t.notThrows(() => loadConfig({ trends: { enabled: false, regression } }));
  t.true(problemsOf(t, { trends: { regression } }).some((p) => p.startsWith('trends.regression.baseline_file: cannot read')));
});

test('exception types are grouped as they are shown, truncated like messages', async (t) => {
  const h = sloHarness({ trends: { error_analysis: { max_message_length: 10 } } });
  await h.tick(SECOND, () => {
    for (const name of ['PaymentGatewayTimeout', 'PaymentGatewayRefused']) {
      const error = new Error('declined');
      error.name = name;
      h.span({ error: true, exception: error });
    }
  });
  const { errorAnalysis } = await h.processor.stats();
  t.deepEqual(
    errorAnalysis.operations[0].groups.map((g) => [g.type, g.message, g.count]),
    [['PaymentGat', 'declined', 2]],
  );
  await h.close();
});

test('an operation whose errors all came after max_groups was reached is still listed', async (t) => {
  const h = sloHarness({ trends: { error_analysis: { max_groups: 1 } } });
  await h.tick(SECOND, () => {
    h.span({ name: 'GET /cart', error: true, exception: new Error('first') });
    for (let i = 0; i < 3; i++) h.span({ name: 'POST /pay', error: true, exception: new Error('declined') });
  });
  const { errorAnalysis } = await h.processor.stats();
  t.is(errorAnalysis.droppedGroups, 3);
  t.deepEqual(
    errorAnalysis.operations.map((o) => [o.name, o.errors, o.groups.length]),
    [
      ['POST /pay', 3, 0],
      ['GET /cart', 1, 1],
    ],
  );
  await h.close();
});

// Known defect outside src/trends: the trend samples (src/slo/evaluate-task.ts,
// summarizeTrend) do not cap window percentiles at the series' max as the report
// does (src/stats/operations.ts), so a steady 10 ms baseline reads 10.007 ms and an
// exact doubling reads 1.9986x. Make this a plain test() once that is fixed.
test('latency that exactly doubles reaches a ratio of 2', async (t) => {
  const h = sloHarness({ trends: { regression: { ratio: 2, percentiles: ['p99'] } } });
  await minutes(h, 125, 30, 10); // until 02:05
  await minutes(h, 15, 30, 20); // the 15m window, 02:05-02:20, at twice the latency
  const trend = await trendOf(h);
  t.true(near(trend.baseline.p99, 10), `baseline p99 ${trend.baseline.p99}`);
  t.true(trend.regression, `p99 ${trend.windows['15m'].p99} vs ${trend.baseline.p99}`);
  await h.close();
});
