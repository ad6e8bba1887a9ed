// SLO edge cases: spans beyond the cardinality cap match exactly as recorded series
// do (names truncated to 1024 characters), globs never backtrack catastrophically,
// and an SLO exactly at its objective is not breached.
import test from 'ava';
import { HOUR, MINUTE, sloHarness } from './helpers/slo.mjs';

const MAX_NAME_LENGTH = 1024;

function slo(name, selector, objective = 99) {
  return { name, selector: { service: 'checkout', ...selector }, indicator: 'availability', objective, time_window: '30d' };
}

async function totals(h) {
  h.clock.advance(1000);
  await h.flush();
  const report = await h.processor.stats();
  return Object.fromEntries(report.slos.map((s) => [s.name, s.events.total]));
}

for (const maxOperations of [undefined, 1]) {
  const how = maxOperations === undefined ? 'recorded series' : 'spans beyond the cardinality cap';
  test(`${how}: long names are matched truncated to ${MAX_NAME_LENGTH} characters`, async (t) => {
    const h = sloHarness(
      {
        slos: [
          slo('truncated', { span_name: 'x'.repeat(MAX_NAME_LENGTH) }),
          slo('prefix', { span_name: `${'x'.repeat(MAX_NAME_LENGTH - 1)}*` }),
          slo('full-name', { span_name: `${'x'.repeat(3000)}` }),
          slo('suffix', { span_name: '*y' }),
        ],
      },
      { maxOperations },
    );
    h.span({ name: 'first' }); // the one series when maxOperations is 1: the rest overflows
    h.span({ name: 'x'.repeat(3000) });
    h.span({ name: `${'x'.repeat(2000)}y` });
    const report = await h.processor.stats();
    if (maxOperations === 1) t.true(report.totals.overflowSpans >= 2, 'the long names overflowed');
    t.deepEqual(await totals(h), { truncated: 2, prefix: 2, 'full-name': 0, suffix: 0 });
    await h.close();
  });

  test(`${how}: globs with several * match 1024-character names in linear time`, async (t) => {
    const h = sloHarness(
      {
        slos: [
          slo('hostile', { span_name: '*a*a*a*b' }), // a backtracking regex takes minutes on 1024 'a's
          slo('orders', { span_name: '*/orders/*/items' }),
        ],
      },
      { maxOperations },
    );
    h.span({ name: 'first' });
    for (let i = 0; i < 5; i++) h.span({ name: `${'a'.repeat(MAX_NAME_LENGTH - 2)}c${i}` }); // no match, worst case
    h.span({ name: `${'a'.repeat(MAX_NAME_LENGTH - 1)}b` }); // matches
    h.span({ name: `${'a'.repeat(5000)}b` }); // truncated to 1024 'a's: no match
    h.span({ name: `${'/orders/'.repeat(127)}/items` }); // 1022 characters: matches
    h.span({ name: `${'/orders/'.repeat(12_500)}/items` }); // truncated: no match
    // new series are matched when the batch is recorded; a backtracking regex
    // would take minutes here (the test would hang), linear matching ~0.2 s
    await h.flush();
    t.deepEqual(await totals(h), { hostile: 1, orders: 1 });
    await h.close();
  });
}

test('glob semantics: * any run, ? one character, everything else literal', async (t) => {
  const cases = [
    ['GET /a?c', ['GET /abc', 'GET /a?c'], ['GET /ac', 'GET /abbc']],
    ['*.json', ['x.json', '.json'], ['xjson', 'x.json5']],
    ['a*b*c', ['abc', 'aXbYc', 'abcbc'], ['acb', 'abca']],
    ['[x]+(y)|^$', ['[x]+(y)|^$'], ['x+y', '[x]]+(y)|^$']],
    ['q**?', ['qa', 'qabc'], ['q']],
    ['line*', ['line1\nline2'], ['xline']],
  ];
  const h = sloHarness({ slos: cases.map(([glob], i) => slo(`g${i}`, { span_name: glob })) });
  const names = new Set(cases.flatMap(([, yes, no]) => [...yes, ...no]));
  for (const name of names) h.span({ name });
  const counted = await totals(h);
  cases.forEach(([glob, yes], i) => {
    t.is(counted[`g${i}`], yes.length, glob);
  });
  await h.close();
});

// [objective, total at the boundary]: one bad span in `total` is exactly the objective.
const BOUNDARIES = [
  [99.9, 1000],
  [99.95, 2000],
  [90, 10],
  [99.99, 10_000],
  [99.5, 200],
];

test('an SLO exactly at its objective is not breached; one more bad span breaches it', async (t) => {
  const h = sloHarness({ slos: BOUNDARIES.map(([objective]) => slo(`o${objective}`, { span_name: `op-${objective}` }, objective)) });
  const byName = async () => {
    h.clock.advance(1000);
    await h.flush();
    return Object.fromEntries((await h.processor.stats()).slos.map((s) => [s.name, s]));
  };
  for (const [objective, total] of BOUNDARIES) h.traffic(total, 1, { name: `op-${objective}` });
  let status = await byName();
  for (const [objective, total] of BOUNDARIES) {
    const s = status[`o${objective}`];
    t.is(s.sli, (total - 1) / total, `${objective}`);
    t.not(s.compliance, 'breached', `${objective}: SLI = target`);
    t.is(s.errorBudget.remainingEvents, 0, `${objective}`);
    t.is(s.errorBudget.remainingFraction, 0, `${objective}`);
    t.is(s.errorBudget.consumedFraction, 1, `${objective}`);
    t.is(s.errorBudget.totalEvents, 1, `${objective}`);
  }
  // One more bad span each: now below the objective.
  for (const [objective] of BOUNDARIES) h.span({ name: `op-${objective}`, error: true });
  status = await byName();
  for (const [objective, total] of BOUNDARIES) {
    const s = status[`o${objective}`];
    t.is(s.compliance, 'breached', `${objective}: SLI < target`);
    t.true(s.errorBudget.remainingEvents < 0, `${objective}`);
    t.true(s.errorBudget.remainingFraction < 0, `${objective}`);
    t.true(s.sli < objective / 100);
    t.is(s.events.total, total + 1);
  }
  await h.close();
});

test('one good span past the boundary leaves budget, with a burn rate matching the consumed fraction', async (t) => {
  const h = sloHarness({ slos: [slo('a', { span_name: 'op' }, 99.9)] });
  h.traffic(1001, 1, { name: 'op' });
  h.clock.advance(1000);
  await h.flush();
  const [s] = (await h.processor.stats()).slos;
  t.not(s.compliance, 'breached');
  t.true(s.errorBudget.remainingEvents > 0);
  t.true(s.errorBudget.remainingFraction > 0);
  // the hour added 1001 x 0.001 = 1.001 events of budget and spent 1: never exhausted at this pace
  t.is(s.timeToExhaustionMs, null);
  t.is(s.burnRates['1h'], s.errorBudget.consumedFraction);
  await h.close();
});

test('time to exhaustion of a process younger than the SLO window counts the budget its traffic adds', async (t) => {
  // 30-day SLO at 99.9%: 10 h clean at 6000 spans an hour, then 1 h at 0.5% errors.
  // Budget: 66 000 x 0.001 = 66 events, 30 spent, 36 left. The last hour spends 30 bad an hour
  // and adds 6000 x 0.001 = 6 events of budget an hour: 36 / (30 - 6) = 1.5 h.
  // (The old formula, 36/66 of 30 days at burn rate 5, said 78.5 h.)
  const h = sloHarness({ slos: [slo('a', { span_name: 'op' }, 99.9)] });
  for (let i = 0; i < 60; i++) {
    h.clock.advance(10 * MINUTE);
    h.traffic(1000, 0, { name: 'op' });
    await h.flush();
  }
  for (let i = 0; i < 6; i++) {
    h.clock.advance(10 * MINUTE);
    h.traffic(1000, 5, { name: 'op' });
    await h.flush();
  }
  const [s] = (await h.processor.stats()).slos;
  t.deepEqual(s.events, { total: 66_000, good: 65_970, bad: 30 });
  t.is(s.errorBudget.remainingEvents, 36);
  t.is(s.burnRates['1h'], 5);
  t.is(s.timeToExhaustionMs, 1.5 * HOUR);
  await h.close();
});
