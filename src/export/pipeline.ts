import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { context } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ProcessorExtension } from '../extension';
import type { StatsReport } from '../report';
import type { ExportConfig, TargetConfig } from './config';
import { decodeBatch } from './decoder';
import { ADDED, BATCH_FULL, SPAN_TOO_LARGE, SpanEncoder } from './encoder';
import { type ExitAware, unwatchExit, watchExit } from './exit';
import type { FromWorker, ToWorker, WorkerCounters, WorkerInit, WorkerStatus } from './protocol';
import { toReadableSpans } from './readable';
import { clearStaleLock } from './spool';
import { timerDelay } from './timers';
import { BATCH_HEADER_BYTES } from './wire';

/** The compiled export worker next to this file. */
export const EXPORT_WORKER = path.join(__dirname, 'worker.js');

const MAX_WORKER_RESTARTS = 3;

/**
 * The spool lock tokens of the pipelines of this module that ended (shut down,
 * or out of worker restarts): a lock left with one of them is stale.
 */
const endedSpoolLockTokens = new Set<string>();

/** What the user's exporters get for their `shutdown()` when the deadline is spent or nearly so. */
const EXPORTER_SHUTDOWN_GRACE_MS = 1000;

/**
 * The targets in priority order: the user's exporters that the config does not
 * place explicitly come first (in the order given), then the configured
 * targets; with neither, the file target is the default.
 */
export function resolveTargets(config: ExportConfig, exporterCount: number): TargetConfig[] {
  const placed = new Set(config.targets.filter((t) => t.type === 'exporter').map((t) => (t as { index: number }).index));
  const targets: TargetConfig[] = [];
  for (let i = 0; i < exporterCount; i++) {
    if (!placed.has(i)) targets.push({ type: 'exporter', name: `exporter-${i}`, index: i, timeoutMs: 30_000 });
  }
  for (const t of config.targets) {
    if (t.type === 'exporter' && t.index >= exporterCount) continue;
    targets.push(t);
  }
  if (targets.length === 0) targets.push({ type: 'file', name: 'file', dir: 'spanmeter-traces', maxFileBytes: 64 * 1024 * 1024, maxFiles: 5 });
  return targets;
}

/**
 * The main-thread half of the export pipeline, a processor extension. For each
 * ended span with the sampled flag it encodes the span once into the open
 * batch (O(size of the span), no object trees); a full batch (or one older
 * than `batch.delay`) is transferred to the export worker. The queue (open
 * batch plus batches the worker has not settled) is bounded in spans and bytes:
 * beyond that spans are dropped and counted, the application never waits.
 */
export class ExportPipeline implements ProcessorExtension, ExitAware {
  readonly name = 'export';
  private readonly encoder: SpanEncoder;
  private readonly config: ExportConfig;
  private worker: Worker | undefined;
  private workerRestarts = 0;
  private seq = 0;
  private readonly unacked = new Map<number, { spans: number; bytes: number }>();
  private queuedSpans = 0;
  /** The creation time given to the last batch (ms, strictly increasing). */
  private lastBatchCreatedMs = 0;
  private queuedBytes = 0;
  private readonly dropped: Record<string, number> = {};
  /** The spool lock token of every worker this pipeline starts. */
  private readonly spoolLockToken = randomBytes(6).toString('hex');
  /** The latest counters of the worker (they include those of the workers before it). */
  private workerCounters: WorkerCounters | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushWaiters: { upTo: number; resolve: () => void }[] = [];
  private readonly requests = new Map<number, (status: WorkerStatus | undefined) => void>();
  private nextRequest = 1;
  private refs = 0;
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;
  private finalStatus: WorkerStatus | undefined;
  /** The last status the worker sent (reported after a shutdown whose answer did not come). */
  private lastStatus: WorkerStatus | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  constructor(
    config: ExportConfig,
    private readonly exporters: readonly SpanExporter[] = [],
  ) {
    this.config = { ...config, targets: resolveTargets(config, exporters.length) };
    this.encoder = new SpanEncoder(BATCH_HEADER_BYTES + config.batch.maxBytes + config.batch.maxSpanBytes, config.batch.maxSpanBytes);
    this.startWorker();
    watchExit(this);
  }

  /** Hot path: encode a sampled span into the open batch. Never throws, never blocks. */
  onSpanEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & 1) === 0) return;
    const encoder = this.encoder;
    const limits = this.config.queue;
    if (this.closed) {
      this.count('export_after_shutdown', 1);
      // watched again (a shutdown without drops stopped watching): the exit line counts it
      watchExit(this);
      return;
    }
    if (this.queuedSpans + encoder.spans >= limits.maxSpans || this.queuedBytes + encoder.bytes >= limits.maxBytes) {
      this.count('export_queue_full', 1);
      return;
    }
    let result = encoder.add(span);
    if (result === BATCH_FULL) {
      this.flush();
      result = encoder.add(span);
    }
    if (result !== ADDED) {
      this.count(result === SPAN_TOO_LARGE ? 'export_span_too_large' : 'export_invalid_span', 1);
      return;
    }
    const batch = this.config.batch;
    if (encoder.spans >= batch.maxSpans || encoder.bytes >= batch.maxBytes) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, timerDelay(batch.delayMs));
      this.timer.unref();
    }
  }

  /** Resolves when every span ended before the call is delivered, spooled or counted as dropped. */
  forceFlush(): Promise<void> {
    this.flush();
    return this.waitForAcks(this.seq, this.config.flushTimeoutMs);
  }

  /**
   * Called when the event loop empties and the process is about to end without
   * `shutdown()`: shuts the export down with the `exit_timeout` deadline, so
   * the spans still queued are delivered, or spooled once the deadline passes,
   * before the process exits. A dead collector delays the exit by that much at
   * most. Spans ended afterwards (a `beforeExit` handler doing more work) are
   * counted as `export_after_shutdown`.
   */
  shutDownAtExit(): void {
    if (this.closed || this.config.exitTimeoutMs === 0 || this.unsettledSpans().queued === 0) return;
    if (this.shutdownPromise === undefined) this.shutdownPromise = this.doShutdown(this.config.exitTimeoutMs);
  }

  /**
   * Spans that will not be exported if the process ends now: encoded but not yet
   * delivered, spooled or dropped, plus, once a shutdown (the application's or
   * the one at exit) has started, those it dropped at its deadline (no spool to
   * take them) and those ended after it: an application whose SIGTERM handler
   * calls `process.exit()` after `shutdown()`, or without waiting for it, or
   * whose `beforeExit` handler ends more spans, learns of them on stderr.
   */
  unsettledSpans(): { queued: number; lostToShutdown: number } {
    return { queued: this.encoder.spans + this.queuedSpans, lostToShutdown: this.closed ? this.droppedAtShutdown() : 0 };
  }

  /** Spans lost to the shutdown: not delivered by its deadline (no spool to take them), or ended after it. */
  private droppedAtShutdown(): number {
    return (this.dropped.export_shutdown_timeout ?? 0) + (this.workerCounters?.dropped.export_shutdown_timeout ?? 0) + (this.dropped.export_after_shutdown ?? 0);
  }

  /**
   * Flushes, lets the worker deliver until the deadline, then spool the rest;
   * stops the worker and shuts the user's exporters down. Idempotent.
   */
  shutdown(_deadlineMs?: number): Promise<void> {
    // `shutdown_timeout` from the config is the deadline, whatever the processor passes
    if (this.shutdownPromise === undefined) this.shutdownPromise = this.doShutdown(this.config.shutdownTimeoutMs);
    return this.shutdownPromise;
  }

  async contribute(report: StatsReport): Promise<void> {
    const status = this.finalStatus ?? (await this.request((id) => ({ t: 'status', id }), 10_000));
    // The worker's drops as last reported: they outlive a worker that died (or did not answer).
    addCounts(report.totals.dropped, this.dropped);
    addCounts(report.totals.dropped, this.workerCounters?.dropped ?? {});
    if (status === undefined) return;
    report.exporters = [...(report.exporters ?? []), ...status.exporters];
  }

  private async doShutdown(deadlineMs: number): Promise<void> {
    this.flush();
    this.closed = true;
    const deadlineAt = Date.now() + deadlineMs;
    const worker = this.worker;
    if (worker !== undefined) {
      // The worker keeps the deadline itself; this wait only guards against a worker that hangs.
      const status = await this.request((id) => ({ t: 'shutdown', id, deadlineAt }), deadlineMs + 5000);
      this.finalStatus = status ?? this.lastStatus;
      this.worker = undefined;
      await worker.terminate().catch(() => undefined);
    }
    endedSpoolLockTokens.add(this.spoolLockToken);
    // Anything the worker did not settle in time is lost: count it.
    this.abandonUnacked('export_shutdown_timeout');
    // watched until here, so that a process.exit() meanwhile reports what was still queued;
    // after it, only while there are drops to report (a watched pipeline is never collected)
    if (this.droppedAtShutdown() === 0) unwatchExit(this);
    await this.shutDownExporters(Math.max(deadlineAt - Date.now(), EXPORTER_SHUTDOWN_GRACE_MS));
  }

  /**
   * Shuts the user's exporters down, waiting `waitMs` at most: one whose
   * `shutdown()` never settles must not keep the application's own shutdown
   * (its SIGTERM handler, say) from finishing. Its status says so.
   */
  private async shutDownExporters(waitMs: number): Promise<void> {
    await Promise.all(
      this.exporters.map(async (exporter, index) => {
        const settled = Promise.resolve()
          .then(() => exporter.shutdown())
          .then(
            () => true,
            () => true,
          );
        // referenced: the application awaits shutdown(), which must resolve (an unref'd
        // timer let the process exit first when nothing else held it)
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), waitMs);
        });
        const inTime = await Promise.race([settled, timedOut]);
        clearTimeout(timer);
        if (!inTime) this.noteExporterError(index, `shutdown() did not settle within ${waitMs} ms; spanmeter's shutdown went on without it`);
      }),
    );
  }

  /** Sets the final status's `lastError` of the target that is the user's exporter `index`. */
  private noteExporterError(index: number, error: string): void {
    const priority = this.config.targets.findIndex((t) => t.type === 'exporter' && t.index === index);
    const status = this.finalStatus?.exporters.find((e) => e.priority === priority && e.type === 'exporter');
    if (status === undefined) return;
    status.lastError = error;
    status.lastErrorAt = new Date().toISOString();
  }

  /** Hands the open batch to the worker. */
  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const spans = this.encoder.spans;
    // one millisecond apart at least: the spool names its files by this time, and replays them in
    // name order; batches of one millisecond were ordered by when each was spooled instead (a batch
    // retried while the next ones went to the spool came back after them)
    const createdMs = Math.max(Date.now(), this.lastBatchCreatedMs + 1);
    this.lastBatchCreatedMs = createdMs;
    const buf = this.encoder.take(createdMs);
    if (buf === undefined) return;
    const worker = this.worker;
    if (worker === undefined) {
      this.count('export_worker_error', spans);
      return;
    }
    const seq = ++this.seq;
    this.unacked.set(seq, { spans, bytes: buf.byteLength });
    this.queuedSpans += spans;
    this.queuedBytes += buf.byteLength;
    worker.postMessage({ t: 'batch', seq, buf } satisfies ToWorker, [buf]);
  }

  private startWorker(): void {
    // Here, not in the worker: the ended tokens are this thread's, and cannot change during the check.
    if (this.config.spool.enabled) clearStaleLock(this.config.spool.dir, (token) => endedSpoolLockTokens.has(token));
    const init: WorkerInit = { config: this.config, spoolLockToken: this.spoolLockToken, counters: this.workerCounters };
    const worker = new Worker(EXPORT_WORKER, { workerData: init, stdout: false, stderr: false });
    this.worker = worker;
    worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
    worker.on('error', () => this.onWorkerDeath(worker));
    worker.on('exit', () => this.onWorkerDeath(worker));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    if (this.refs === 0) worker.unref();
  }

  /**
   * The worker died: what it held is lost (counted); start another unless
   * shutting down. The next one continues from its counters and takes its spool lock over.
   */
  private onWorkerDeath(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.abandonUnacked('export_worker_error');
    if (!this.closed && this.workerRestarts < MAX_WORKER_RESTARTS) {
      this.workerRestarts++;
      this.startWorker();
    } else if (!this.closed) {
      // No worker will hold the spool lock again: let another pipeline take it over.
      endedSpoolLockTokens.add(this.spoolLockToken);
    }
  }

  /** Counts every batch the worker has not settled as dropped, and releases whoever waits. */
  private abandonUnacked(reason: string): void {
    // the parts of a split batch that the worker settled are counted there already (delivered, spooled or dropped)
    const settled = new Map(this.workerCounters?.settled ?? []);
    if (this.workerCounters !== undefined) this.workerCounters = { ...this.workerCounters, settled: [] };
    let spans = 0;
    for (const [seq, entry] of this.unacked) spans += entry.spans - Math.min(entry.spans, settled.get(seq) ?? 0);
    if (spans > 0) this.count(reason, spans);
    this.unacked.clear();
    this.queuedSpans = 0;
    this.queuedBytes = 0;
    this.resolveFlushWaiters(true);
    for (const resolve of this.requests.values()) resolve(undefined);
    this.requests.clear();
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    // A worker that was replaced: its counters were carried over already, its acks and answers are void.
    if (worker !== this.worker) return;
    switch (message.t) {
      case 'ack': {
        const entry = this.unacked.get(message.seq);
        if (entry === undefined) return;
        this.unacked.delete(message.seq);
        this.queuedSpans -= entry.spans;
        this.queuedBytes -= entry.bytes;
        this.resolveFlushWaiters(false);
        return;
      }
      case 'counters':
        this.workerCounters = message.counters;
        return;
      case 'status':
      case 'shutdown': {
        if (message.status !== undefined) {
          this.lastStatus = message.status;
          this.workerCounters = message.status.counters;
        }
        const resolve = this.requests.get(message.id);
        this.requests.delete(message.id);
        resolve?.(message.status);
        return;
      }
      case 'export':
        this.runExporter(worker, message.id, message.index, message.buf, message.from, message.to);
        return;
    }
  }

  /** Runs a user's exporter (main thread, tracing suppressed) and reports back to the worker that asked. */
  private runExporter(worker: Worker, id: number, index: number, buf: ArrayBuffer, from: number, to: number): void {
    let answered = false;
    const answer = (ok: boolean, error?: string, bad?: boolean): void => {
      if (answered) return;
      answered = true;
      // Not to a restarted worker: call ids start again at 1 there, the answer would settle another batch.
      if (worker === this.worker) worker.postMessage({ t: 'exported', id, ok, ...(error !== undefined ? { error } : {}), ...(bad ? { bad } : {}) } satisfies ToWorker);
    };
    const exporter = this.exporters[index];
    if (exporter === undefined) {
      answer(false, `no exporter at index ${index}`);
      return;
    }
    let spans: ReadableSpan[];
    try {
      spans = toReadableSpans(decodeBatch(new Uint8Array(buf)), from, to);
    } catch (error) {
      // The batch is unreadable, not the exporter down: retrying it would only fail again.
      answer(false, (error as Error)?.message ?? String(error), true);
      return;
    }
    try {
      context.with(suppressTracing(context.active()), () => {
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) answer(true);
          else answer(false, result.error?.message ?? 'export failed');
        });
      });
    } catch (error) {
      answer(false, `export() threw: ${(error as Error)?.message ?? error}`);
    }
  }

  /** Sends a request to the worker; resolves undefined when it is gone or too slow. */
  private request(make: (id: number) => ToWorker, timeoutMs: number): Promise<WorkerStatus | undefined> {
    const worker = this.worker;
    if (worker === undefined) return Promise.resolve(undefined);
    const id = this.nextRequest++;
    this.ref();
    return new Promise<WorkerStatus | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.requests.delete(id);
        resolve(undefined);
      }, timerDelay(timeoutMs));
      timer.unref();
      this.requests.set(id, (status) => {
        clearTimeout(timer);
        resolve(status);
      });
      worker.postMessage(make(id));
    }).finally(() => this.unref());
  }

  private waitForAcks(upTo: number, timeoutMs: number): Promise<void> {
    if (this.settledUpTo(upTo)) return Promise.resolve();
    this.ref();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timerDelay(timeoutMs));
      timer.unref();
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.flushWaiters = self.flushWaiters.filter((w) => w.resolve !== done);
        self.unref();
        resolve();
      }
      this.flushWaiters.push({ upTo, resolve: done });
    });
  }

  private settledUpTo(upTo: number): boolean {
    const first = this.unacked.keys().next();
    return first.done === true || first.value > upTo;
  }

  private resolveFlushWaiters(all: boolean): void {
    if (this.flushWaiters.length === 0) return;
    for (const w of [...this.flushWaiters]) if (all || this.settledUpTo(w.upTo)) w.resolve();
  }

  /** Keeps the process alive while someone waits for the worker. */
  private ref(): void {
    if (this.refs++ === 0) this.worker?.ref();
  }

  private unref(): void {
    if (--this.refs === 0) this.worker?.unref();
  }

  private count(reason: string, n: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
  }
}

function addCounts(into: Record<string, number>, counts: Record<string, number>): void {
  for (const [reason, n] of Object.entries(counts)) into[reason] = (into[reason] ?? 0) + n;
}
