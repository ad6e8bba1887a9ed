import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadBackend } from './backend/load';
import { snapshotForWorker, startSealing, transferListOf } from './backend/snapshot-source';
import type { Backend, BackendKind, HistogramSet } from './backend/types';
import { SafeClock, monotonicEpochMs } from './clock';
import { loadConfig } from './config/load';
import type { SpanMeterConfigInput } from './config/input';
import type { SpanMeterConfig } from './config/sections';
import type { ProcessorExtension } from './extension';
import { buildExtensions } from './extensions';
import { markIncomplete, type AlertEvent, type Diagnostics, type OperationStats, type StatsReport } from './report';
import { SeriesTable } from './series-table';
import { durationUs } from './span-duration';
import { SpanMeterError, errorMessage, workerTimeout } from './errors';
import { checkOptionNames, resolveStatsOptions } from './options';
import { LazyPool, STATS_WORKER } from './stats/pool';
import type { SummarizeTask } from './stats/worker';
import { toOperations, type SummaryRows } from './stats/operations';

/** Options of {@link SpanMeterProcessor}. */
export interface SpanMeterOptions {
  /**
   * A YAML file path (or file: URL) or a configuration object (config/tracing_config.yaml shows
   * every key). Without it, the file named by SPANMETER_CONFIG is read, if set.
   * Options given here directly take precedence over the file's `stats:` section.
   */
  config?: string | URL | SpanMeterConfigInput;
  /**
   * Export targets of your own, in failover order (highest priority first),
   * ahead of the configured `export.targets` unless a `type: exporter` target
   * places them. They run on the main thread, with tracing suppressed. Giving
   * any turns export on.
   */
  exporters?: SpanExporter[];
  /**
   * Cardinality cap: at most this many (service, span name, span kind) series; spans
   * of further series fold into one overflow series and are counted. Default 1000.
   */
  maxOperations?: number;
  /** HDR precision in significant decimal digits. Default 3 (0.1% relative error). */
  significantDigits?: 1 | 2 | 3 | 4 | 5;
  /** Durations above this are recorded as this and counted as clamped. Default 3 600 000 (one hour). */
  highestTrackableMs?: number;
  /** Spans buffered on the event loop before one native call records them. Default 2048. */
  batchSize?: number;
  /** A partial batch is recorded at least this often. Default 1000 ms. */
  flushIntervalMs?: number;
  /**
   * How long a `stats()` summary or an SLO evaluation may wait for its result
   * from the worker pool (waiting for a thread included): past it, the call
   * rejects (`SPANMETER_WORKER_TIMEOUT`) and the worker running it, if any, is
   * replaced. Default 60 000 ms.
   */
  workerTimeoutMs?: number;
  /** Histogram back end: `auto` (native when it loads), `native` or `js`. Default: SPANMETER_BACKEND, else auto. */
  backend?: BackendKind | 'auto';
  /**
   * Wall clock in epoch milliseconds, for the rolling windows. Tests inject one.
   * Default: the wall clock at process start advanced by the monotonic clock,
   * so that setting the system clock does not step the windows.
   */
  clock?: () => number;
  /**
   * Called with every alert transition to firing or resolved, right after the
   * evaluation that made it. A returned promise is not awaited; a throw or a
   * rejection is counted in `stats().notifiers`, never propagated.
   */
  onAlert?: (event: AlertEvent) => void | Promise<void>;
  /** Internal: parts beyond latency statistics (SLOs, alerts, export). */
  extensions?: ProcessorExtension[];
}

const STATUS_ERROR = 2; // SpanStatusCode.ERROR

/**
 * A `SpanProcessor` that records every ended span (sampled or RECORD-only) into
 * HDR histograms per (service, span name, span kind) and reports exact
 * percentiles with {@link SpanMeterProcessor.stats}.
 *
 * `onEnd` is O(1): it copies the span's operation, duration and status into
 * preallocated arrays; a full batch (or the timer's partial one) has its series
 * interned in one loop and goes to the histogram back end in one call.
 * It never throws into the application: bad spans are clamped or counted.
 */
export class SpanMeterProcessor implements SpanProcessor {
  /** The validated configuration this processor runs with. */
  readonly config: SpanMeterConfig;
  /** Which histogram back end this processor runs on. */
  readonly backend: BackendKind;
  private readonly impl: Backend;
  private readonly set: HistogramSet;
  private readonly table: SeriesTable;
  private readonly safeClock: SafeClock;
  private readonly clock: () => number;
  private readonly batchSize: number;
  private readonly ids: Uint32Array;
  /** Each pending span's resource, name and kind, for interning at the flush. */
  private readonly resources: unknown[];
  private readonly names: unknown[];
  private readonly kinds: unknown[];
  private readonly durations: Float64Array;
  private readonly flags: Uint8Array;
  private pending = 0;
  /** Pending spans [0, interned) have their series id in `ids`. */
  private interned = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly pool: LazyPool;
  private readonly extensions: ProcessorExtension[];
  private readonly spanEndHooks: ProcessorExtension[];
  private readonly errorSpanHooks: ProcessorExtension[];
  private readonly dropped: Record<string, number> = {};
  private batches = 0;
  private shutdownPromise: Promise<void> | undefined;
  private isShutdown = false;
  private finalReport: StatsReport | undefined;
  /** Why `finalReport` is missing, when shutdown could not compute it. */
  private finalReportError: unknown;
  /** Set once shutdown waits for the last `stats()` calls before it closes the pool. */
  private poolClosing = false;
  /** `stats()` calls not settled yet: shutdown closes the pool after them. */
  private readonly reportsInFlight = new Set<Promise<StatsReport>>();
  /** The report being computed, and the one every `stats()` call made meanwhile waits for. */
  private reportRunning: Promise<StatsReport> | undefined;
  private reportQueued: Promise<StatsReport> | undefined;

  constructor(options: SpanMeterOptions = {}) {
    checkOptionNames(options);
    const config = loadConfig(options.config as Record<string, unknown> | string | URL | undefined);
    // what it runs with: the options given in code override the file's `stats:`
    const stats = resolveStatsOptions(options, config.stats);
    const { maxOperations, significantDigits, highestTrackableMs, flushIntervalMs } = stats;
    this.batchSize = stats.batchSize;
    // export runs when the file turns it on or exporters are given: the config says so
    const exportOn = config.export.enabled || (Array.isArray(options.exporters) && options.exporters.length > 0);
    this.config = { ...config, stats, export: { ...config.export, enabled: exportOn } };
    this.pool = new LazyPool(STATS_WORKER, stats.workerTimeoutMs);

    this.impl = loadBackend(options.backend);
    this.backend = this.impl.kind;
    this.set = this.impl.createSet({ significantDigits, highestTrackableUs: Math.round(highestTrackableMs * 1000) });
    this.table = new SeriesTable(maxOperations);
    this.safeClock = new SafeClock(options.clock ?? monotonicEpochMs);
    this.clock = this.safeClock.now;
    this.ids = new Uint32Array(this.batchSize);
    this.resources = new Array<unknown>(this.batchSize).fill(undefined);
    this.names = new Array<unknown>(this.batchSize).fill(undefined);
    this.kinds = new Array<unknown>(this.batchSize).fill(undefined);
    this.durations = new Float64Array(this.batchSize);
    this.flags = new Uint8Array(this.batchSize);
    this.extensions = buildExtensions(this.config, options, { clock: this.clock, pool: this.pool, table: this.table, backend: this.impl, set: this.set });
    this.spanEndHooks = this.extensions.filter((e) => e.onSpanEnd !== undefined);
    this.errorSpanHooks = this.extensions.filter((e) => e.onErrorSpanEnd !== undefined);
    if (this.extensions.some((e) => e.onNewSeries !== undefined)) {
      this.table.onNewSeries = (id, key) => {
        for (const e of this.extensions) {
          try {
            e.onNewSeries?.(id, key);
          } catch {
            this.count(`${e.name}_error`);
          }
        }
      };
    }
    this.timer = setInterval(() => this.flushBatch(), flushIntervalMs);
    this.timer.unref();
  }

  /** Nothing to do when a span starts. */
  onStart(_span: Span, _parentContext: Context): void {}

  /**
   * Records an ended span. O(1), never throws. The span's series is interned
   * at the flush, for the whole batch in one loop, where the table stays in
   * the cache; here, between the SDK's own work, each lookup costs more. Spans that an extension's hook needs with
   * their series id are interned here.
   */
  onEnd(span: ReadableSpan): void {
    if (this.isShutdown) {
      this.count('after_shutdown');
      return;
    }
    let id = -1;
    let isError: boolean;
    try {
      const i = this.pending;
      // a missing or malformed duration becomes NaN, which the back end counts as invalid
      const us = durationUs(span.duration);
      isError = span.status?.code === STATUS_ERROR;
      if (this.spanEndHooks.length > 0 || (isError && this.errorSpanHooks.length > 0)) {
        // the spans before it first, so that series are numbered (and capped) in end order
        this.internPending(i);
        // interned now, whatever the lookup below does (it reads the span's getters)
        this.interned = i;
        id = recordable(us) ? this.table.idFor(span.resource, span.name, span.kind) : NO_SERIES;
        this.ids[i] = id;
        this.interned = i + 1;
      } else {
        this.resources[i] = span.resource;
        this.names[i] = span.name;
        this.kinds[i] = span.kind;
      }
      this.durations[i] = us;
      this.flags[i] = isError ? 1 : 0;
      this.pending = i + 1;
    } catch {
      this.count('processor_error');
      return;
    }
    if (id >= 0) {
      if (this.spanEndHooks.length > 0) this.runHooks(this.spanEndHooks, span, id, false);
      // a span not recorded (its duration unusable) has no series to group its error under
      if (isError && id !== NO_SERIES && this.errorSpanHooks.length > 0) this.runHooks(this.errorSpanHooks, span, id, true);
    }
    if (this.pending === this.batchSize) this.flushBatch();
  }

  /** Calls the extensions' per-span hooks; an extension that throws is counted, never propagated. */
  private runHooks(hooks: ProcessorExtension[], span: ReadableSpan, id: number, errorHook: boolean): void {
    for (let e = 0; e < hooks.length; e++) {
      const extension = hooks[e];
      try {
        if (errorHook) extension.onErrorSpanEnd!(span, id);
        else extension.onSpanEnd!(span, id);
      } catch {
        this.count(`${extension.name}_error`);
      }
    }
  }

  /** Makes every span ended before the call visible in `stats()`, and flushes the extensions. */
  async forceFlush(): Promise<void> {
    this.flushBatch();
    await Promise.all(this.extensions.map((e) => e.forceFlush?.()));
  }

  /**
   * Flushes, computes the final report (kept for `stats()` after shutdown), stops
   * the timers and closes the worker pool. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    if (this.shutdownPromise === undefined) this.shutdownPromise = this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.flushBatch();
    this.isShutdown = true;
    const results = await Promise.allSettled(this.extensions.map((e) => e.shutdown?.(30_000)));
    results.forEach((r) => {
      if (r.status === 'rejected') this.count('shutdown_error');
    });
    try {
      this.finalReport = await this.computeReport().catch(() => {
        // a worker lost mid-task (killed, out of memory): the data are still here, try once more
        this.count('shutdown_error');
        return this.computeReport();
      });
    } catch (error) {
      this.finalReportError = error;
      throw error;
    } finally {
      // stats() calls made before shutdown() run their extensions' tasks after
      // their summary: the pool closes once they are done, not under them
      this.poolClosing = true;
      await Promise.allSettled([...this.reportsInFlight]);
      await this.pool.close();
    }
  }

  /**
   * Runs one SLO and alert evaluation now, at the current clock (what the
   * `alerting.evaluation_interval` timer does), after recording pending spans.
   * Resolves with the alert transitions it made. For tests and on-demand checks.
   */
  async evaluateNow(): Promise<AlertEvent[]> {
    this.flushBatch();
    const events: AlertEvent[] = [];
    for (const e of this.extensions) if (e.evaluateNow !== undefined) events.push(...(await e.evaluateNow()));
    return events;
  }

  /**
   * The statistics of every span recorded so far, computed on a worker thread.
   * After `shutdown()` it returns the final report (while shutdown is still
   * computing it, a report of the same spans). Rejects with
   * `SPANMETER_WORKER_TIMEOUT` when the worker pool gives no result within
   * `workerTimeoutMs`.
   */
  async stats(): Promise<StatsReport> {
    // Until shutdown's final report exists, a report of the spans so far (all
    // flushed when shutdown began): an onAlert callback awaiting stats() while
    // shutdown waits for that callback must not wait for shutdown in turn
    if (this.shutdownPromise !== undefined && (this.finalReport !== undefined || this.finalReportError !== undefined || this.poolClosing)) {
      await this.shutdownPromise.catch(() => undefined);
      if (this.finalReport !== undefined) return this.withLateDrops(this.finalReport);
      throw new SpanMeterError(`spanmeter: the final report could not be computed at shutdown: ${errorMessage(this.finalReportError)}`, 'SPANMETER_NO_FINAL_REPORT');
    }
    if (this.reportRunning === undefined) return this.startReport();
    if (this.reportQueued === undefined) {
      const queued = this.reportRunning.then(this.startQueuedReport, this.startQueuedReport);
      this.reportQueued = queued;
      this.track(queued);
    }
    // shared: each caller gets a copy of its own to edit, within workerTimeoutMs of its own call
    // (the shared report starts when the running one ends, and runs with the whole limit)
    return this.withinTimeoutOfCall(this.reportQueued).then((report) => structuredClone(report));
  }

  /**
   * Computes one report, the only one running. Calls made meanwhile share the
   * next, which starts when this one ends and takes its snapshot after all of
   * them: at most two reports are in flight, however many calls overlap
   * (each call took a snapshot of its own, on the native back end a copy of
   * every sealed slice).
   */
  private startReport(): Promise<StatsReport> {
    const report = this.computeReport();
    this.reportRunning = report;
    this.track(report);
    const settled = (): void => {
      if (this.reportRunning === report) this.reportRunning = undefined;
    };
    report.then(settled, settled);
    return report;
  }

  private readonly startQueuedReport = (): Promise<StatsReport> => {
    this.reportQueued = undefined;
    return this.startReport();
  };

  /** `report`, or SPANMETER_WORKER_TIMEOUT once workerTimeoutMs has passed since this call (the timer unref'd). */
  private withinTimeoutOfCall(report: Promise<StatsReport>): Promise<StatsReport> {
    const limitMs = this.config.stats.workerTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(workerTimeout(limitMs)), limitMs);
      timer.unref();
    });
    return Promise.race([report, timedOut]).finally(() => clearTimeout(timer));
  }

  /** Keeps `report` in `reportsInFlight` until it settles: shutdown closes the pool after them. */
  private track(report: Promise<StatsReport>): void {
    this.reportsInFlight.add(report);
    const settled = (): void => {
      this.reportsInFlight.delete(report);
    };
    report.then(settled, settled);
  }

  /**
   * A copy of the final report, with spans that arrived after shutdown counted
   * in. A copy for each call, as before shutdown: a caller that edits its
   * report (drops the histograms before logging it, say) must not change the
   * next caller's.
   */
  private withLateDrops(report: StatsReport): StatsReport {
    const copy = structuredClone(report);
    const late = this.dropped.after_shutdown;
    if (late !== undefined) copy.totals.dropped.after_shutdown = late;
    return copy;
  }

  private async computeReport(): Promise<StatsReport> {
    this.flushBatch();
    // JS back end: the slices a 10 s boundary left to seal are sealed a budget
    // per event-loop turn, as its batches do, not all inside the snapshot (0.6 ms
    // per busy series in one turn); spans recorded meanwhile are in the report
    const sealing = startSealing(this.set, this.clock());
    if (sealing !== undefined) {
      await sealing;
      this.flushBatch();
    }
    const nowMs = this.clock();
    // native: a ticket; the sealer thread copies the sealed slices, not the event loop.
    // Taken in the calling turn (unless the JS back end had slices to seal above):
    // the report holds the spans ended before the call, none ended after it
    const snapshot = snapshotForWorker(this.set, nowMs);
    // the counters of that same moment: spans recorded while the worker runs are not in the
    // report's operations, so their drops, clamps and repairs must not be in its counters
    const dropped: Record<string, number> = { ...this.dropped };
    if (this.set.invalidCount > 0) dropped.invalid_duration = this.set.invalidCount;
    // slices, not spans: a failure while sealing (a bug) loses a whole slice of one operation
    // not sealingStats(): it seals (JS) or waits for the sealer (native) first
    const sealingFailed = this.set.failedSlices;
    if (sealingFailed > 0) dropped.sealing_failed_slices = sealingFailed;
    const clampedSpans = this.set.clampedCount;
    const clockFailures = this.safeClock.failures;
    const anomalies = { ...this.table.anomalies };
    const batches = this.batches;
    const task: SummarizeTask = { backend: this.backend, snapshot };
    const rows = await this.pool.run<SummaryRows>(task, { transferList: transferListOf(snapshot) }).catch((error: unknown) => {
      this.impl.releaseSnapshot(snapshot);
      throw error;
    });
    const { operations, ids } = toOperations(rows, this.table.allKeys());
    // by id: a real operation can bear the overflow series' name
    const overflow = operations[ids.indexOf(this.table.overflowId)] as OperationStats | undefined;
    let spans = 0;
    let errors = 0;
    for (const op of operations) {
      spans += op.count;
      errors += op.errors;
    }
    const report: StatsReport & { diagnostics: Diagnostics } = {
      schemaVersion: 1,
      generatedAt: new Date(nowMs).toISOString(),
      backend: this.backend,
      totals: {
        spans,
        errors,
        operations: operations.length - (overflow ? 1 : 0),
        overflowSpans: overflow?.count ?? 0,
        dropped,
      },
      operations,
      diagnostics: {
        clampedSpans,
        clockFailures,
        missingResource: anomalies.missingResource,
        invalidKind: anomalies.invalidKind,
        invalidName: anomalies.invalidName,
        truncatedName: anomalies.truncatedName,
        // as the report completes: read at the snapshot, it would wait for the sealer thread there
        histogramBytes: this.set.memoryBytes(),
        batches,
        workerRestarts: this.pool.restarts,
      },
    };
    for (const e of this.extensions) {
      // one extension's failure leaves its sections out, not the whole report;
      // what it added before failing goes too: a section is whole or absent
      const keys = new Set(Object.keys(report));
      try {
        await e.contribute?.(report, ids);
      } catch (error) {
        // (but not `incomplete`: what it found missing before failing is still so)
        for (const key of Object.keys(report)) if (!keys.has(key) && key !== 'incomplete') delete (report as unknown as Record<string, unknown>)[key];
        markIncomplete(report, e.name, error);
      }
    }
    return report;
  }

  /** Hands the pending spans to the histogram back end in one call. */
  private flushBatch(): void {
    const n = this.pending;
    if (n === 0) return;
    this.pending = 0;
    const interned = this.interned;
    this.interned = 0;
    const nowMs = this.clock();
    try {
      this.internPending(n, interned);
      this.set.record(this.ids, this.durations, this.flags, n, nowMs);
      this.batches++;
    } catch {
      this.count('processor_error', n);
    }
    for (const e of this.extensions) {
      if (e.onBatch === undefined) continue;
      try {
        e.onBatch(this.ids, this.durations, this.flags, n, nowMs);
      } catch {
        this.count(`${e.name}_error`);
      }
    }
  }

  /**
   * Interns the series of pending spans [from, to) that `onEnd` left to the
   * flush, and lets go of their fields: a span's name may be huge, and the
   * application's objects are not ours to keep.
   */
  private internPending(to: number, from = this.interned): void {
    const { table, resources, names, kinds, ids, durations } = this;
    for (let i = from; i < to; i++) {
      // a span the back end will not record takes no operation (nor a slot of maxOperations)
      ids[i] = recordable(durations[i]) ? table.idFor(resources[i], names[i], kinds[i]) : NO_SERIES;
      resources[i] = names[i] = kinds[i] = undefined;
    }
  }

  private count(reason: string, n = 1): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
  }
}


/**
 * The series id of a span that will not be recorded (its duration is NaN,
 * infinite or negative): at or above the back ends' MAX_SERIES, so they count
 * it as invalid, once, and nothing else looks it up.
 */
const NO_SERIES = 0xffff_ffff;

/** A duration the back ends record (finite, not negative). */
function recordable(us: number): boolean {
  return us >= 0 && us !== Infinity;
}
