// The spool directory removed while the process runs (a tmp cleaner, an
// operator): the next write makes it again, with the lock, and while writes
// fail the spool says so (state `retrying`) instead of `healthy`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { emitter, exportDrops, FAST_EXPORT, freePort, spoolOf, tempDir, waitUntil } from './helpers/export.mjs';

test('a spool directory removed at runtime is made again at the next write; failing writes show as retrying', async (t) => {
  const dir = path.join(tempDir(t), 'spool');
  const processor = new SpanMeterProcessor({
    config: {
      export: { ...FAST_EXPORT, targets: [{ type: 'otlp', endpoint: `http://127.0.0.1:${await freePort()}/v1/traces` }], spool: { dir }, flush_timeout: '1s', shutdown_timeout: '1s' },
    },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  const spool = async () => spoolOf(await processor.stats());
  await waitUntil(async () => (await spool()).spool.available, { what: 'the spool' });

  fs.rmSync(dir, { recursive: true, force: true });
  emit(100);
  await waitUntil(async () => (await spool()).spool.spans === 100, { what: 'the spans spooled in the directory made again' });
  t.is((await spool()).state, 'healthy');
  t.regex(fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8'), new RegExp(`^${process.pid}:`), 'locked again');

  // A file where the directory was: writes fail until it goes.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.writeFileSync(dir, 'not a directory');
  emit(50);
  const failing = await waitUntil(async () => ((await spool()).state === 'retrying' ? spool() : undefined), { what: 'the spool reported as retrying' });
  t.truthy(failing.lastError);
  fs.rmSync(dir);
  await waitUntil(async () => (await spool()).spool.spooledSpans === 150, { what: 'the 50 spans spooled once the directory can be made' });
  t.is((await spool()).state, 'healthy');
  // The 100 spans removed with the directory count as corrupt once their replay finds them gone; nothing else is lost.
  const { export_spool_corrupt: removed = 0, ...others } = exportDrops(await processor.stats());
  t.true(removed <= 100);
  t.deepEqual(others, {});
});
