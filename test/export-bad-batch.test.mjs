// A batch one target refuses with a 4xx while the other target's circuit is
// open is a bad batch (export_bad_batch), not one for the spool: spooled, it was
// refused again at every replay and held up every batch spooled after it.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { emitter, exportDrops, freePort, spoolOf, startHttpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

/** Target A: 503 while down; when up, 400 for a request with a span named 'poison', else 200. B: nothing listening. */
async function setup(t) {
  const a = { up: false, poison: 0, spans: 0 };
  const receiver = await startHttpReceiver((req, body, res) => {
    if (!a.up) return res.writeHead(503).end();
    if (body.includes('poison')) {
      a.poison++;
      return res.writeHead(400).end('bad span');
    }
    a.spans += body.toString('latin1').split('good').length - 1;
    res.writeHead(200).end();
  });
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        targets: [
          { type: 'otlp', name: 'A', endpoint: `${receiver.url}/v1/traces` },
          { type: 'otlp', name: 'B', endpoint: `http://127.0.0.1:${await freePort()}/v1/traces` },
        ],
        batch: { delay: '10ms' },
        retry: { initial_backoff: '10ms', max_backoff: '20ms', failure_threshold: 1 },
        // B stays open while the test runs
        circuit_breaker: { open_duration: '300ms', max_open_duration: '10m' },
        spool: { dir: tempDir(t) },
      },
    },
  });
  const { provider } = emitter(processor);
  t.teardown(() => provider.shutdown());
  const tracer = provider.getTracer('bad-batch');
  const end = (n, name) => {
    for (let i = 0; i < n; i++) tracer.startSpan(name).end();
  };
  const spool = async () => spoolOf(await processor.stats()).spool;
  return { a, processor, end, spool };
}

test('a bad batch spooled during an outage is dropped at its replay, and the batches behind it are replayed', async (t) => {
  const { a, processor, end, spool } = await setup(t);
  end(1, 'poison');
  await waitUntil(async () => (await spool()).batches === 1, { what: 'the poison batch spooled' });
  for (let i = 1; i <= 5; i++) {
    end(10, 'good');
    await waitUntil(async () => (await spool()).batches === i + 1, { what: `good batch ${i} spooled` });
  }
  a.up = true;
  await waitUntil(async () => (await spool()).batches === 0, { what: 'the spool replayed to the end' });
  t.is(a.spans, 50, 'every good span reached A');
  t.is(a.poison, 1, 'the bad batch was refused once, not at every replay');
  const report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_bad_batch: 1 });
  t.is(report.exporters[0].badBatches, 1);
  t.is(spoolOf(report).spool.replayedSpans, 50);
});

test('a bad batch while the other target is open is counted, not spooled', async (t) => {
  const { a, processor, end, spool } = await setup(t);
  a.up = true;
  // A refuses it; B is tried, refuses the connection and opens.
  end(1, 'poison');
  await processor.forceFlush();
  const report = await processor.stats();
  t.is(report.exporters[1].state, 'open');
  t.deepEqual(exportDrops(report), { export_bad_batch: 1 });
  t.is((await spool()).spooledSpans, 0);
  t.is(a.poison, 1);
});
