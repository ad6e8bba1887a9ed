// A 502 or 504 comes from a gateway in front of the receiver, which may have
// stored the batch before the gateway gave up: the retry is counted as a
// re-send, so that a receiver never sees more duplicates than resentSpans.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { startHttpReceiver, waitUntil, emitter } from './helpers/export.mjs';

for (const status of [502, 504]) {
  test(`a ${status} after the receiver stored the batch: its retry is counted as a re-send`, async (t) => {
    let answered = 0;
    const receiver = await startHttpReceiver((req, body, res, accept) => {
      // the receiver behind the gateway stores every batch; the gateway answers the first one with an error
      accept();
      res.writeHead(answered++ === 0 ? status : 202).end();
    });
    t.teardown(() => receiver.close());
    const processor = new SpanMeterProcessor({
      config: {
        export: {
          targets: [{ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }],
          retry: { initial_backoff: '10ms', max_backoff: '50ms' },
          batch: { max_spans: 50, delay: '10ms' },
          spool: { enabled: false },
        },
      },
    });
    const { provider, emit, ids } = emitter(processor);
    t.teardown(() => provider.shutdown());
    emit(5);
    await processor.forceFlush();
    await waitUntil(() => answered >= 2, { what: 'the retry' });
    const duplicates = [...receiver.received.values()].reduce((s, k) => s + (k - 1), 0);
    t.is(duplicates, 5, 'the receiver got every span twice');
    t.true(ids.every((id) => receiver.received.has(id)));
    const resent = (await processor.stats()).exporters.reduce((s, e) => s + e.resentSpans, 0);
    t.true(duplicates <= resent, `${duplicates} duplicates, ${resent} counted as re-sent`);
  });
}
