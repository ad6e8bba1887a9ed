/**
 * The export worker: a long-lived thread that owns the targets, the failover
 * engine and the spool. The main thread only encodes spans and hands batches
 * over; see pipeline.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Dispatcher } from './dispatcher';
import { HttpClient } from './http';
import type { FromWorker, ToWorker, WorkerInit, WorkerStatus } from './protocol';
import { Spool } from './spool';
import { ExporterTarget } from './targets/exporter-target';
import { FileTarget } from './targets/file-target';
import { HttpTarget } from './targets/http-target';
import type { Target } from './targets/types';

/**
 * The export worker yields the CPU to the application: on Linux it lowers its own
 * thread's priority (nice +10), so that on a machine with few cores the event
 * loop wins when both want to run. Elsewhere (or when not permitted) nothing changes.
 */
function lowerPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.min(19, os.getPriority(tid) + 10));
  } catch {
    // no /proc or not permitted: run at the normal priority
  }
}
lowerPriority();

const port = parentPort;
if (port === null) throw new Error('spanmeter: the export worker must run in a worker thread');
const { config, spoolLockToken, counters } = workerData as WorkerInit;

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port!.postMessage(message, transfer);
}

const client = new HttpClient(config.concurrency);
/** How often an unavailable spool is tried again. */
const LOCK_RETRY_MS = 2000;
/** The spool's expiry and lock retry: stopped when shutdown begins (the dispatcher refuses them after close as well). */
const spoolTimers: NodeJS.Timeout[] = [];
let nextCall = 1;
const calls = new Map<number, (result: { ok: boolean; error?: string; bad?: boolean }) => void>();

const targets: Target[] = config.targets.map((t) => {
  if (t.type === 'file') return new FileTarget(t);
  if (t.type === 'exporter') {
    return new ExporterTarget(t, (index, bytes, from, to, signal) => {
      const id = nextCall++;
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return new Promise((resolve) => {
        calls.set(id, resolve);
        // Timed out: an exporter that never calls back must not hold its entry forever.
        signal.addEventListener('abort', () => calls.delete(id), { once: true });
        post({ t: 'export', id, index, buf, from, to }, [buf]);
      });
    });
  }
  return new HttpTarget(t, client);
});

const ready: Promise<Dispatcher> = (async () => {
  const spool = config.spool.enabled ? await Spool.open({ dir: config.spool.dir, maxBytes: config.spool.maxBytes, maxAgeMs: config.spool.maxAgeMs, lockToken: spoolLockToken }) : undefined;
  const dispatcher = new Dispatcher({
    targets,
    policy: { ...config.retry, ...config.circuitBreaker },
    spool,
    concurrency: config.concurrency,
    onSettled: (seq) => post({ t: 'ack', seq }),
    counters,
    onCounters: (latest) => post({ t: 'counters', counters: latest }),
  });
  if (spool !== undefined) {
    await dispatcher.expireSpool();
    const every = Math.max(1000, Math.min(60_000, config.spool.maxAgeMs / 4));
    spoolTimers.push(setInterval(() => void dispatcher.expireSpool(), every).unref());
    if (!spool.usable) {
      // Another process may hold it (a rolling restart): take it once released.
      const retry = setInterval(() => void dispatcher.acquireSpool().then((usable) => usable && clearInterval(retry)), LOCK_RETRY_MS);
      spoolTimers.push(retry.unref());
    }
  }
  return dispatcher;
})();

let shuttingDown = false;

/**
 * The status for an answer, or undefined when building it fails (a bug): the
 * main thread must get its answer in any case, or stats() and shutdown() wait
 * for their time limits.
 */
function statusOf(dispatcher: Dispatcher | undefined): WorkerStatus | undefined {
  try {
    return dispatcher?.status();
  } catch {
    return undefined;
  }
}

port.on('message', (message: ToWorker) => {
  if (message.t === 'exported') {
    const resolve = calls.get(message.id);
    calls.delete(message.id);
    resolve?.({ ok: message.ok, error: message.error, bad: message.bad });
    return;
  }
  void ready
    .then(async (dispatcher) => {
      switch (message.t) {
        case 'batch':
          dispatcher.add(message.seq, new Uint8Array(message.buf));
          break;
        case 'status':
          post({ t: 'status', id: message.id, status: statusOf(dispatcher) });
          break;
        case 'shutdown': {
          if (shuttingDown) return;
          shuttingDown = true;
          for (const timer of spoolTimers.splice(0)) clearInterval(timer);
          try {
            // Keep a little of the time for spooling what is left.
            const margin = Math.min(2000, Math.max(0, message.deadlineAt - Date.now()) * 0.1);
            await dispatcher.drain(message.deadlineAt - margin, () => {
              client.close();
              for (const [id, resolve] of calls) {
                calls.delete(id);
                resolve({ ok: false, error: 'shut down' });
              }
            });
            await dispatcher.close();
          } finally {
            client.close();
            // Answer in any case: the main thread counts what was not settled.
            post({ t: 'shutdown', id: message.id, status: statusOf(dispatcher) });
          }
          break;
        }
      }
    })
    .catch(() => {
      // A bug, not an export failure: the main thread counts unsettled batches if the worker goes.
      if (message.t === 'status') post({ t: 'status', id: message.id, status: undefined });
    });
});
