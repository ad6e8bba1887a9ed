// A stats() call that joined the queued report late got only what was left of the first queued
// caller's workerTimeoutMs: with a healthy worker it rejected with SPANMETER_WORKER_TIMEOUT ~1 ms
// after its own call. Each call now has its own limit, from its own call.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';

test('a stats() call joining the queued report late is not timed out within a few ms of its own call', async (t) => {
  const timeoutMs = 1500;
  const processor = new SpanMeterProcessor({ backend: 'js', workerTimeoutMs: timeoutMs });
  t.teardown(() => processor.shutdown());
  const resource = { attributes: { 'service.name': 's' } };
  // enough operations that a summary takes more than a few ms
  for (let i = 0; i < 3000; i++) processor.onEnd({ name: `op${i}`, kind: 0, resource, duration: [0, 1e6 + i], status: { code: 0 } });
  await processor.stats(); // the pool's thread is up
  const outcome = (p) => p.then(() => ({ code: 'resolved', at: Date.now() }), (e) => ({ code: e.code, at: Date.now() }));
  const a = outcome(processor.stats()); // runs
  const b = outcome(processor.stats()); // queued: its deadline is now + 400
  const start = Date.now();
  while (Date.now() < start + timeoutMs - 10); // the application is busy; the worker has answered meanwhile
  const calledAt = Date.now();
  const c = outcome(processor.stats()); // joins the queued report, with ~10 ms of the limit left
  const [ra, , rc] = await Promise.all([a, b, c]);
  t.is(ra.code, 'resolved');
  t.is(rc.code, 'resolved', `the late call rejected ${rc.at - calledAt} ms after it was made (limit ${timeoutMs} ms)`);
});
