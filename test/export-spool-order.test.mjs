// The spool replays batches in the order they were made, also when a batch came to
// the spool after later ones (it was still being tried when they were spooled): files
// of batches made in one millisecond were named, and replayed, in the order of spooling.
import test from 'ava';
import { startHttpReceiver, waitUntil, spoolOf, emitter, zipkinSpoolingProcessor } from './helpers/export.mjs';

test('a batch that reaches the spool after later ones is still replayed first', async (t) => {
  let up = false;
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    const first = Number(JSON.parse(body.toString('utf8'))[0].tags.i);
    if (up) {
      accept();
      return res.writeHead(202).end();
    }
    // the first batch's attempt fails last: the others are in the spool by then
    setTimeout(() => res.writeHead(503).end('down'), first === 0 ? 400 : 0);
  });
  t.teardown(() => receiver.close());
  const processor = zipkinSpoolingProcessor(t, receiver, { breaker: { open_duration: '1s', max_open_duration: '2s' }, batch: { max_spans: 1, delay: '10ms' }, concurrency: 4 });
  const { provider, emit, ids } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(4); // four batches of one span, made within a few microseconds: mostly one millisecond
  await processor.forceFlush();
  t.is(spoolOf(await processor.stats()).spool.batches, 4);
  up = true;
  await waitUntil(() => ids.every((id) => receiver.received.has(id)), { what: 'the replay' });
  const sent = receiver.requests.map((r) => Number(JSON.parse(r.body.toString('utf8'))[0].tags.i));
  const replayed = sent.slice(-4); // the successful requests, after the failed attempts
  t.deepEqual(replayed, [0, 1, 2, 3], `replayed ${replayed.join(', ')}`);
});
