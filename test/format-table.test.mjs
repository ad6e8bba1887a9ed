// formatStatsTable printed span and service names as they were. Names come from the
// application's spans (README: "whatever a span holds ... huge names"), so a name with a line
// break split its row into two lines and could forge a row of the printed report.
import test from 'ava';
import { formatStatsTable } from 'spanmeter';

const latency = { min: 1, mean: 2, p50: 2, p90: 3, p95: 3, p99: 4, p999: 5, max: 6 };
const op = (service, name, count) => ({ service, name, kind: 'server', count, errors: 0, errorRate: 0, latencyMs: latency, histogram: '' });

test('one line per operation, whatever its name holds', (t) => {
  const report = {
    schemaVersion: 1,
    generatedAt: new Date(0).toISOString(),
    backend: 'js',
    totals: { spans: 3, errors: 0, operations: 2, overflowSpans: 0, dropped: {} },
    operations: [op('checkout', 'GET /a\nadmin  DELETE /users  server  999999', 2), op('check\rout', 'GET /b\tx', 1)],
    diagnostics: {},
  };
  const lines = formatStatsTable(report).split('\n');
  // header, rule, two operations, the totals line
  t.is(lines.length, 5, lines.join('\n'));
  // the control characters shown escaped, the rest as it is
  t.true(lines[2].startsWith('checkout    GET /a\\nadmin  DELETE /users  server  999999'), lines[2]);
  t.true(lines[3].startsWith('check\\rout  GET /b\\tx'), lines[3]);
});

test('numbers keep their width and meaning: 99.96 ms is "100", a few errors are "<0.1", a negative limit shows no rows', (t) => {
  const at = (p99) => ({ ...latency, p99 });
  const report = {
    totals: { spans: 10_015, errors: 4, operations: 2, overflowSpans: 0, dropped: {} },
    backend: 'js',
    operations: [
      { ...op('checkout', 'GET /a', 10_000), errors: 3, errorRate: 3 / 10_000, latencyMs: at(99.96) },
      { ...op('checkout', 'GET /b', 15), errors: 1, errorRate: 1 / 15, latencyMs: at(9.996) },
    ],
    diagnostics: {},
  };
  const rows = formatStatsTable(report).split('\n').slice(2, 4).map((line) => line.split(/\s{2,}/));
  const column = (name) => formatStatsTable(report).split('\n')[0].split(/\s{2,}/).indexOf(name);
  t.deepEqual(rows.map((r) => [r[column('err%')], r[column('p99')]]), [['<0.1', '100'], ['6.7', '10.0']]);
  const none = formatStatsTable(report, { limit: -1 }).split('\n');
  t.is(none.length, 4, none.join('\n'));
  t.is(none[2], '… 2 more operations');
});

test('limit: Infinity prints every operation; a few successes among many errors are ">99.9", not "100.0"', (t) => {
  const many = { ...emptyTotals(), operations: Array.from({ length: 30 }, (_, i) => op('s', `op${i}`, 30 - i)) };
  const lines = formatStatsTable(many, { limit: Infinity }).split('\n');
  t.false(lines.some((l) => l.includes('more operations')));
  t.is(lines.length, 2 + 30 + 1);
  const failing = { ...emptyTotals(), operations: [{ ...op('s', 'GET /a', 10_000), errors: 9_999, errorRate: 9_999 / 10_000 }] };
  t.is(formatStatsTable(failing).split('\n')[2].split(/\s{2,}/)[4], '>99.9');
});

function emptyTotals() {
  return { totals: { spans: 0, errors: 0, operations: 0, overflowSpans: 0, dropped: {} }, backend: 'js', diagnostics: {} };
}
