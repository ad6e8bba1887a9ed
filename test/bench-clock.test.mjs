// The benchmarks' CPU clock (bench/lib.js): the main thread's CPU time from the
// native addon, fine-grained and blind to other threads. /proc schedstat, used
// before, advanced in 4 ms ticks, which quantized every overhead figure.
import test from 'ava';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const { threadCpuTimeNs } = require('../native/index.js');
const { cpuClock } = require('../bench/lib.js');

/** Burns CPU on this thread for `us` microseconds of wall time; returns the wall ns taken. */
function burn(us) {
  const start = process.hrtime.bigint();
  let x = 0;
  while (process.hrtime.bigint() - start < BigInt(us * 1000)) x += Math.sqrt(x + 1);
  return Number(process.hrtime.bigint() - start);
}

test('the bench clock is the main thread CPU clock of the native addon', (t) => {
  t.true(cpuClock.mainThreadOnly);
  t.is(cpuClock.read, threadCpuTimeNs);
});

test('thread CPU time resolves well below a scheduler tick', (t) => {
  for (let i = 0; i < 20; i++) {
    const wallStart = process.hrtime.bigint();
    const before = threadCpuTimeNs();
    burn(300);
    const spent = threadCpuTimeNs() - before;
    const wallNs = Number(process.hrtime.bigint() - wallStart);
    // a tick-based clock reads 0 or a multiple of the tick (4 ms) here; the
    // 2 ms of slack is for the VM's accounting, half a tick
    t.true(spent > 0, `run ${i}: no CPU time counted for ${wallNs} ns of work`);
    t.true(spent <= wallNs + 2_000_000, `run ${i}: ${spent} ns of CPU in ${wallNs} ns of wall time`);
  }
});

test('thread CPU time does not count another thread’s work', async (t) => {
  // a fixed amount of work, timed by the worker on its own thread CPU clock:
  // on a loaded machine it takes longer, not less CPU
  const addon = require.resolve('../native/index.js');
  const before = threadCpuTimeNs();
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { threadCpuTimeNs } = require(${JSON.stringify(addon)});
     const start = threadCpuTimeNs(); let x = 0;
     for (let i = 0; i < 2e7; i++) x += Math.sqrt(x + 1);
     parentPort.postMessage({ ms: (threadCpuTimeNs() - start) / 1e6, x });`,
    { eval: true },
  );
  const { ms: workerMs } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const mainMs = (threadCpuTimeNs() - before) / 1e6;
  await worker.terminate();
  // the worker burned tens of ms or more; the waiting main thread far less
  t.true(workerMs >= 20, `worker thread CPU ${workerMs} ms`);
  t.true(mainMs < workerMs / 2, `main thread ${mainMs} ms while the worker used ${workerMs} ms`);
});
