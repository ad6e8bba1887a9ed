// A report section that fails (an SLO evaluation whose worker timed out, an
// extension that throws) is left out and named in report.incomplete; the
// latency statistics, which users print at exit and scrape, still arrive.
import test from 'ava';
import { createRequire } from 'node:module';
import { SpanMeterProcessor, formatStatsTable } from 'spanmeter';
import { sloHarness } from './helpers/slo.mjs';

const require = createRequire(import.meta.url);
const { workerTimeout } = require('../dist/errors.js');

const config = {
  slos: [{ name: 'checkout-availability', selector: { service: 'checkout' }, indicator: 'availability', objective: 99 }],
  trends: { health: { enabled: true } },
};

/** Makes the pool's `evaluate` tasks fail, as a worker past its time limit does, while `failing.on`. */
function failEvaluations(processor) {
  const failing = { on: true };
  const run = processor.pool.run.bind(processor.pool);
  processor.pool.run = (task, options, ...rest) =>
    failing.on && options?.name === 'evaluate' ? Promise.reject(workerTimeout(60_000)) : run(task, options, ...rest);
  return failing;
}

test('a failed SLO evaluation leaves slos and health out of stats(), names them in incomplete, and keeps the rest', async (t) => {
  const h = sloHarness(config);
  h.traffic(300, 12);
  await h.flush();
  const failing = failEvaluations(h.processor);
  const report = await h.processor.stats();
  t.is(report.totals.spans, 300);
  t.is(report.totals.errors, 12);
  t.is(report.operations[0].count, 300);
  t.is(report.slos, undefined);
  t.is(report.health, undefined);
  t.deepEqual(
    report.incomplete.map((s) => [s.section, s.code ?? null]),
    [
      ['slos', 'SPANMETER_WORKER_TIMEOUT'],
      ['health', null],
    ],
  );
  t.regex(report.incomplete[0].error, /within 60000 ms/);
  t.regex(report.incomplete[1].error, /health needs the SLOs/);
  // the printed table says so too
  const printed = formatStatsTable(report).split('\n');
  t.true(printed.includes(`Not in this report: slos (SPANMETER_WORKER_TIMEOUT: ${report.incomplete[0].error})`), printed.join('\n'));

  // the pool answers again: the next report is whole
  failing.on = false;
  const whole = await h.processor.stats();
  t.is(whole.incomplete, undefined);
  t.is(whole.slos[0].events.total, 300);
  t.is(whole.slos[0].events.bad, 12);
  t.is(whole.health.length, 1);
  t.false(formatStatsTable(whole).includes('Not in this report'));
  await h.close();
});

test('an extension whose contribute() throws is named in incomplete; the others and the statistics stand', async (t) => {
  const broken = {
    name: 'broken',
    contribute: async (report) => {
      report.brokenSection = 'half done';
      // what the SLO extension does when its evaluation fails, before anything else can
      (report.incomplete ??= []).push({ section: 'part', error: 'found missing first' });
      throw Object.assign(new Error('no sections\ntoday'), { code: 'E_BROKEN' });
    },
  };
  const later = { name: 'later', contribute: (report) => void (report.laterSection = report.totals.spans) };
  const processor = new SpanMeterProcessor({ extensions: [broken, later] });
  for (let i = 0; i < 5; i++) processor.onEnd({ name: 'op', kind: 1, resource: { attributes: { 'service.name': 'svc' } }, duration: [0, 1e6], status: { code: 0 } });
  const report = await processor.stats();
  t.is(report.totals.spans, 5);
  t.deepEqual(report.incomplete, [
    { section: 'part', error: 'found missing first' },
    { section: 'broken', code: 'E_BROKEN', error: 'no sections\ntoday' },
  ]);
  t.false('brokenSection' in report, 'what it added before failing is gone: a section is whole or absent');
  t.is(report.laterSection, 5, 'the extension after the broken one still contributed');
  // one line per missing section in the printed table, whatever the message holds
  t.true(formatStatsTable(report).split('\n').includes('Not in this report: broken (E_BROKEN: no sections today)'));
  await processor.shutdown();
});
