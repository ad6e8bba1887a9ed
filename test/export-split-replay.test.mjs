// A spooled batch, replayed, is split by a 413; one part is settled (delivered,
// or refused as a bad batch), the other fails and goes back to the spool. The
// file held the whole batch, so the next replay sent the settled part again (an
// uncounted duplicate) or counted its drop again: that part now goes to a file
// of its own, and the batch's file is removed.
import test from 'ava';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { startHttpReceiver, waitUntil, spoolOf, emitter, sleep, zipkinSpoolingProcessor } from './helpers/export.mjs';

/** A processor exporting to `receiver` (down for now) with a spool, where two spans of one batch are spooled. */
async function spoolTwoSpans(t, receiver) {
  const processor = zipkinSpoolingProcessor(t, receiver);
  const { provider, emit, ids } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(2);
  await processor.forceFlush();
  t.is(spoolOf(await processor.stats()).spool.spans, 2, 'spooled while the target was down');
  return { processor, ids };
}

test('a split replay whose delivered part is re-sent from the spool counts the re-send', async (t) => {
  let phase = 'down';
  let singles = 0;
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    if (phase === 'down') return res.writeHead(503).end('down');
    const spans = JSON.parse(body.toString('utf8'));
    if (spans.length > 1) return res.writeHead(413).end('too large');
    singles++;
    if (singles === 2) return res.writeHead(503).end('down again');
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => receiver.close());
  const { processor, ids } = await spoolTwoSpans(t, receiver);
  phase = 'split';
  await waitUntil(() => ids.every((id) => receiver.received.has(id)), { what: 'both spans delivered' });
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'an empty spool' });
  const report = await processor.stats();
  const duplicates = [...receiver.received.values()].reduce((s, k) => s + (k - 1), 0);
  const resent = report.exporters.reduce((s, e) => s + e.resentSpans, 0);
  // a receiver never sees more duplicates than resentSpans; replayedSpans counts each spooled span once
  t.deepEqual(
    { uncountedDuplicates: Math.max(0, duplicates - resent), replayedSpans: spoolOf(report).spool.replayedSpans },
    { uncountedDuplicates: 0, replayedSpans: 2 },
  );
});

test('a split replay whose refused part is dropped, while another part goes back to the spool, counts the drop once', async (t) => {
  let phase = 'down';
  let failedB = false;
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    if (phase === 'down') return res.writeHead(503).end('down');
    const spans = JSON.parse(body.toString('utf8'));
    if (spans.length > 1) return res.writeHead(413).end('too large');
    if (spans[0].tags.i === '0') return res.writeHead(400).end('bad span');
    if (!failedB) {
      failedB = true;
      return res.writeHead(503).end('down again');
    }
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => receiver.close());
  const { processor, ids } = await spoolTwoSpans(t, receiver);
  phase = 'split';
  await waitUntil(() => receiver.received.has(ids[1]), { what: 'the good span delivered' });
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'an empty spool' });
  const report = await processor.stats();
  // 2 spans ended: 1 delivered, 1 refused (export_bad_batch)
  t.deepEqual(
    { delivered: receiver.received.size, dropped: report.totals.dropped },
    { delivered: 1, dropped: { export_bad_batch: 1 } },
  );
});

// Both parts go back: the first to a file of its own, the second does not fit (the spool
// is full), so the batch's whole file is kept. The first part's file was left too, and
// its spans were in the spool twice (counted twice, replayed twice): it is removed.
test('a split replayed batch whose parts go back to a nearly full spool holds each span once', async (t) => {
  let phase = 'down';
  const receiver = await startHttpReceiver((req, body, res) => {
    if (phase === 'down') return res.writeHead(503).end('down');
    const spans = JSON.parse(body.toString('utf8'));
    if (spans.length > 1) return res.writeHead(413).end('too large');
    return res.writeHead(503).end('down again');
  });
  t.teardown(() => receiver.close());
  const processor = zipkinSpoolingProcessor(t, receiver, { spool: { max_size: 65536 } });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  t.teardown(() => provider.shutdown());
  const tracer = provider.getTracer('t');
  for (let i = 0; i < 2; i++) tracer.startSpan('op', { attributes: { i, pad: String(i).repeat(13_000) } }).end();
  await processor.forceFlush();
  const first = spoolOf(await processor.stats()).spool;
  t.is(first.spans, 2);
  t.log(`one spooled batch: ${first.bytes} bytes; cap 65536`);
  t.true(2 * first.bytes <= 65536 && 3 * first.bytes > 65536, 'the batch size puts the cap between 2 and 3 files');
  phase = 'split';
  await waitUntil(() => receiver.requests.some((r) => JSON.parse(r.body.toString('utf8')).length === 1), { what: 'a part sent' });
  await sleep(200);
  const spool = spoolOf(await processor.stats()).spool;
  t.is(spool.spans, 2, `spool holds ${spool.batches} files, ${spool.spans} spans, for 2 spans ended`);
  t.is(spool.batches, 1, 'the batch\'s own file');
});
