// The disk spool: when every target is down batches go to disk; they are
// replayed in order when a target is back, also by the next process after a
// restart; the spool is bounded in bytes and in age, and every span it cannot
// keep is counted.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanMeterProcessor } from 'spanmeter';
import { FIXTURES, sleep, startHttpReceiver, startOtlpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

const run = promisify(execFile);

const FAST = {
  retry: { initial_backoff: '10ms', max_backoff: '50ms', failure_threshold: 2 },
  circuit_breaker: { open_duration: '200ms', max_open_duration: '400ms' },
  batch: { max_spans: 50, delay: '10ms' },
};

/** A loopback port with nothing listening on it (yet). */
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const spoolOf = (report) => report.exporters.find((e) => e.type === 'spool');
const exportDrops = (report) => Object.fromEntries(Object.entries(report.totals.dropped).filter(([k]) => k.startsWith('export_')));

function emitter(processor) {
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('spool');
  let i = 0;
  const ids = [];
  return {
    provider,
    ids,
    emit(n) {
      for (let k = 0; k < n; k++) {
        const span = tracer.startSpan('op', { attributes: { i: i++ } });
        ids.push(span.spanContext().spanId);
        span.end();
      }
    },
  };
}

test('every target down: batches are spooled, then replayed in order when a target is back', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${port}/api/v2/spans` }], spool: { dir } } },
  });
  const { provider, emit, ids } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(500);
  await processor.forceFlush();
  let report = await processor.stats();
  t.is(spoolOf(report).spool.spans, 500, 'forceFlush resolved once everything was spooled');
  t.is(spoolOf(report).spool.batches, 10);
  t.true(spoolOf(report).spool.bytes > 0);
  t.is(fs.readdirSync(dir).filter((f) => f.endsWith('.spool')).length, 10);
  t.is(report.exporters[0].state, 'open');

  // The target comes back on the same port.
  const receiver = await startHttpReceiver(undefined, { port });
  t.teardown(() => receiver.close());
  await waitUntil(() => receiver.received.size === 500, { what: 'the replay', timeoutMs: 15_000 });
  t.deepEqual([...receiver.received.keys()].sort(), [...ids].sort());
  // In order: each request's spans come after the previous request's.
  const firstIndexes = receiver.requests.map((r) => Number(JSON.parse(r.body.toString())[0].tags.i));
  t.deepEqual(
    firstIndexes,
    [...firstIndexes].sort((a, b) => a - b),
    'replayed oldest first',
  );
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'an empty spool' });
  report = await processor.stats();
  t.is(spoolOf(report).spool.replayedSpans, 500);
  t.is(spoolOf(report).spool.spooledSpans, 500);
  // A replayed entry leaves the spool's count first and its file a moment later (async unlink).
  await waitUntil(() => fs.readdirSync(dir).filter((f) => f.endsWith('.spool')).length === 0, { what: 'the spool files removed' });
  t.deepEqual(exportDrops(report), {});
});

test('a process that spooled and exited is replayed by the next one (restart with a non-empty spool)', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}/v1/traces`;
  const { stdout } = await run(process.execPath, [path.join(FIXTURES, 'spool-child.mjs'), dir, endpoint, '700'], { cwd: process.cwd() });
  const child = JSON.parse(stdout.trim().split('\n').pop());
  t.is(child.ids.length, 700);
  t.is(child.spool.spans, 700, 'the child left everything in the spool');
  t.false(fs.existsSync(path.join(dir, 'spool.lock')), 'and released the lock');

  // The receiver is back; a new process (here: a new processor) starts on the same spool.
  const receiver = await startOtlpReceiver({ port });
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST, targets: [{ type: 'otlp', endpoint, compression: 'none' }], spool: { dir } } },
  });
  t.teardown(() => processor.shutdown());
  await waitUntil(() => child.ids.every((id) => receiver.received.has(id)), { what: 'the replay after restart', timeoutMs: 20_000 });
  t.is(receiver.received.size, 700);
  t.true(
    [...receiver.received.values()].every((n) => n === 1),
    'each span once',
  );
  t.is(receiver.spans[0].resource.attributes['service.name'], 'spool-child', 'the spans keep their resource');
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'an empty spool' });
  t.is(spoolOf(await processor.stats()).spool.replayedSpans, 700);
});

test('the spool is bounded: past max_size new batches are dropped and counted', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${port}/api/v2/spans` }], spool: { dir, max_size: '64KB' } } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(3000);
  await processor.forceFlush();
  const report = await processor.stats();
  const spool = spoolOf(report).spool;
  t.true(spool.bytes <= 64 * 1024, `${spool.bytes} bytes`);
  t.true(exportDrops(report).export_spool_full > 0);
  t.is(spool.spans + exportDrops(report).export_spool_full, 3000, 'spooled + dropped = ended');
});

test('batches older than max_age are removed unsent and counted', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}/v1/traces`;
  const { stdout } = await run(process.execPath, [path.join(FIXTURES, 'spool-child.mjs'), dir, endpoint, '200']);
  t.is(JSON.parse(stdout.trim().split('\n').pop()).spool.spans, 200);
  await sleep(1100);
  const receiver = await startHttpReceiver();
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST, targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces` }], spool: { dir, max_age: '1s' } } },
  });
  t.teardown(() => processor.shutdown());
  await waitUntil(async () => exportDrops(await processor.stats()).export_spool_expired === 200, { what: 'expiry' });
  const report = await processor.stats();
  t.is(spoolOf(report).spool.expiredSpans, 200);
  t.is(spoolOf(report).spool.batches, 0);
  t.is(receiver.requests.length, 0, 'expired batches are not sent');
});

test('one spool directory, one owner: a second processor on it reports the spool as unavailable', async (t) => {
  const dir = tempDir(t);
  const config = { export: { ...FAST, targets: [{ type: 'zipkin', endpoint: 'http://127.0.0.1:9/api/v2/spans' }], spool: { dir } } };
  const first = new SpanMeterProcessor({ config });
  t.teardown(() => first.shutdown());
  await waitUntil(() => fs.existsSync(path.join(dir, 'spool.lock')), { what: 'the lock' });
  const second = new SpanMeterProcessor({ config });
  t.teardown(() => second.shutdown());
  const spool = spoolOf(await second.stats());
  t.false(spool.spool.available);
  t.regex(spool.spool.reason, /locked by process \d+/);
  t.is(spool.state, 'open');
  t.true(spoolOf(await first.stats()).spool.available);
});
