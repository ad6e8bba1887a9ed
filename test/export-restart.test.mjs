// The export worker dies and is restarted (up to 3 times): the new one takes
// its pipeline's spool over, continues the counters of the one before it, and
// is not confused by answers meant for its predecessor. A spool lock left by
// an earlier process with this pid is stale; one of another pipeline of this
// process (another thread) is not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { ExportResultCode } from '@opentelemetry/core';
import { SpanMeterProcessor } from 'spanmeter';
import { ExporterTarget } from '../dist/export/targets/exporter-target.js';
import { startHttpReceiver, tempDir, waitUntil, freePort, spoolOf, exportDrops, FAST_EXPORT, emitter } from './helpers/export.mjs';

/** Kills the export worker as a crash would, and waits for the pipeline to start the next one. */
async function killExportWorker(processor) {
  const pipeline = processor.extensions.find((e) => e.name === 'export');
  const dying = pipeline.worker;
  await dying.terminate();
  await waitUntil(() => pipeline.worker !== undefined && pipeline.worker !== dying, { what: 'the restarted worker' });
}

test('a restarted worker takes its own spool lock over: the spool is replayed, and takes later outages', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${port}/api/v2/spans` }], spool: { dir } } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(200);
  await processor.forceFlush();
  t.is(spoolOf(await processor.stats()).spool.spans, 200);

  await killExportWorker(processor);
  let spool = spoolOf(await processor.stats());
  t.true(spool.spool.available, spool.spool.reason);
  t.is(spool.spool.spans, 200, 'the new worker found the spooled batches');

  const receiver = await startHttpReceiver(undefined, { port });
  await waitUntil(() => receiver.received.size === 200, { what: 'the replay' });
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'an empty spool' });
  t.is(spoolOf(await processor.stats()).spool.replayedSpans, 200);

  // The next outage spools again.
  await receiver.close();
  emit(100);
  await processor.forceFlush();
  const report = await processor.stats();
  spool = spoolOf(report).spool;
  t.is(spool.spans, 100);
  t.is(spool.spooledSpans, 300, 'spooled by both workers');
  t.deepEqual(exportDrops(report), {});
});

test("a lock with this process's pid and another process's identity is stale (a container restarted, PID 1 again)", async (t) => {
  const dir = tempDir(t);
  const lock = path.join(dir, 'spool.lock');
  fs.writeFileSync(lock, `${process.pid}:linux-00000000-0000-0000-0000-000000000000-1:0123456789ab`);
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${await freePort()}/api/v2/spans` }], spool: { dir } } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(100);
  await processor.forceFlush();
  const spool = spoolOf(await processor.stats()).spool;
  t.true(spool.available, spool.reason);
  t.is(spool.spans, 100);
  t.notRegex(fs.readFileSync(lock, 'utf8'), /0123456789ab/, 'the lock is the new pipeline’s');
});

/** A SpanMeterProcessor with export in a worker thread of this process; `ask(cmd)` resolves with its answer. */
function processorInThread(t, dir, endpoint) {
  const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { SpanMeterProcessor } = require(workerData.dist);
    const config = { export: { targets: [{ type: 'zipkin', endpoint: workerData.endpoint }], spool: { dir: workerData.dir } } };
    const processor = new SpanMeterProcessor({ config });
    parentPort.on('message', async (cmd) => {
      if (cmd === 'shutdown') return parentPort.postMessage(await processor.shutdown().then(() => 'done'));
      const spool = (await processor.stats()).exporters.find((e) => e.type === 'spool').spool;
      parentPort.postMessage({ available: spool.available, reason: spool.reason ?? '' });
    });`;
  const worker = new Worker(code, { eval: true, workerData: { dist, dir, endpoint } });
  t.teardown(() => worker.terminate());
  const ask = (cmd) => new Promise((resolve) => worker.once('message', resolve).postMessage(cmd));
  return { ask };
}

test('two pipelines in two threads of one process do not share a spool directory: the second is refused', async (t) => {
  const dir = tempDir(t);
  const endpoint = `http://127.0.0.1:${await freePort()}/api/v2/spans`;
  const a = processorInThread(t, dir, endpoint);
  await waitUntil(async () => (await a.ask('status')).available, { what: "the first thread's spool" });
  const lock = fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8');
  const b = processorInThread(t, dir, endpoint);
  const refused = await waitUntil(async () => {
    const status = await b.ask('status');
    return status.reason.includes('another processor in this process') && status;
  }, { what: "the second thread's spool to be refused" });
  t.false(refused.available);
  t.true((await a.ask('status')).available, 'the first keeps its spool');
  t.is(fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8'), lock, 'and its lock');
  t.is(await a.ask('shutdown'), 'done');
  t.false(fs.existsSync(path.join(dir, 'spool.lock')), 'released at shutdown');
});

test('a split batch whose worker dies: the parts it settled are not counted again as lost with it', async (t) => {
  const held = [];
  let halves = 0;
  const receiver = await startHttpReceiver((req, body, res) => {
    const spans = JSON.parse(body.toString('utf8')).length;
    if (spans === 10) return res.writeHead(413).end('too large');
    if (halves++ === 0) return res.writeHead(400).end('bad'); // one half is refused (dropped, counted)
    held.push(res); // the other is never answered
  });
  t.teardown(() => {
    for (const res of held) res.destroy();
    return receiver.close();
  });
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, batch: { max_spans: 10, delay: '10ms' }, spool: { enabled: false }, targets: [{ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }] } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(10);
  void processor.forceFlush(); // resolves only when the held half is settled
  await waitUntil(async () => held.length >= 1 && exportDrops(await processor.stats()).export_bad_batch === 5, { what: 'one half dropped, one held' });
  await killExportWorker(processor);
  t.deepEqual(exportDrops(await processor.stats()), { export_bad_batch: 5, export_worker_error: 5 }, '10 spans, each counted once');
});

test('drop counts and target counters survive a worker restart', async (t) => {
  const receiver = await startHttpReceiver((req, body, res) => res.writeHead(400).end('bad'));
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, spool: { enabled: false }, targets: [{ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }] } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(100);
  await processor.forceFlush();
  let report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_bad_batch: 100 });
  t.is(report.exporters[0].badBatches, 2);

  await killExportWorker(processor);
  report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_bad_batch: 100 }, 'the dead worker’s drops are kept');
  t.is(report.exporters[0].badBatches, 2);
  t.is(report.exporters[0].spansFailed, 100);
  t.regex(report.exporters[0].lastError, /HTTP 400/);

  emit(50);
  await processor.forceFlush();
  report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_bad_batch: 150 }, 'and the new worker adds to them');
  t.is(report.exporters[0].badBatches, 3);
});

test('a user exporter answering a dead worker’s call does not settle the new worker’s batch', async (t) => {
  const calls = [];
  const exporter = {
    export: (spans, done) => calls.push({ spans, done }),
    shutdown: async () => {},
  };
  const processor = new SpanMeterProcessor({ exporters: [exporter], config: { export: { ...FAST_EXPORT, spool: { enabled: false } } } });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(10);
  await waitUntil(() => calls.length === 1, { what: 'the first export() call' });
  await killExportWorker(processor); // its 10 spans are counted as export_worker_error
  emit(5);
  await waitUntil(() => calls.length === 2, { what: 'the new worker’s export() call' });
  calls[0].done({ code: ExportResultCode.SUCCESS }); // too late: its worker is gone
  calls[1].done({ code: ExportResultCode.FAILED, error: new Error('down') });
  await waitUntil(() => calls.length === 3, { what: 'the retry of the failed batch' });
  calls[2].done({ code: ExportResultCode.SUCCESS });
  await processor.forceFlush();
  const report = await processor.stats();
  t.is(calls[2].spans.length, 5);
  t.is(report.exporters[0].spansSent, 5);
  t.is(report.exporters[0].batchesFailed, 1);
  t.deepEqual(exportDrops(report), { export_worker_error: 10 });
});

test('a user exporter that never calls back: its pending call is abandoned at the timeout', async (t) => {
  let signal;
  const target = new ExporterTarget({ type: 'exporter', name: 'silent', index: 0, timeoutMs: 20 }, (index, bytes, from, to, s) => {
    signal = s;
    return new Promise(() => {});
  });
  // The target's timer is unref'd (it must not keep the worker alive): keep this process alive meanwhile.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const result = await target.send({ bytes: new Uint8Array(0), from: 0, to: 1, decode: () => [] });
  t.false(result.ok);
  t.true(result.ambiguous);
  t.true(signal?.aborted, 'the worker is told to forget the call');
});
