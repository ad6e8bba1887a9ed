import { CompactSlice } from './compact-slice';
import type { DetachedPages } from './pool';
import type { Series } from './series';

/**
 * Sealing work one `record` call does beyond its first slice, in bytes its
 * merges read (encoding a slice reads its pages too): sealing a busy
 * series' 10 s slice reads ~17–28 KB (its merges 12–23 KB, measured at
 * 1,000 spans/s, plus its pages) and takes 0.3–0.5 ms, so a batch seals
 * about two. Every batch brings budget, and a busy series brings dozens of
 * batches per 10 s.
 */
export const SEAL_BUDGET_BYTES = 40 * 1024;

/**
 * Pages queued beyond which each call also seals an eighth of the excess,
 * so that the queue stays bounded however few and large the batches are.
 */
const BACKLOG_PAGES = 8192;

/** Budgeted steps whose durations are kept for `stepPercentiles`. */
const STEPS_KEPT = 4096;

interface Job {
  series: Series;
  sliceIndex: number;
  pages: DetachedPages;
  count: number;
  errors: number;
}

/**
 * The JS back end's sealing, deferred: a series whose `cur` fills up queues
 * it here (a copy of its pages, a few µs), and each `record` call seals a
 * budget of queued slices at its end, so that a 10 s boundary's sealing is
 * spread over the batches that follow instead of stalling the first one.
 * Readers of the sealed state (snapshots, memory) drain the queue first, so
 * they see what sealing in place gives (the native set does the same work on
 * a thread of its own).
 */
export class SealQueue {
  private jobs: Job[] = [];
  private head = 0;
  /** Pages of the queued slices. */
  private queuedPages = 0;
  /** Slices sealed and the time spent sealing them. */
  slices = 0;
  ms = 0;
  /** Durations of the latest budgeted steps (one per `record` that sealed), ms. */
  private readonly steps = new Float64Array(STEPS_KEPT);
  private stepCount = 0;

  /** Slices queued and not yet sealed. */
  get pending(): number {
    return this.jobs.length - this.head;
  }

  push(series: Series, sliceIndex: number, pages: DetachedPages, count: number, errors: number): void {
    this.jobs.push({ series, sliceIndex, pages, count, errors });
    this.queuedPages += pages.numbers.length;
  }

  /**
   * Seals queued slices in order: at least one, then until `budgetBytes` of
   * work is done and, past `BACKLOG_PAGES` queued, an eighth of the excess.
   */
  run(budgetBytes: number): void {
    if (this.pending === 0) return;
    const started = performance.now();
    const backlog = Math.max(0, this.queuedPages - BACKLOG_PAGES) / 8;
    let pages = 0;
    let work = 0;
    do {
      const job = this.jobs[this.head];
      this.jobs[this.head++] = undefined as unknown as Job;
      work += job.pages.lo.byteLength + job.series.sealSlice(CompactSlice.fromDetached(job.sliceIndex, job.pages, job.count, job.errors));
      pages += job.pages.numbers.length;
      this.slices++;
    } while (this.pending > 0 && (work < budgetBytes || pages < backlog));
    this.queuedPages -= pages;
    if (this.pending === 0) {
      this.jobs = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs = this.jobs.slice(this.head);
      this.head = 0;
    }
    const ms = performance.now() - started;
    this.ms += ms;
    if (budgetBytes !== Infinity) this.steps[this.stepCount++ % STEPS_KEPT] = ms;
  }

  /** p50, p99 and max of the latest budgeted steps' durations (ms), or undefined before the first. */
  stepPercentiles(): { p50: number; p99: number; max: number } | undefined {
    const n = Math.min(this.stepCount, STEPS_KEPT);
    if (n === 0) return undefined;
    const sorted = this.steps.slice(0, n).sort();
    return { p50: sorted[(n - 1) >> 1], p99: sorted[Math.floor((n - 1) * 0.99)], max: sorted[n - 1] };
  }

  /** Seals every queued slice. */
  drain(): void {
    this.run(Infinity);
  }

  clear(): void {
    this.jobs = [];
    this.head = 0;
    this.queuedPages = 0;
  }
}
