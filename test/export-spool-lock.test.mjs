// Who owns a spool directory: a lock whose pid now belongs to another live
// process (after a reboot, or pids wrapped around) is stale, told by the
// identity stored in it; a lock of a live owner is respected, and taken once
// that owner releases it (a rolling restart).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { processIdentity } from '../dist/export/process-identity.js';
import { emitter, exportDrops, FAST_EXPORT, FIXTURES, freePort, liveProcess, spoolOf, startOtlpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

const linux = process.platform === 'linux' ? test : test.skip;

/** A processor on `dir` whose target is down, with 100 spans ended; `spool()` resolves with its spool's status. */
async function processorOn(t, dir) {
  const processor = new SpanMeterProcessor({
    config: { export: { ...FAST_EXPORT, targets: [{ type: 'zipkin', endpoint: `http://127.0.0.1:${await freePort()}/api/v2/spans` }], spool: { dir }, shutdown_timeout: '1s' } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(100);
  return async () => spoolOf(await processor.stats()).spool;
}

test('the lock records more than the pid: the process identity (Linux: boot id and start time) and the processor token', async (t) => {
  const dir = tempDir(t);
  const spool = await processorOn(t, dir);
  const fresh = await spool();
  t.true(fresh.available);
  t.is(fresh.lockTakenOver, undefined, 'no lock was there to take over');
  const [pid, identity, token, ...rest] = fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8').split(':');
  t.deepEqual(rest, []);
  t.is(Number(pid), process.pid);
  t.is(identity, processIdentity());
  t.regex(token, /^[0-9a-f]{12}$/);
  if (process.platform === 'linux') {
    // Containers on one host share the boot id, and the start time is that of a pid in the
    // writer's pid namespace: this tells a reboot or a reused pid, not another container (docs/export.md).
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const startTicks = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[22 - 3];
    t.is(identity, `linux-${bootId}-${startTicks}`);
  }
});

linux('a lock whose pid belongs to another live process now (another boot id) is taken over', async (t) => {
  const dir = tempDir(t);
  const other = await liveProcess(t);
  // What a crashed process left before a reboot: the pid is someone else's now.
  const before = other.identity.replace(/^linux-[0-9a-f]{8}/, 'linux-00000000');
  t.not(before, other.identity);
  fs.writeFileSync(path.join(dir, 'spool.lock'), `${other.pid}:${before}:0123456789ab`);
  const startedAt = Date.now();
  const spool = await processorOn(t, dir);
  const status = await spool();
  t.true(status.available, status.reason);
  // shown, since a live owner in another container or on another host sharing the volume looks the same
  t.is(status.lockTakenOver.pid, other.pid);
  t.true(Date.parse(status.lockTakenOver.at) >= startedAt - 1000, status.lockTakenOver.at);
  await waitUntil(async () => (await spool()).spans === 100, { what: 'the 100 spans spooled' });
  t.notRegex(fs.readFileSync(path.join(dir, 'spool.lock'), 'utf8'), /0123456789ab/, 'the lock is the new pipeline’s');
});

test('a lock of a live process with its own identity is respected', async (t) => {
  const dir = tempDir(t);
  const other = await liveProcess(t);
  fs.writeFileSync(path.join(dir, 'spool.lock'), `${other.pid}:${other.identity}:0123456789ab`);
  const status = await (await processorOn(t, dir))();
  t.false(status.available);
  t.is(status.reason, `locked by process ${other.pid}`);
  t.is(status.lockTakenOver, undefined);
});

test('rolling restart: the new process takes the spool once the old one releases it, and replays what it left', async (t) => {
  const dir = tempDir(t);
  const old = spawn(process.execPath, [path.join(FIXTURES, 'spool-holder.mjs'), dir, `http://127.0.0.1:${await freePort()}/v1/traces`, '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => old.kill('SIGKILL'));
  const { pid, ids } = JSON.parse(await new Promise((resolve) => old.stdout.once('data', (d) => resolve(String(d)))));

  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({ config: { export: { ...FAST_EXPORT, targets: [{ type: 'otlp', endpoint: receiver.endpoint }], spool: { dir } } } });
  const { provider, emit, ids: newIds } = emitter(processor);
  t.teardown(() => provider.shutdown());
  const spool = async () => spoolOf(await processor.stats()).spool;
  t.is((await spool()).reason, `locked by process ${pid}`);

  old.stdin.write('stop\n');
  await new Promise((resolve) => old.once('exit', resolve));
  emit(10);
  await waitUntil(() => [...ids, ...newIds].every((id) => receiver.received.has(id)), { what: "the old process's spooled spans and the new ones at the receiver" });
  await waitUntil(async () => (await spool()).batches === 0, { what: 'an empty spool' });
  const after = await spool();
  t.true(after.available);
  t.is(after.replayedSpans, 50);
  t.deepEqual(exportDrops(await processor.stats()), {});
});
