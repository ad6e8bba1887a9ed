// Receivers that misbehave: slow and hanging, partial responses, 429 with
// Retry-After, 400, connections closed, oversize batches; and the bounds of the
// queue. Every span ended is delivered or counted as dropped with a reason, and
// a receiver sees a span twice only where the sender counted a re-send.
import test from 'ava';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanMeterProcessor } from 'spanmeter';
import { sleep, startHttpReceiver, tempDir, waitUntil, exportDrops } from './helpers/export.mjs';

const FAST = {
  retry: { initial_backoff: '20ms', max_backoff: '100ms', failure_threshold: 3 },
  circuit_breaker: { open_duration: '200ms', max_open_duration: '400ms' },
  batch: { max_spans: 50, delay: '10ms' },
};

function setup(t, exportConfig) {
  const processor = new SpanMeterProcessor({ config: { export: { ...FAST, spool: { enabled: false }, ...exportConfig } } });
  const captured = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'faults' }), spanProcessors: [processor, new SimpleSpanProcessor(captured)] });
  t.teardown(() => provider.shutdown());
  const tracer = provider.getTracer('faults');
  const emit = (n, name = 'op') => {
    for (let i = 0; i < n; i++) tracer.startSpan(name, { attributes: { i } }).end();
  };
  const ended = () => captured.getFinishedSpans().map((s) => s.spanContext().spanId);
  return { processor, provider, emit, ended };
}

const zipkin = (receiver, extra = {}) => ({ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans`, ...extra });
const duplicatesOf = (received) => [...received.values()].reduce((sum, k) => sum + (k - 1), 0);

test('429 with Retry-After: the target is not retried before the server said, and nothing is lost', async (t) => {
  const attempts = [];
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    attempts.push(Date.now());
    if (attempts.length === 1) return res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => receiver.close());
  // Retry-After is honoured up to max_open_duration: here above it.
  const { processor, emit, ended } = setup(t, { targets: [zipkin(receiver)], circuit_breaker: { open_duration: '200ms', max_open_duration: '2s' } });
  emit(30);
  await processor.forceFlush();
  t.true(attempts[1] - attempts[0] >= 950, `the retry came ${attempts[1] - attempts[0]} ms later`);
  t.deepEqual([...receiver.received.keys()].sort(), ended().sort());
  const report = await processor.stats();
  t.is(report.exporters[0].retries, 1);
  t.is(report.exporters[0].batchesFailed, 1);
  t.regex(report.exporters[0].lastError, /HTTP 429: slow down/);
  t.deepEqual(exportDrops(report), {});
});

test('400 is a bad batch: not retried on that target, sent to the next, or dropped and counted when none takes it', async (t) => {
  let badRequests = 0;
  const picky = await startHttpReceiver((req, body, res) => {
    badRequests++;
    res.writeHead(400).end('{"error":"bad span"}');
  });
  const lenient = await startHttpReceiver();
  t.teardown(() => Promise.all([picky.close(), lenient.close()]));
  const a = setup(t, { targets: [zipkin(picky, { name: 'picky' }), zipkin(lenient, { name: 'lenient' })] });
  a.emit(120);
  await a.processor.forceFlush();
  t.is(lenient.received.size, 120);
  let report = await a.processor.stats();
  t.is(report.exporters[0].badBatches, 3);
  t.is(badRequests, 3, 'each batch was tried once on the picky target, not retried');
  t.is(report.exporters[0].state, 'healthy', 'a 4xx is not an outage');
  t.deepEqual(exportDrops(report), {});

  const b = setup(t, { targets: [zipkin(picky, { name: 'only' })] });
  b.emit(70);
  await b.processor.forceFlush();
  report = await b.processor.stats();
  t.deepEqual(exportDrops(report), { export_bad_batch: 70 });
});

test('a hanging receiver times out; the batch fails over and the possible duplicates are counted', async (t) => {
  const hanging = await startHttpReceiver((req, body, res, accept) => {
    accept(); // it stored the spans, but never answers
  });
  const backup = await startHttpReceiver();
  t.teardown(() => Promise.all([hanging.close(), backup.close()]));
  const { processor, emit, ended } = setup(t, {
    targets: [zipkin(hanging, { name: 'hanging', timeout: '150ms' }), zipkin(backup, { name: 'backup' })],
  });
  emit(100);
  await processor.forceFlush();
  const ids = ended();
  t.true(
    ids.every((id) => backup.received.has(id)),
    'everything reached the backup',
  );
  const report = await processor.stats();
  const resent = report.exporters.reduce((sum, e) => sum + e.resentSpans, 0);
  const duplicates = duplicatesOf(new Map(ids.map((id) => [id, (hanging.received.get(id) ?? 0) + (backup.received.get(id) ?? 0)])));
  t.true(duplicates > 0, 'the hanging receiver kept what it never acknowledged');
  t.true(duplicates <= resent, `duplicates ${duplicates} <= counted re-sends ${resent}`);
  t.regex(report.exporters[0].lastError, /timeout after 150 ms/);
  t.is(report.exporters[0].state, 'open');
});

test('partial responses and closed connections are retried; duplicates stay within the counted re-sends', async (t) => {
  let n = 0;
  const flaky = await startHttpReceiver((req, body, res, accept) => {
    n++;
    if (n % 3 === 1) {
      // Stores, starts an answer, and dies half-way.
      accept();
      res.writeHead(202, { 'Content-Length': '100' });
      res.write('partial');
      setTimeout(() => res.socket.destroy(), 5);
      return;
    }
    if (n % 3 === 2) {
      // Closes the connection without a word (and without storing).
      req.socket.destroy();
      return;
    }
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => flaky.close());
  const { processor, emit, ended } = setup(t, { targets: [zipkin(flaky, { name: 'flaky' })], retry: { initial_backoff: '10ms', max_backoff: '20ms', failure_threshold: 50 } });
  emit(200);
  await processor.forceFlush();
  const ids = ended();
  t.true(
    ids.every((id) => flaky.received.has(id)),
    'every span arrived',
  );
  const report = await processor.stats();
  const duplicates = duplicatesOf(flaky.received);
  t.true(duplicates > 0, 'stored-then-failed requests were re-sent');
  t.true(duplicates <= report.exporters[0].resentSpans, `duplicates ${duplicates} <= counted re-sends ${report.exporters[0].resentSpans}`);
  t.true(report.exporters[0].retries >= 4);
  t.deepEqual(exportDrops(report), {});
});

test('oversize batches are split: on 413 from the receiver and above max_request_size', async (t) => {
  const LIMIT = 8 * 1024;
  const strict = await startHttpReceiver((req, body, res, accept) => {
    if (body.length > LIMIT) return res.writeHead(413).end('too large');
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => strict.close());
  const a = setup(t, { targets: [zipkin(strict)], batch: { max_spans: 400, delay: '10ms' } });
  a.emit(400, 'x'.repeat(100));
  await a.processor.forceFlush();
  t.is(strict.received.size, 400);
  t.is(duplicatesOf(strict.received), 0);
  t.true(strict.requests.some((r) => r.body.length > LIMIT), 'the first request was too large');
  t.true(strict.requests.filter((r) => r.body.length <= LIMIT).length >= 8, 'it was split until it fitted');

  const sizes = [];
  const plain = await startHttpReceiver((req, body, res, accept) => {
    sizes.push(body.length);
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => plain.close());
  const b = setup(t, { targets: [zipkin(plain, { max_request_size: '4KB' })], batch: { max_spans: 400, delay: '10ms' } });
  b.emit(400, 'y'.repeat(100));
  await b.processor.forceFlush();
  t.is(plain.received.size, 400);
  t.true(
    sizes.every((s) => s <= 4096),
    'no request above max_request_size was ever sent',
  );
  const report = await b.processor.stats();
  t.deepEqual(exportDrops(report), {});
});

test('a full queue drops new spans and counts them; the application never waits', async (t) => {
  let release;
  const gate = new Promise((r) => {
    release = r;
  });
  const slow = await startHttpReceiver(async (req, body, res, accept) => {
    await gate;
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => slow.close());
  const { processor, emit, ended } = setup(t, {
    targets: [zipkin(slow, { timeout: '30s' })],
    queue: { max_spans: 300 },
    concurrency: 2,
  });
  // the slow receiver answers only after release(): ending spans that waited for
  // room in the queue would never return (the test would hang)
  emit(2000);
  release();
  await processor.forceFlush();
  const report = await processor.stats();
  const drops = exportDrops(report);
  t.true(drops.export_queue_full > 0);
  t.is(slow.received.size + drops.export_queue_full, ended().length, 'delivered + dropped = ended');
});

test('a span larger than max_span_size is counted, the others go', async (t) => {
  const receiver = await startHttpReceiver();
  t.teardown(() => receiver.close());
  const { processor, emit } = setup(t, { targets: [zipkin(receiver)], batch: { max_spans: 50, delay: '10ms', max_span_size: '2KB' } });
  emit(10);
  emit(1, 'z'.repeat(5000));
  emit(10);
  await processor.forceFlush();
  const report = await processor.stats();
  t.is(receiver.received.size, 20);
  t.deepEqual(exportDrops(report), { export_span_too_large: 1 });
});

test('shutdown keeps its deadline with a hanging target: what is left is spooled, nothing is lost silently', async (t) => {
  const hanging = await startHttpReceiver(() => {});
  t.teardown(() => hanging.close());
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST, targets: [zipkin(hanging, { timeout: '20d' })], spool: { dir }, shutdown_timeout: '1s' } },
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('shutdown');
  for (let i = 0; i < 300; i++) tracer.startSpan('op').end();
  const started = Date.now();
  await provider.shutdown();
  const took = Date.now() - started;
  // The request would hang for 20 days; the export part stops at its 1 s deadline (the rest is the final
  // stats report). Had shutdown waited for the request, the test would hang here.
  t.log(`shutdown took ${took} ms`);
  await processor.shutdown(); // idempotent
  const report = await processor.stats();
  const spool = report.exporters.find((e) => e.type === 'spool');
  t.is(spool.spool.spans, 300, 'every span is in the spool');
  t.deepEqual(exportDrops(report), {});
});

test('a burst of 30 000 spans in one tick is delivered entirely', async (t) => {
  const receiver = await startHttpReceiver();
  t.teardown(() => receiver.close());
  const { processor, emit } = setup(t, { targets: [zipkin(receiver)], batch: { max_spans: 512, delay: '50ms' } });
  emit(30_000);
  await processor.forceFlush();
  await waitUntil(() => receiver.received.size === 30_000, { what: 'the burst' });
  const report = await processor.stats();
  t.deepEqual(exportDrops(report), {});
  t.is(report.exporters[0].spansSent, 30_000);
  await sleep(0);
});
