// docs/slo-and-alerts.md: "Evaluations never overlap". evaluateNow() runs one
// "after any running one" (src/slo/extension.ts); calls made together must
// still run one at a time on the pool.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { manualClock } from './helpers/spans.mjs';

test('evaluateNow() called three times at once runs three evaluations, never two at the same time', async (t) => {
  const rule = { name: 'R', type: 'error_rate', selector: { service: 'svc' }, window: '1m', above: 50 };
  const processor = new SpanMeterProcessor({ clock: manualClock(), config: { alerting: { rules: [rule] }, notifiers: { log: { enabled: false } } } });
  let running = 0;
  let most = 0;
  let evaluations = 0;
  const run = processor.pool.run.bind(processor.pool);
  processor.pool.run = (task, options, ...rest) => {
    if (options?.name !== 'evaluate') return run(task, options, ...rest);
    evaluations++;
    running++;
    most = Math.max(most, running);
    const result = run(task, options, ...rest);
    const done = () => running--;
    result.then(done, done);
    return result;
  };
  await Promise.all([processor.evaluateNow(), processor.evaluateNow(), processor.evaluateNow()]);
  t.is(evaluations, 3);
  t.is(most, 1, `${most} evaluations ran at the same time`);
  await processor.shutdown();
});
