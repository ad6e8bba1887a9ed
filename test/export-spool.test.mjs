// The disk spool: when every target is down batches go to disk; they are
// replayed in order when a target is back, also by the next process after a
// restart; the spool is bounded in bytes and in age, and every span it cannot
// keep is counted.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { FIXTURES, sleep, startHttpReceiver, startOtlpReceiver, tempDir, waitUntil, freePort, spoolOf, exportDrops, FAST_EXPORT, emitter } from './helpers/export.mjs';

const run = promisify(execFile);

test('every target down: batches are spooled, then replayed in order when a target is back', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${port}/api/v2/spans` }], spool: { dir } } },
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
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'otlp', endpoint, compression: 'none' }], spool: { dir } } },
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
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${port}/api/v2/spans` }], spool: { dir, max_size: '64KB' } } },
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
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces` }], spool: { dir, max_age: '1s' } } },
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
  const config = { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: 'http://127.0.0.1:9/api/v2/spans' }], spool: { dir } } };
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

/** A Zipkin receiver whose behaviour the test switches: 'down' (503), 'hold' (stores, answers when released) or 'up'. */
async function switchableReceiver(t) {
  const held = [];
  const state = { mode: 'down', held };
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    if (state.mode === 'down') return res.writeHead(503).end('down');
    accept();
    if (state.mode === 'hold') return held.push(res);
    res.writeHead(202).end();
  });
  t.teardown(() => receiver.close());
  return Object.assign(state, { receiver });
}

test('a spooled batch that passes max_age while it is replayed is not lost uncounted when its replay fails', async (t) => {
  const dir = tempDir(t);
  const target = await switchableReceiver(t);
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        ...FAST_EXPORT,
        retry: { ...FAST_EXPORT.retry, failure_threshold: 1 },
        targets: [{ type: 'zipkin', endpoint: `${target.receiver.url}/api/v2/spans`, timeout: '60s' }],
        // Long enough for the replay to start before it, on a busy machine.
        spool: { dir, max_age: '10s' },
      },
    },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(200);
  await processor.forceFlush();
  t.is(spoolOf(await processor.stats()).spool.batches, 4);

  // The oldest batch is replayed, and its request hangs until the other three have expired.
  target.mode = 'hold';
  await waitUntil(() => target.held.length === 1, { what: 'the replay of the oldest batch' });
  await waitUntil(async () => exportDrops(await processor.stats()).export_spool_expired === 150, { what: 'the other batches to expire' });
  target.mode = 'down';
  target.held[0].writeHead(503).end('down'); // the replay fails: the batch stays in the spool, and expires there

  await waitUntil(async () => exportDrops(await processor.stats()).export_spool_expired === 200, { what: 'the replayed batch counted as expired' });
  const report = await processor.stats();
  t.is(spoolOf(report).spool.expiredSpans, 200);
  t.is(spoolOf(report).spool.batches, 0);
  t.deepEqual(exportDrops(report), { export_spool_expired: 200 });
});

test('a replay abandoned at the shutdown deadline is marked on disk: the next process counts its re-send', async (t) => {
  const dir = tempDir(t);
  const target = await switchableReceiver(t);
  const config = {
    export: { ...FAST_EXPORT, shutdown_timeout: '1s', targets: [{ type: 'zipkin', endpoint: `${target.receiver.url}/api/v2/spans`, timeout: '60s' }], spool: { dir } },
  };
  const first = new SpanMeterProcessor({ config });
  const { emit } = emitter(first);
  emit(50);
  await first.forceFlush();
  t.is(spoolOf(await first.stats()).spool.spans, 50);
  target.mode = 'hold';
  await waitUntil(() => target.held.length === 1, { what: 'the replay' });
  await first.shutdown(); // the replay is still in flight at the deadline: abandoned

  target.mode = 'up';
  const second = new SpanMeterProcessor({ config });
  t.teardown(() => second.shutdown());
  await waitUntil(async () => spoolOf(await second.stats()).spool.replayedSpans === 50, { what: 'the replay by the next process' });
  const report = await second.stats();
  const duplicates = [...target.receiver.received.values()].filter((n) => n > 1).length;
  t.is(duplicates, 50, 'the receiver had stored the abandoned request');
  t.is(report.exporters[0].resentSpans, 50, 'and the re-send is counted');
});

test('damaged spool files found at start are removed and counted', async (t) => {
  const dir = tempDir(t);
  const name = (seq) => `${String(Date.now()).padStart(15, '0')}-1-${String(seq).padStart(9, '0')}.spool`;
  fs.writeFileSync(path.join(dir, name(0)), 'not a spool file');
  // The right magic, a version this code does not know, 7 spans.
  const future = Buffer.alloc(40);
  future.writeUInt32LE(0x50534d53, 0);
  future.writeUInt8(9, 4);
  future.writeUInt32LE(7, 8);
  fs.writeFileSync(path.join(dir, name(1)), future);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${await freePort()}/api/v2/spans` }], spool: { dir } } },
  });
  t.teardown(() => processor.shutdown());
  await waitUntil(async () => spoolOf(await processor.stats()).spool.available, { what: 'the spool' });
  const report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_spool_corrupt: 8 }, 'the header’s span count, or at least one span for a file without one');
  t.is(spoolOf(report).spool.batches, 0);
  t.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.spool')),
    [],
  );
});

test('a spool file deleted behind the spool’s back is counted when its replay finds it gone', async (t) => {
  const dir = tempDir(t);
  const target = await switchableReceiver(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `${target.receiver.url}/api/v2/spans` }], spool: { dir } } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(50);
  await processor.forceFlush();
  // Deleted while its replay is in flight, so that no copy of it is in memory once that fails.
  target.mode = 'hold';
  await waitUntil(() => target.held.length === 1, { what: 'the replay' });
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.spool'))) fs.rmSync(path.join(dir, f));
  target.mode = 'up';
  target.held[0].writeHead(503).end('down');
  await waitUntil(async () => exportDrops(await processor.stats()).export_spool_corrupt === 50, { what: 'the missing file counted' });
  t.is(spoolOf(await processor.stats()).spool.batches, 0);
});
