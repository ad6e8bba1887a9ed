// The spool's background work and the shutdown: the export worker retries an
// unavailable spool's lock every 2 s and expires old batches periodically. Once
// shutdown begins neither runs again, an attempt to take the lock that is in
// flight when the dispatcher closes is waited for and its lock released, and
// an expiry never touches the files after close (another process may own them
// by then). An expiry that fails never rejects: the failure shows in stats().
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { Dispatcher } from '../dist/export/dispatcher.js';
import { Spool } from '../dist/export/spool.js';
import { FIXTURES, liveProcess, tempDir } from './helpers/export.mjs';

const HOUR = 3_600_000;
const MAX_AGE = 60_000;
const POLICY = { initialBackoffMs: 10, maxBackoffMs: 50, failureThreshold: 2, openMs: 200, maxOpenMs: 400 };

function check(condition, what) {
  if (!condition) throw new Error(`setup failed: ${what}`);
}

/** Leaves a spooled batch `ageMs` old in `dir`, as an earlier process would; returns its file. */
async function spooledFile(dir, ageMs) {
  const writer = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'earlier00000' });
  check(writer.usable, writer.unavailable);
  check((await writer.write(new Uint8Array(64), 0, 3, Date.now() - ageMs, false)) === 'ok', 'spool write');
  await writer.close();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.spool'));
  return path.join(dir, files[files.length - 1]);
}

/** `dir` locked by another live process; returns the lock file and its content. */
async function lockedByAnother(t, dir) {
  const other = await liveProcess(t);
  const lock = path.join(dir, 'spool.lock');
  const content = `${other.pid}:${other.identity}:0123456789ab`;
  fs.writeFileSync(lock, content);
  return { lock, content, pid: other.pid };
}

function dispatcherOn(spool) {
  return new Dispatcher({ targets: [], policy: POLICY, spool, concurrency: 1, onSettled: () => {} });
}

const spoolStatus = (dispatcher) => dispatcher.status().exporters.find((e) => e.type === 'spool');

test('an attempt to take the spool that is in flight when the dispatcher closes: close() waits for it and releases the lock; the spool is not used', async (t) => {
  const dir = tempDir(t);
  const old = await spooledFile(dir, HOUR);
  const { lock } = await lockedByAnother(t, dir);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'closing00000' });
  t.false(spool.usable);
  const dispatcher = dispatcherOn(spool);

  fs.rmSync(lock); // the other process releases it
  let settled = false;
  const attempt = dispatcher.acquireSpool().finally(() => (settled = true));
  await dispatcher.close();
  t.true(settled, 'close() resolves only once the attempt has: the worker may be ended right after it');
  t.false(fs.existsSync(lock), 'no lock is left behind');
  t.false(await attempt, 'a spool taken while closing is not used');
  t.true(fs.existsSync(old), 'nor expired after close');
  t.deepEqual(dispatcher.counters().dropped, {});
});

test('after close the dispatcher never takes the spool', async (t) => {
  const dir = tempDir(t);
  const { lock } = await lockedByAnother(t, dir);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'closed000000' });
  const dispatcher = dispatcherOn(spool);
  await dispatcher.close();
  fs.rmSync(lock);
  t.false(await dispatcher.acquireSpool());
  t.false(fs.existsSync(lock));
  t.false(spool.usable);
});

test('attempts to take the spool do not overlap: a call while one is in flight shares its outcome', async (t) => {
  const dir = tempDir(t);
  const { lock } = await lockedByAnother(t, dir);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'overlap00000' });
  const dispatcher = dispatcherOn(spool);
  let attempts = 0;
  const acquire = spool.acquire.bind(spool);
  spool.acquire = () => {
    attempts++;
    return acquire();
  };
  fs.rmSync(lock);
  t.deepEqual(await Promise.all([dispatcher.acquireSpool(), dispatcher.acquireSpool()]), [true, true]);
  t.is(attempts, 1);
  t.true(fs.readFileSync(lock, 'utf8').endsWith(':overlap00000'));
  await dispatcher.close();
  t.false(fs.existsSync(lock), 'released at close');
});

test('an expiry after close is a no-op: it removes no file and counts nothing', async (t) => {
  const dir = tempDir(t);
  const old = await spooledFile(dir, HOUR);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'expiry000000' });
  t.true(spool.usable, spool.unavailable);
  const dispatcher = dispatcherOn(spool);
  await dispatcher.close();
  await dispatcher.expireSpool();
  t.true(fs.existsSync(old), 'the file stays for the next owner');
  t.deepEqual(dispatcher.counters().dropped, {});
  t.is(dispatcher.counters().spool.expiredSpans, 0);
});

test('an expiry whose file cannot be removed resolves, counts the expired spans and shows the error in stats()', async (t) => {
  const dir = tempDir(t);
  const old = await spooledFile(dir, HOUR);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'failing00000' });
  const dispatcher = dispatcherOn(spool);
  t.teardown(() => dispatcher.close());
  // A non-empty directory in the file's place: removing it fails.
  fs.rmSync(old);
  fs.mkdirSync(old);
  fs.writeFileSync(path.join(old, 'x'), 'x');
  await t.notThrowsAsync(dispatcher.expireSpool());
  t.is(dispatcher.counters().dropped.export_spool_expired, 3);
  const status = spoolStatus(dispatcher);
  t.truthy(status.lastError);
  t.truthy(status.lastErrorAt);
});

test('an expiry that fails never rejects (a timer runs it, unawaited): the error shows in stats()', async (t) => {
  const dir = tempDir(t);
  const spool = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE, lockToken: 'rejects00000' });
  const dispatcher = dispatcherOn(spool);
  t.teardown(() => dispatcher.close());
  // Injected at the spool's boundary: its own file errors are caught inside it.
  spool.expire = () => Promise.reject(new Error('expiry failed (injected)'));
  await t.notThrowsAsync(dispatcher.expireSpool());
  t.regex(spoolStatus(dispatcher).lastError, /expiry failed \(injected\)/);
  t.truthy(spoolStatus(dispatcher).lastErrorAt);
});

/** The next message of `type` (and `id`, if given) from the worker. */
function next(worker, type, id) {
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message.t !== type || (id !== undefined && message.id !== id)) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(message);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

test('the export worker stops its spool timers (lock retry, expiry) when shutdown begins', async (t) => {
  const dir = tempDir(t);
  const { lock, content, pid } = await lockedByAnother(t, dir);
  const config = {
    enabled: true,
    targets: [],
    batch: { maxSpans: 50, maxBytes: 1 << 20, delayMs: 10, maxSpanBytes: 1 << 20 },
    queue: { maxSpans: 1000, maxBytes: 1 << 24 },
    retry: { initialBackoffMs: 10, maxBackoffMs: 50, failureThreshold: 2 },
    circuitBreaker: { openMs: 200, maxOpenMs: 400 },
    spool: { enabled: true, dir, maxBytes: 1 << 20, maxAgeMs: MAX_AGE },
    concurrency: 2,
    flushTimeoutMs: 1000,
    shutdownTimeoutMs: 1000,
    exitTimeoutMs: 0,
  };
  const worker = new Worker(path.join(FIXTURES, 'export-worker-intervals.cjs'), { workerData: { config, spoolLockToken: 'worker000000', counters: undefined } });
  t.teardown(() => worker.terminate());

  let answer = next(worker, 'status', 1);
  worker.postMessage({ t: 'status', id: 1 });
  const spool = (await answer).status.exporters.find((e) => e.type === 'spool');
  t.is(spool.spool.reason, `locked by process ${pid}`);
  answer = next(worker, 'intervals');
  worker.postMessage({ t: 'intervals' });
  t.is((await answer).live, 2, 'the expiry and the lock retry run');

  answer = next(worker, 'shutdown', 2);
  worker.postMessage({ t: 'shutdown', id: 2, deadlineAt: Date.now() + 1000 });
  await answer;
  answer = next(worker, 'intervals');
  worker.postMessage({ t: 'intervals' });
  t.is((await answer).live, 0, 'neither outlives the shutdown');
  t.is(fs.readFileSync(lock, 'utf8'), content, 'the other process keeps its lock');
});
