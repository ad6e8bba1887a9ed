// Failover under fault injection: the primary (a real OTLP receiver in a child
// process) is killed in the middle of a stream of spans and brought back. Every
// span must arrive at least once across the targets, duplicates only where a
// request's outcome was lost (and counted), and traffic must return to the primary.
import test from 'ava';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanMeterProcessor } from 'spanmeter';
import { sleep, startHttpReceiver, startOtlpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

/** Fast retries and breaker so that a test sees the whole cycle in seconds. */
const FAST = {
  retry: { initial_backoff: '30ms', max_backoff: '200ms', failure_threshold: 2 },
  circuit_breaker: { open_duration: '300ms', max_open_duration: '600ms' },
  batch: { max_spans: 40, delay: '20ms' },
};

function setup(processor, serviceName) {
  const captured = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor, new SimpleSpanProcessor(captured)],
  });
  return { provider, tracer: provider.getTracer('failover'), captured };
}

/** Span id -> arrivals, over several receivers. */
function union(...maps) {
  const out = new Map();
  for (const m of maps) for (const [id, n] of m) out.set(id, (out.get(id) ?? 0) + n);
  return out;
}

test('primary killed mid-stream and brought back: nothing lost, duplicates only as counted, traffic returns', async (t) => {
  let primary = await startOtlpReceiver();
  const port = primary.port;
  const firstPrimary = primary;
  const secondary = await startHttpReceiver();
  t.teardown(async () => {
    await primary.close();
    await secondary.close();
  });
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        ...FAST,
        targets: [
          { type: 'otlp', name: 'primary', endpoint: primary.endpoint, compression: 'none', timeout: '2s' },
          { type: 'zipkin', name: 'secondary', endpoint: `${secondary.url}/api/v2/spans` },
        ],
        spool: { dir: tempDir(t) },
      },
    },
  });
  const { provider, tracer, captured } = setup(processor, 'failover-svc');

  // A steady stream: 25 spans every 10 ms for about 3 s.
  let n = 0;
  const phases = { killedAt: 0, restartedAt: 0 };
  const stream = setInterval(() => {
    for (let i = 0; i < 25; i++) tracer.startSpan(`op ${n++ % 10}`).end();
  }, 10);
  await sleep(800);
  await primary.crash();
  phases.killedAt = Date.now();
  await sleep(1000);
  primary = await startOtlpReceiver({ port });
  phases.restartedAt = Date.now();
  await sleep(1200);
  clearInterval(stream);
  await processor.forceFlush();
  const flushedAt = Date.now();

  const ended = captured.getFinishedSpans().map((s) => s.spanContext().spanId);
  const all = () => union(firstPrimary.received, primary.received, secondary.received);
  await waitUntil(
    () => {
      const seen = all();
      return ended.every((id) => seen.has(id));
    },
    { what: 'every span at some receiver', timeoutMs: 15_000 },
  ).catch(async (error) => {
    const seen = all();
    t.log(`missing ${ended.filter((id) => !seen.has(id)).length}`, JSON.stringify((await processor.stats()).exporters.map((e) => [e.name, e.spansSent, e.resentSpans])));
    throw error;
  });
  t.log(`flush took ${flushedAt - phases.restartedAt - 1200} ms, arrivals ${Date.now() - flushedAt} ms more`);
  const arrivals = all();
  const duplicates = [...arrivals.values()].reduce((sum, k) => sum + (k - 1), 0);
  const report = await processor.stats();
  const targets = report.exporters.filter((e) => e.type !== 'spool');
  const resent = targets.reduce((sum, e) => sum + e.resentSpans, 0);
  t.log(`ended ${ended.length}; first primary ${firstPrimary.received.size}, secondary ${secondary.received.size}, restarted primary ${primary.received.size}; duplicates ${duplicates}, counted re-sends ${resent}`);
  t.true(ended.length > 3000);
  t.is(ended.filter((id) => !arrivals.has(id)).length, 0, 'no span lost');
  t.true(duplicates <= resent, `duplicates (${duplicates}) are at most the counted re-sends (${resent})`);
  t.true(secondary.received.size > 0, 'batches failed over to the secondary while the primary was down');
  t.true(primary.received.size > 0, 'traffic returned to the restarted primary');
  // The newest spans (ended well after the restart) went to the primary, not the secondary.
  const newest = ended.slice(-200);
  t.true(
    newest.every((id) => primary.received.has(id)),
    'the last spans went to the recovered primary',
  );
  const byName = Object.fromEntries(targets.map((e) => [e.name, e]));
  t.true(byName.primary.batchesFailed > 0);
  t.regex(byName.primary.lastError, /ECONNREFUSED|ECONNRESET|socket hang up|timeout/);
  t.is(byName.primary.state, 'healthy');
  t.deepEqual(Object.keys(report.totals.dropped).filter((k) => k.startsWith('export_')), [], 'nothing dropped');
  await provider.shutdown();
});

test('a higher-priority target that recovers gets the traffic back (half-open probe)', async (t) => {
  let failing = true;
  const primary = await startHttpReceiver((req, body, res, accept) => {
    if (failing) return res.writeHead(503).end('maintenance');
    accept();
    res.writeHead(202).end();
  });
  const secondary = await startHttpReceiver();
  t.teardown(async () => {
    await primary.close();
    await secondary.close();
  });
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        ...FAST,
        circuit_breaker: { open_duration: '1s', max_open_duration: '2s' },
        targets: [
          { type: 'zipkin', name: 'primary', endpoint: `${primary.url}/api/v2/spans` },
          { type: 'zipkin', name: 'secondary', endpoint: `${secondary.url}/api/v2/spans` },
        ],
        spool: { enabled: false },
      },
    },
  });
  const { provider, tracer } = setup(processor, 'probe-svc');
  for (let i = 0; i < 100; i++) tracer.startSpan('before').end();
  await processor.forceFlush();
  t.is(secondary.received.size, 100, 'with the primary failing, the secondary took everything');
  let report = await processor.stats();
  t.is(report.exporters[0].state, 'open');
  t.truthy(report.exporters[0].circuitOpenUntil);
  t.regex(report.exporters[0].lastError, /HTTP 503: maintenance/);
  failing = false;
  await sleep(1100); // past the open duration: the next batch is the probe
  for (let i = 0; i < 40; i++) tracer.startSpan('probe').end();
  await processor.forceFlush();
  t.is(primary.received.size, 40, 'the probe batch went to the primary');
  report = await processor.stats();
  t.is(report.exporters[0].state, 'healthy', 'a successful probe closes the circuit');
  for (let i = 0; i < 200; i++) tracer.startSpan('after').end();
  await processor.forceFlush();
  t.is(primary.received.size, 240, 'all traffic is back on the primary');
  t.is(secondary.received.size, 100, 'nothing more went to the secondary');
  report = await processor.stats();
  t.is(report.exporters[0].spansSent, 240);
  await provider.shutdown();
});
