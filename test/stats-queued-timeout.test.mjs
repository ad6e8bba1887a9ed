// README, "stats()": a stats() "that gets no result within workerTimeoutMs of
// the call (waiting for a thread included) rejects with SPANMETER_WORKER_TIMEOUT".
// A call made while another report runs waits for the next report; its limit
// must still count from its own call, not restart when that report starts.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanMeterProcessor } from 'spanmeter';

const HANG_WORKER = fileURLToPath(new URL('./fixtures/hang-summary-worker.cjs', import.meta.url));

test('a stats() call made while another report runs rejects within workerTimeoutMs of its own call', async (t) => {
  const marker = path.join(os.tmpdir(), `spanmeter-hang-summary-${process.pid}`);
  process.env.SPANMETER_TEST_HANG = marker;
  fs.writeFileSync(marker, '');
  t.teardown(() => fs.rmSync(marker, { force: true }));
  const timeoutMs = 3000;
  const processor = new SpanMeterProcessor({ backend: 'js', workerTimeoutMs: timeoutMs });
  // the pool starts at the first task: its worker hangs on every summary
  processor.pool.filename = HANG_WORKER;
  processor.onEnd({ name: 'op', kind: 0, resource: { attributes: { 'service.name': 's' } }, duration: [0, 1e6], status: { code: 0 } });
  const outcome = (p) => p.then(() => ({ code: 'resolved', at: Date.now() }), (e) => ({ code: e.code, at: Date.now() }));
  const first = outcome(processor.stats());
  const second = outcome(processor.stats()); // same moment, same limit
  const [a, b] = await Promise.all([first, second]);
  t.is(a.code, 'SPANMETER_WORKER_TIMEOUT');
  t.is(b.code, 'SPANMETER_WORKER_TIMEOUT');
  // both were called in the same turn: the second is due when the first is, not a whole limit later
  t.true(b.at - a.at < timeoutMs / 2, `the second call rejected ${b.at - a.at} ms after the first (limit ${timeoutMs} ms)`);
  fs.rmSync(marker, { force: true });
  await processor.shutdown();
});
