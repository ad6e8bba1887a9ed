// A spool file whose header is intact but whose batch is damaged: the spool
// decodes a batch once when it reads it back, counts a damaged one as
// export_spool_corrupt and removes it. Before, a user SpanExporter got it: the
// main thread's decode failed, the failure counted as the exporter's (retryable),
// its circuit opened, and the damaged file blocked the replay of those behind it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanMeterProcessor } from 'spanmeter';
import { ExporterTarget } from '../dist/export/targets/exporter-target.js';
import { emitter, exportDrops, freePort, spoolOf, tempDir, waitUntil } from './helpers/export.mjs';

/** Spools 30 spans in 3 files (the collector is down), then cuts the end off the first file's batch, header kept consistent. */
async function damagedSpool(t) {
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        targets: [{ type: 'otlp', endpoint: `http://127.0.0.1:${await freePort()}/v1/traces` }],
        batch: { delay: '1h', max_spans: 10 },
        retry: { failure_threshold: 1 },
        spool: { dir },
        shutdown_timeout: '1s',
      },
    },
  });
  const { provider, emit } = emitter(processor);
  emit(30);
  await provider.shutdown();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.spool')).sort();
  t.is(files.length, 3);
  const first = path.join(dir, files[0]);
  const data = fs.readFileSync(first);
  const cut = data.subarray(0, data.length - 40); // the end of the last span is lost
  cut.writeUInt32LE(cut.length - 24, 12); // the spool header's payload length agrees
  fs.writeFileSync(first, cut);
  return dir;
}

test('a damaged spooled batch is counted and removed; a user exporter gets the others and stays healthy', async (t) => {
  const dir = await damagedSpool(t);
  const exporter = new InMemorySpanExporter();
  const processor = new SpanMeterProcessor({
    config: { export: { spool: { dir }, retry: { initial_backoff: '10ms', max_backoff: '20ms' }, circuit_breaker: { open_duration: '100ms', max_open_duration: '200ms' } } },
    exporters: [exporter],
  });
  t.teardown(() => processor.shutdown());
  await waitUntil(async () => spoolOf(await processor.stats()).spool.batches === 0, { what: 'the spool replayed' });
  t.is(exporter.getFinishedSpans().length, 20, 'the two good batches');
  const report = await processor.stats();
  t.deepEqual(exportDrops(report), { export_spool_corrupt: 10 });
  t.is(report.exporters[0].state, 'healthy');
  t.is(report.exporters[0].spansFailed, 0);
  t.is(spoolOf(report).spool.replayedSpans, 20);
  // A file is forgotten first, then unlinked: stats() may come in between.
  await waitUntil(() => fs.readdirSync(dir).every((f) => !f.endsWith('.spool')), { what: 'every spool file removed' });
});

test('a batch the main thread cannot read is a bad batch for the exporter target, not a retryable failure', async (t) => {
  const target = new ExporterTarget({ type: 'exporter', name: 'mine', index: 0, timeoutMs: 1000 }, async () => ({ ok: false, error: 'spanmeter: bad batch: truncated', bad: true }));
  const result = await target.send({ bytes: new Uint8Array(0), from: 0, to: 1, decode: () => [] });
  t.like(result, { ok: false, kind: 'bad', notSent: true, error: 'spanmeter: bad batch: truncated' });
  const down = new ExporterTarget({ type: 'exporter', name: 'mine', index: 0, timeoutMs: 1000 }, async () => ({ ok: false, error: 'collector down' }));
  t.like(await down.send({ bytes: new Uint8Array(0), from: 0, to: 1, decode: () => [] }), { ok: false, kind: 'retryable' });
});
