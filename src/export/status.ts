import type { ExporterStatus } from '../report';
import type { CircuitBreaker } from './breaker';
import type { TargetCounters } from './protocol';
import type { Target } from './targets/types';

const RESERVOIR = 1024;

/** Counters and recent latencies of one target (worker side). */
export class TargetStats {
  spansSent = 0;
  batchesSent = 0;
  spansFailed = 0;
  batchesFailed = 0;
  retries = 0;
  resentSpans = 0;
  badBatches = 0;
  rejectedSpans = 0;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  private readonly latencies = new Float64Array(RESERVOIR);
  private latencyCount = 0;

  /** Stats that continue from a previous worker's counters (a restart must not reset them). */
  static from(counters: TargetCounters | undefined): TargetStats {
    const stats = new TargetStats();
    if (counters !== undefined) Object.assign(stats, counters);
    return stats;
  }

  counters(): TargetCounters {
    const { spansSent, batchesSent, spansFailed, batchesFailed, retries, resentSpans, badBatches, rejectedSpans, lastError, lastErrorAt } = this;
    return { spansSent, batchesSent, spansFailed, batchesFailed, retries, resentSpans, badBatches, rejectedSpans, lastError, lastErrorAt };
  }

  recordLatency(ms: number): void {
    this.latencies[this.latencyCount % RESERVOIR] = ms;
    this.latencyCount++;
  }

  fail(error: string, now: number): void {
    this.lastError = error.length > 300 ? `${error.slice(0, 300)}…` : error;
    this.lastErrorAt = now;
  }

  /** p50 and p99 of the recent latencies, in ms (3 decimals). */
  latency(): { p50: number; p99: number } {
    const n = Math.min(this.latencyCount, RESERVOIR);
    if (n === 0) return { p50: 0, p99: 0 };
    const sorted = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number): number => Math.round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] * 1000) / 1000;
    return { p50: at(0.5), p99: at(0.99) };
  }
}

/** The status of one target for `stats().exporters`. */
export function targetStatus(target: Target, priority: number, breaker: CircuitBreaker, stats: TargetStats, now: number): ExporterStatus {
  const open = breaker.isOpen(now);
  const status: ExporterStatus = {
    name: target.name,
    type: target.type,
    priority,
    state: open ? 'open' : breaker.state === 'retrying' ? 'retrying' : 'healthy',
    spansSent: stats.spansSent,
    batchesSent: stats.batchesSent,
    spansFailed: stats.spansFailed,
    batchesFailed: stats.batchesFailed,
    retries: stats.retries,
    resentSpans: stats.resentSpans,
    badBatches: stats.badBatches,
    rejectedSpans: stats.rejectedSpans,
    latencyMs: stats.latency(),
  };
  if (target.endpoint !== undefined) status.endpoint = target.endpoint;
  if (stats.lastError !== undefined) status.lastError = stats.lastError;
  const lastErrorAt = isoTime(stats.lastErrorAt);
  if (lastErrorAt !== undefined) status.lastErrorAt = lastErrorAt;
  const openUntil = open ? isoTime(breaker.openUntil) : undefined;
  if (openUntil !== undefined) status.circuitOpenUntil = openUntil;
  return status;
}

/** Epoch ms as an ISO string; undefined when absent or outside Date's range (toISOString would throw). */
export function isoTime(ms: number | undefined): string | undefined {
  if (ms === undefined || !(Math.abs(ms) <= 8.64e15)) return undefined;
  return new Date(ms).toISOString();
}
