// shutdown_timeout bounds the export's shutdown, a user SpanExporter's shutdown()
// included: one that never settles kept processor.shutdown() (and provider.shutdown())
// pending forever, and the application's SIGTERM handler never got to exit.
import test from 'ava';
import { ExportResultCode } from '@opentelemetry/core';
import { SpanMeterProcessor } from 'spanmeter';
import { emitter } from './helpers/export.mjs';

test('processor.shutdown() resolves within shutdown_timeout even when an exporter’s shutdown() hangs', async (t) => {
  const exporter = {
    export: (spans, done) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: () => new Promise(() => {}),
  };
  const processor = new SpanMeterProcessor({ exporters: [exporter], config: { export: { shutdown_timeout: '500ms', spool: { enabled: false } } } });
  const { emit } = emitter(processor);
  emit(10);
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const outcome = await Promise.race([processor.shutdown().then(() => 'resolved'), new Promise((r) => setTimeout(() => r('still pending after 10 s'), 10_000))]);
  t.is(outcome, 'resolved');
  // and says which exporter it left behind
  const report = await processor.stats();
  const entry = report.exporters.find((e) => e.type === 'exporter');
  t.regex(entry.lastError ?? '', /^shutdown\(\) did not settle within \d+ ms/);
  t.is(report.totals.dropped.export_shutdown_timeout, undefined, 'the 10 spans were exported before');
  t.is(entry.spansSent, 10);
});

test('with nothing else holding the process, await shutdown() still resolves and the code after it runs', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { FIXTURES } = await import('./helpers/export.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [`${FIXTURES}/shutdown-hung-exporter-child.mjs`], { timeout: 30_000 });
  const line = JSON.parse(stdout.trim());
  t.true(line.resolved);
  t.regex(line.lastError ?? '', /^shutdown\(\) did not settle within/);
});
