// The worker pool that stats() and SLO evaluations run on: a task that takes
// too long or loses its worker fails with a clear error, and the next task
// gets a fresh pool instead of waiting behind the broken one.
import test from 'ava';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';

const require = createRequire(import.meta.url);
const { LazyPool, poolThreads } = require('../dist/stats/pool.js');
const WORKER = fileURLToPath(new URL('./fixtures/pool-worker.cjs', import.meta.url));

test('a task past the timeout rejects with SPANMETER_WORKER_TIMEOUT, and the next task runs on another worker', async (t) => {
  // the pool's limit (200 ms) for the task that hangs only: the others have
  // a minute, so that a worker slow to start on a loaded machine fails nothing
  const pool = new LazyPool(WORKER, 200);
  const first = await pool.run('a', { timeoutMs: 60_000 });
  const error = await t.throwsAsync(pool.run(null, { name: 'hang' }));
  t.is(error.code, 'SPANMETER_WORKER_TIMEOUT');
  t.regex(error.message, /within 200 ms \(option workerTimeoutMs\)/);
  const next = await pool.run('b', { timeoutMs: 60_000 });
  t.deepEqual(next.echo, 'b');
  t.not(next.threadId, first.threadId, 'the hung worker is not reused');
  t.is(pool.restarts, 0, 'piscina replaced the worker: the pool goes on');
  await pool.close();
});

test('a task queued past the timeout rejects alone: the tasks running before it are not disturbed', async (t) => {
  // every thread of the pool blocked until released, then one task that waits
  // for them: its limit passes while it is queued; theirs (a minute) do not
  const threads = poolThreads();
  const gate = new SharedArrayBuffer(4);
  const pool = new LazyPool(WORKER, 60_000);
  const running = Array.from({ length: threads }, () => pool.run(gate, { name: 'block' }));
  const queued = pool.run('late', { timeoutMs: 300 });
  const error = await t.throwsAsync(queued);
  t.is(error.code, 'SPANMETER_WORKER_TIMEOUT');
  t.regex(error.message, /within 300 ms/);
  Atomics.store(new Int32Array(gate), 0, 1);
  Atomics.notify(new Int32Array(gate), 0);
  const results = await Promise.all(running);
  t.deepEqual(results.map((r) => r.blocked), Array(threads).fill(true));
  t.is(pool.restarts, 0);
  t.is((await pool.run('c')).echo, 'c');
  await pool.close();
});

test('a task whose worker dies rejects with the worker\'s error, and the next task runs on its replacement', async (t) => {
  const pool = new LazyPool(WORKER, 60_000);
  const first = await pool.run('a');
  const error = await t.throwsAsync(pool.run(null, { name: 'exit' }));
  t.regex(error.message, /exited/);
  const next = await pool.run('b');
  t.is(next.echo, 'b');
  t.not(next.threadId, first.threadId);
  t.is(pool.restarts, 0);
  await pool.close();
});

/** A pool of the worker that dies while starting while `failing()` says so. */
function bootstrapPool(t) {
  const marker = path.join(os.tmpdir(), `spanmeter-bootstrap-${process.pid}-${Math.random()}`);
  process.env.SPANMETER_TEST_BOOTSTRAP_FAILS = marker;
  const pool = new LazyPool(fileURLToPath(new URL('./fixtures/pool-worker-bootstrap.cjs', import.meta.url)), 60_000);
  t.teardown(() => fs.rmSync(marker, { force: true }));
  return { pool, failing: (on) => (on ? fs.writeFileSync(marker, '') : fs.rmSync(marker, { force: true })) };
}

test.serial('tasks given while the worker dies starting fail (its error or SPANMETER_POOL_RESTARTED), and a fresh pool runs the next', async (t) => {
  const { pool, failing } = bootstrapPool(t);
  failing(true);
  const results = await Promise.allSettled([pool.run('a'), pool.run('b'), pool.run('c')]);
  for (const r of results) t.regex(r.status === 'rejected' ? `${r.reason.code} ${r.reason.message}` : 'resolved', /exited|SPANMETER_POOL_RESTARTED/);
  failing(false);
  t.is((await pool.run('d')).echo, 'd');
  await pool.close();
});

test.serial('a pool left without threads (a replacement worker died starting, piscina started no other) is replaced at the next task', async (t) => {
  const { pool, failing } = bootstrapPool(t);
  await pool.run('a');
  failing(true);
  // the idle worker is lost; its replacement dies while starting, and piscina stops there
  for (const thread of pool.threads) await thread.terminate();
  for (let wait = 0; wait < 6000 && pool.threads.length > 0; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(pool.threads.length, 0, 'no thread left');
  failing(false);
  // before: queued behind no thread, for good
  t.is((await pool.run('b')).echo, 'b');
  t.is(pool.restarts, 1);
  await pool.close();
});

test('close() waits for the tasks given before it, then refuses new ones with SPANMETER_POOL_CLOSED', async (t) => {
  const pool = new LazyPool(WORKER, 60_000);
  const before = pool.run('a');
  await pool.close();
  t.is((await before).echo, 'a');
  const error = await t.throwsAsync(pool.run('b'));
  t.is(error.code, 'SPANMETER_POOL_CLOSED');
});

eachBackend.serial('stats() after its worker threads were stopped over and over returns every span', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  for (let i = 0; i < 1000; i++) processor.onEnd(span(`op ${i % 10}`));
  t.is((await processor.stats()).totals.spans, 1000);
  // threads stopped as a crash would, while stats() calls are made: some of these
  // fail with the worker's error (a clear rejection, not a hang)
  const calls = [];
  for (let round = 0; round < 20; round++) {
    calls.push(processor.stats().then((r) => r.totals.spans, (e) => e.message));
    for (const thread of processor.pool.threads) await thread.terminate();
    await new Promise(setImmediate);
  }
  const outcomes = await Promise.all(calls);
  for (const outcome of outcomes) t.true(outcome === 1000 || /exited|terminated|SPANMETER_POOL_RESTARTED|restarted/.test(outcome), String(outcome));
  // the next one gets a fresh pool, and the report counts the restarts
  const report = await processor.stats();
  t.is(report.totals.spans, 1000);
  t.is(report.diagnostics.workerRestarts, processor.pool.restarts);
  await processor.shutdown();
});

test('workerTimeoutMs and stats.worker_timeout are checked', (t) => {
  t.throws(() => new SpanMeterProcessor({ workerTimeoutMs: 0 }), { code: 'SPANMETER_INVALID_OPTION', message: /option "workerTimeoutMs" must be a number of milliseconds from 1 to 2147483647, got 0/ });
  t.throws(() => new SpanMeterProcessor({ workerTimeoutMs: '5s' }), { message: /workerTimeoutMs/ });
  t.throws(() => new SpanMeterProcessor({ config: { stats: { worker_timeout: '30d' } } }), { message: /worker_timeout/ });
  const fromFile = new SpanMeterProcessor({ config: { stats: { worker_timeout: '5s' } } });
  t.is(fromFile.config.stats.workerTimeoutMs, 5000);
  return fromFile.shutdown();
});

/** A ReadableSpan-shaped object of 5 ms. */
function span(name) {
  return { name, kind: 1, resource: { attributes: { 'service.name': 'svc' } }, duration: [0, 5e6], status: { code: 0 } };
}

test('evaluateNow() after shutdown() rejects with SPANMETER_POOL_CLOSED (README, "Methods")', async (t) => {
  const rule = { name: 'R', type: 'error_rate', selector: { service: 'svc' }, window: '1m', above: 50 };
  const processor = new SpanMeterProcessor({ config: { alerting: { rules: [rule] }, notifiers: { log: { enabled: false } } } });
  await processor.shutdown();
  const error = await t.throwsAsync(processor.evaluateNow());
  t.is(error.code, 'SPANMETER_POOL_CLOSED');
});
