// Review: an ERROR span whose duration cannot be recorded (NaN, negative) is
// dropped and counted as invalid_duration, but the error analysis still groups
// it, under series id 0xffffffff (NO_SERIES): the group is never shown, yet it
// takes one of `max_groups`, so real errors that come after are dropped.
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, makeProvider } from './helpers/spans.mjs';

eachBackend('an error span that is not recorded takes no error group', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend, config: { trends: { error_analysis: { max_groups: 1 } } } });
  const { provider, tracer } = makeProvider(processor);
  processor.onEnd({
    resource: { attributes: { 'service.name': 'checkout' } },
    name: 'GET /cart',
    kind: 1,
    duration: [Number.NaN, 0],
    status: { code: 2, message: 'not recorded' },
    events: [],
  });
  endSpan(tracer, 'GET /cart', 5e6, { error: true });
  const report = await processor.stats();
  t.is(report.totals.dropped.invalid_duration, 1);
  t.is(report.totals.errors, 1);
  t.is(report.errorAnalysis.droppedGroups, 0, 'no recorded error span was left ungrouped');
  t.deepEqual(report.errorAnalysis.operations[0]?.groups.map((g) => [g.message, g.count]), [['boom', 1]]);
  await provider.shutdown();
});
