/**
 * The SLO, alert and trend extension of the processor.
 *
 * Hot path: `onSpanEnd` (attribute targets, overflow spans, error grouping for
 * ERROR spans) and `onBatch` (a tight counting loop). Every `evaluation_interval`
 * an unref'd timer moves the accumulated counts into the shared counter rings and
 * runs the `evaluate` task on the worker pool; the event loop then only steps the
 * alert states (O(1) per alert) and hands transitions to the notifiers, which
 * deliver in the background.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TransferListItem } from 'node:worker_threads';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AlertCatalog } from '../alerts/catalog';
import { AlertEngine } from '../alerts/engine';
import { compileRules } from '../alerts/rules';
import { FIRING, PENDING } from '../alerts/state-machine';
import { sealBeforeSnapshot, snapshotForWorker, transferListOf, type SnapshotSource } from '../backend/snapshot-source';
import type { HistogramSet } from '../backend/types';
import type { SpanMeterConfig } from '../config/sections';
import type { ProcessorExtension } from '../extension';
import type { ExtensionContext } from '../extensions';
import { CallbackNotifier, type AlertCallback } from '../notify/callback';
import { Dispatcher } from '../notify/dispatcher';
import { LogNotifier } from '../notify/log';
import type { Notifier, NotifyAlert } from '../notify/types';
import { WebhookNotifier } from '../notify/webhook';
import { markIncomplete, type AlertEvent, type EvaluationStatus, type OperationTrend, type StatsReport } from '../report';
import type { SeriesKey } from '../series-table';
import { ErrorGroups } from '../trends/error-analysis';
import { computeHealth } from '../trends/health';
import { TrendAnalysis } from '../trends/regression';
import { TrendSamples } from '../trends/samples';
import { RingArena } from './counters';
import type { EvaluateResult, EvaluateTask } from './evaluate-task';
import { Ingest, type IngestTarget } from './ingest';
import { sharePlan, type Plan } from './plan';
import { compileSlos } from './spec';

/** What the extension needs besides the configuration. */
export interface SloExtensionOptions {
  /** Called with every firing and resolved transition. */
  onAlert?: AlertCallback;
  /** The processor's histogram set, for trend samples. */
  set?: HistogramSet;
}

/** Notifiers get at most this long to deliver what is queued at shutdown. */
const NOTIFY_SHUTDOWN_MS = 5000;

export class SloExtension implements ProcessorExtension {
  readonly name = 'slo';
  private readonly ingest: Ingest;
  private readonly sloTargets: IngestTarget[];
  private readonly engine: AlertEngine;
  private readonly dispatcher: Dispatcher;
  private readonly plan: Plan;
  private readonly sharedPlan: Uint8Array;
  private readonly planId = randomUUID();
  private readonly counters: Float64Array;
  private readonly startedAtMs: number;
  private readonly errors: ErrorGroups | undefined;
  private readonly samples: TrendSamples | undefined;
  private readonly trends: TrendAnalysis | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<AlertEvent[]> | undefined;
  private stopped = false;
  private readonly evaluation: EvaluationStatus;

  constructor(
    private readonly config: SpanMeterConfig,
    private readonly context: ExtensionContext,
    private readonly options: SloExtensionOptions = {},
  ) {
    const arena = new RingArena();
    const catalog = new AlertCatalog();
    const slos = compileSlos(config.slos, config.alerting.burnRate, arena, catalog);
    const rules = compileRules(config.alerting.rules, arena, catalog);
    this.sloTargets = slos.targets;
    this.counters = arena.finish();
    this.ingest = new Ingest([...slos.targets, ...rules.targets], this.counters, context.table.overflowId);
    this.plan = { slos: slos.plans, rules: rules.plans, alertCount: catalog.alerts.length };
    this.sharedPlan = sharePlan(this.plan);
    this.engine = new AlertEngine(catalog.alerts, config.alerting.historySize);
    this.dispatcher = new Dispatcher(this.buildNotifiers(), context.clock);
    this.startedAtMs = context.clock();
    const trends = config.trends;
    this.errors = trends.errorAnalysis.enabled ? new ErrorGroups(trends.errorAnalysis) : undefined;
    const ingest = this.ingest;
    this.onSpanEnd = ingest.hasTargets ? (span, seriesId) => ingest.countSpan(span, seriesId) : undefined;
    const errors = this.errors;
    const clock = context.clock;
    this.onErrorSpanEnd = errors !== undefined ? (span, seriesId) => errors.record(span, seriesId, clock()) : undefined;
    if (trends.enabled && options.set !== undefined) {
      // previous windows count only from a whole window after the start
      this.samples = new TrendSamples(this.startedAtMs);
      this.trends = new TrendAnalysis(trends.regression);
    }
    this.evaluation = { evaluations: 0, skipped: 0, failures: 0, lastLoopMs: 0, maxLoopMs: 0, lastWorkerMs: 0, counterBytes: arena.bytes, nonNumericValues: 0 };
    if (this.plan.alertCount > 0 || this.plan.slos.length > 0 || this.samples !== undefined) {
      this.timer = setInterval(() => this.tick(), config.alerting.evaluationIntervalMs);
      this.timer.unref();
    }
  }

  private buildNotifiers(): Notifier[] {
    const notifiers: Notifier[] = [];
    const clock = this.context.clock;
    if (this.options.onAlert !== undefined) notifiers.push(new CallbackNotifier(this.options.onAlert, clock));
    const n = this.config.notifiers;
    if (this.plan.alertCount === 0) return notifiers;
    if (n.log.enabled) notifiers.push(new LogNotifier(n.log, clock));
    for (const webhook of n.webhooks) notifiers.push(new WebhookNotifier(webhook, n.externalUrl, clock, this.config.alerting.evaluationIntervalMs));
    return notifiers;
  }

  onNewSeries(id: number, key: SeriesKey): void {
    this.ingest.onNewSeries(id, key);
  }

  /**
   * Hot path, only when some SLO or rule needs the span itself (attribute
   * selectors, spans beyond the cardinality cap): without targets the processor
   * is not asked to call anything per span.
   */
  readonly onSpanEnd: ((span: ReadableSpan, seriesId: number) => void) | undefined;

  /** Error grouping: called for ERROR spans only. */
  readonly onErrorSpanEnd: ((span: ReadableSpan, seriesId: number) => void) | undefined;

  onBatch(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number, nowMs: number): void {
    this.ingest.countBatch(seriesIds, durationsUs, flags, len);
    this.ingest.commit(nowMs);
  }

  async forceFlush(): Promise<void> {
    this.ingest.commit(this.context.clock());
  }

  /**
   * Runs one evaluation at the current clock, after any running one, and returns
   * its transitions. `SpanMeterProcessor.evaluateNow()` records pending spans first.
   */
  async evaluateNow(): Promise<AlertEvent[]> {
    // a loop, not one wait: calls that waited for the same evaluation must not all start theirs at once
    while (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
    return this.startEvaluation();
  }

  private tick(): void {
    // Without SLOs or rules, only the once-a-minute trend sample needs the pool.
    const idle = this.plan.slos.length === 0 && this.plan.alertCount === 0 && !(this.samples?.due(this.context.clock()) ?? false);
    if (idle) return;
    if (this.inFlight !== undefined) {
      this.evaluation.skipped++;
      return;
    }
    this.startEvaluation().catch(() => undefined);
  }

  private startEvaluation(): Promise<AlertEvent[]> {
    const run = this.evaluate().finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private async evaluate(): Promise<AlertEvent[]> {
    const nowMs = this.context.clock();
    // the JS set seals what is queued over event-loop turns first, as its
    // batches do (its sealing stats count that time, the evaluation's does not)
    if (this.options.set !== undefined && (this.samples?.due(nowMs) ?? false)) {
      await sealBeforeSnapshot(this.options.set, nowMs).catch(() => undefined);
    }
    const started = performance.now();
    let result: EvaluateResult;
    let loopMs: number;
    let trendSnapshot: SnapshotSource | undefined;
    try {
      this.ingest.commit(nowMs);
      let transferList: TransferListItem[] | undefined;
      const task = this.task(nowMs, false);
      if (this.samples !== undefined && this.options.set !== undefined && this.samples.due(nowMs)) {
        trendSnapshot = snapshotForWorker(this.options.set, nowMs);
        task.trend = { backend: this.context.backend.kind, snapshot: trendSnapshot };
        transferList = transferListOf(trendSnapshot);
      }
      const pending = this.context.pool.run<EvaluateResult>(task, { name: 'evaluate', transferList });
      loopMs = performance.now() - started;
      result = await pending;
    } catch (error) {
      // a ticket the worker did not redeem (releasing a redeemed one does nothing)
      if (trendSnapshot !== undefined) this.context.backend.releaseSnapshot(trendSnapshot);
      this.evaluation.failures++;
      this.evaluation.lastError = (error as Error).message;
      throw error;
    }
    const applying = performance.now();
    if (result.trend !== undefined) this.samples?.add(nowMs, result.trend);
    const events = this.engine.apply(result.active, result.values, nowMs);
    if (this.dispatcher.size > 0) this.dispatcher.dispatch(events, this.firingForNotifiers(), nowMs);
    loopMs += performance.now() - applying;
    const e = this.evaluation;
    e.evaluations++;
    e.lastEvaluatedAt = new Date(nowMs).toISOString();
    e.lastLoopMs = loopMs;
    e.maxLoopMs = Math.max(e.maxLoopMs, loopMs);
    e.lastWorkerMs = result.workerMs;
    return events;
  }

  private task(nowMs: number, detail: boolean): EvaluateTask {
    return {
      planId: this.planId,
      plan: this.sharedPlan,
      counters: this.counters,
      nowMs,
      runningMs: nowMs - this.startedAtMs,
      detail,
    };
  }

  /** Every firing alert, for webhook reminders; allocates only while something fires. */
  private firingForNotifiers(): NotifyAlert[] {
    const out: NotifyAlert[] = [];
    const table = this.engine.table;
    for (let i = 0; i < table.size; i++) {
      if (table.state[i] !== FIRING) continue;
      const alert = this.engine.alerts[i];
      out.push({ status: 'firing', labels: alert.labels, annotations: alert.annotations, fingerprint: alert.fingerprint, startsAtMs: table.firedAt[i] });
    }
    return out;
  }

  async shutdown(deadlineMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
    await this.dispatcher.close(Date.now() + Math.min(deadlineMs, NOTIFY_SHUTDOWN_MS));
  }

  /** Adds slos, alerts, notifiers, trends, errorAnalysis and health to a report. */
  async contribute(report: StatsReport, operationIds: readonly number[]): Promise<void> {
    const nowMs = this.context.clock();
    this.ingest.commit(nowMs);
    let slosFailed = false;
    if (this.plan.slos.length > 0) {
      // a failed evaluation (its worker timed out or was lost) leaves the SLOs
      // out of this report, and what needs them; the rest stands
      try {
        const result = await this.context.pool.run<EvaluateResult>(this.task(nowMs, true), { name: 'evaluate' });
        report.slos = result.slos;
      } catch (error) {
        markIncomplete(report, 'slos', error);
        slosFailed = true;
      }
    }
    const firing = this.engine.inState(FIRING);
    if (this.plan.alertCount > 0) {
      report.alerts = { firing, recent: this.engine.history.recent(), pending: this.engine.inState(PENDING), evaluation: { ...this.evaluation, nonNumericValues: this.ingest.nonNumericValues } };
    }
    if (this.dispatcher.size > 0) report.notifiers = this.dispatcher.statuses();
    let trends: OperationTrend[] = [];
    if (this.trends !== undefined && this.samples !== undefined) {
      trends = this.trends.compute(report.operations, operationIds, this.samples, nowMs);
      report.trends = trends;
    }
    if (this.errors !== undefined) report.errorAnalysis = this.errors.report(this.context.table.allKeys(), report.operations, operationIds);
    if (this.config.trends.health.enabled && slosFailed) {
      markIncomplete(report, 'health', new Error('spanmeter: health needs the SLOs, whose evaluation failed'));
    } else if (this.config.trends.health.enabled) {
      report.health = computeHealth({
        operations: report.operations,
        slos: report.slos ?? [],
        sloServices: this.sloTargets.map((t) => [...t.services]),
        firing,
        trends,
        window: this.config.trends.health.errorRateWindow,
      });
    }
  }
}

/** The extension when the configuration asks for any of its parts. */
export function buildSloExtension(config: SpanMeterConfig, context: ExtensionContext, options: SloExtensionOptions): SloExtension | undefined {
  const t = config.trends;
  const wanted = config.slos.length > 0 || config.alerting.rules.length > 0 || t.enabled || t.errorAnalysis.enabled || t.health.enabled;
  return wanted ? new SloExtension(config, context, options) : undefined;
}
