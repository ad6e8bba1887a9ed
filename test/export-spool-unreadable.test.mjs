// A spool file that cannot be read (not damaged, nor removed: a permission, a
// directory in its place) was read again and again, and every later spooled
// batch waited behind it until it expired. Now the others go first, and the
// file is tried again later; the spool's lastError says why.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startHttpReceiver, waitUntil, spoolOf, emitter, zipkinSpoolingProcessor } from './helpers/export.mjs';

test('an unreadable spool file does not hold back the batches spooled after it', async (t) => {
  let up = false;
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    if (!up) return res.writeHead(503).end('down');
    accept();
    res.writeHead(202).end();
  });
  t.teardown(() => receiver.close());
  // the breaker open long enough that no half-open probe reads the older file before the test replaces it
  const processor = zipkinSpoolingProcessor(t, receiver, { breaker: { open_duration: '2s', max_open_duration: '3s' } });
  const dir = processor.config.export.spool.dir;
  const { provider, emit, ids } = emitter(processor);
  t.teardown(() => provider.shutdown());
  // two batches, two spool files, while the target is down
  emit(3);
  await processor.forceFlush();
  emit(4);
  await processor.forceFlush();
  t.is(spoolOf(await processor.stats()).spool.batches, 2);
  // the older file becomes unreadable: a directory in its place (root reads any file)
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.spool')).sort();
  t.is(files.length, 2);
  fs.rmSync(path.join(dir, files[0]));
  fs.mkdirSync(path.join(dir, files[0]));
  up = true;
  // the newer batch is delivered, though the older one cannot be read
  await waitUntil(() => ids.slice(3).every((id) => receiver.received.has(id)), { what: 'the newer batch delivered' });
  const spool = spoolOf(await processor.stats());
  t.is(spool.spool.batches, 1, 'the unreadable file stays in the spool');
  t.is(spool.spool.spans, 3);
  t.regex(spool.lastError ?? '', /EISDIR/);
  t.false(ids.slice(0, 3).some((id) => receiver.received.has(id)));
});
