// The stats worker posts numbers (one Float64Array row per series) and the
// event loop names them: every field of a summary must reach its operation,
// and ids[i] must be the series of operations[i] (trends and error analysis
// look their samples up by it).
import test from 'ava';

const { toRows, toOperations } = await import('../dist/stats/operations.js');

const summary = (id, count, base) => ({
  id,
  count,
  errors: id,
  sumUs: count * base,
  minUs: base / 2,
  maxUs: base * 3,
  percentilesUs: [base, base * 1.5, base * 2, base * 2.5, base * 10],
  histogram: `HISTFAKE${id}`,
  windows: [0, 1, 2, 3].map((k) => ({ count: count - k, errors: k, percentilesUs: [base + k, base * 9] })),
});

test('rows carry every summary field to its operation, ids in step, ties in code-unit order', (t) => {
  const keys = [
    { service: 's', name: 'b', kind: 'server' },
    { service: 's', name: 'B', kind: 'server' },
    { service: 's', name: 'a', kind: 'client' },
    { service: 'unused', name: 'never', kind: 'internal' },
  ];
  const summaries = [summary(0, 5, 1000), summary(1, 5, 2000), summary(2, 9, 3000), { ...summary(3, 0, 10), count: 0 }];
  const posted = structuredClone(toRows(summaries));
  const { operations, ids } = toOperations(posted, keys);
  // count descending; equal counts by name in code-unit order ('B' < 'b')
  t.deepEqual(ids, [2, 1, 0]);
  t.deepEqual(operations.map((o) => o.name), ['a', 'B', 'b']);
  for (const [i, op] of operations.entries()) {
    const s = summaries[ids[i]];
    t.like(op, { ...keys[ids[i]], count: s.count, errors: s.errors, errorRate: s.errors / s.count, histogram: s.histogram });
    t.deepEqual(op.latencyMs, {
      min: s.minUs / 1000,
      mean: s.sumUs / s.count / 1000,
      p50: s.percentilesUs[0] / 1000,
      p90: s.percentilesUs[1] / 1000,
      p95: s.percentilesUs[2] / 1000,
      p99: s.percentilesUs[3] / 1000,
      // capped at the exact max
      p999: s.maxUs / 1000,
      max: s.maxUs / 1000,
    });
    t.deepEqual(
      ['1m', '5m', '15m', '1h'].map((w) => op.windows[w]),
      s.windows.map((w) => ({ count: w.count, errors: w.errors, p50: w.percentilesUs[0] / 1000, p99: s.maxUs / 1000 })),
    );
  }
});
