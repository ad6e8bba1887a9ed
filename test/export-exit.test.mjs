// A process that ends without shutdown(): spans waiting for export are flushed
// when its event loop empties, and after process.exit() the ones that could not
// be sent are reported on stderr rather than lost silently.
import test from 'ava';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, startOtlpReceiver, waitUntil } from './helpers/export.mjs';

const run = promisify(execFile);
const child = path.join(FIXTURES, 'exit-child.mjs');

test('spans still queued when the event loop empties are delivered before the process exits', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const { stdout, stderr } = await run(process.execPath, [child, receiver.endpoint, '300', 'return'], { timeout: 60_000 });
  const { ids } = JSON.parse(stdout.trim());
  t.is(ids.length, 300);
  // The child has exited: what it delivered reaches the test through the receiver's IPC.
  await waitUntil(() => ids.every((id) => receiver.received.has(id)), { what: 'every span id at the receiver' });
  t.is(receiver.spans.length, 300, 'each span once');
  t.notRegex(stderr, /not exported/);
});

test('process.exit() with spans still queued: one stderr line counts them', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const { stdout, stderr } = await run(process.execPath, [child, receiver.endpoint, '250', 'exit'], { timeout: 60_000 });
  t.is(JSON.parse(stdout.trim()).ids.length, 250);
  const lines = stderr.split('\n').filter((line) => line.startsWith('spanmeter:'));
  t.deepEqual(lines, ['spanmeter: 250 ended spans were not exported when the process exited; await provider.shutdown() (or processor.forceFlush()) before exiting']);
  t.is(receiver.spans.length, 0);
});
