import { performance } from 'node:perf_hooks';
import type { ExporterStatus } from '../report';
import { CircuitBreaker, type BreakerPolicy } from './breaker';
import { decodeBatch, type DecodedSpan } from './decoder';
import type { WorkerCounters } from './protocol';
import { readBatchHeader } from './wire';
import type { Spool, SpoolEntry } from './spool';
import { isoTime, TargetStats, targetStatus } from './status';
import { timerDelay } from './timers';
import type { SendResult, Target } from './targets/types';

/** How long replay passes over a spool file that could not be read (a file damaged or removed is counted and gone instead). */
const UNREADABLE_RETRY_MS = 30_000;

/** The main thread's batch (acknowledged once), or a spooled batch read back. */
interface Owner {
  /** The main thread's batch number, to acknowledge once every part is settled. */
  seq: number | undefined;
  /** The spool file this batch was read from, removed once every part is settled. */
  origin: SpoolEntry | undefined;
  /** Parts not settled yet. */
  pending: number;
  /** A part went back to the spool: the file stays even when the other parts are delivered. */
  keep?: boolean;
  /** Split after a 413: its parts settle apart, so its spool file (if any) no longer stands for what is left. */
  split?: boolean;
  /** Files its parts went back to the spool in (a split spooled batch): gone again if its own file is kept after all. */
  respooled?: SpoolEntry[];
  /** Spans of the parts settled so far. */
  settledSpans?: number;
}

/** A batch, or a part of one after a split, on its way to a target. */
/** A batch's bytes, decoded into objects only if a target needs them (zipkin, file, user exporters). */
class Batch {
  constructor(
    readonly bytes: Uint8Array,
    /** Spooled batches come decoded (the spool checks them). */
    private decoded?: DecodedSpan[],
  ) {}
  readonly decode = (): DecodedSpan[] => (this.decoded ??= decodeBatch(this.bytes).spans);
}

interface Part {
  /** Queue order: older first. */
  order: number;
  batch: Batch;
  from: number;
  to: number;
  createdMs: number;
  attempts: number;
  /** An earlier attempt may have reached a receiver (re-sends are counted). */
  ambiguous: boolean;
  /** Targets that refused it as a bad batch. */
  bad: Set<number> | undefined;
  owner: Owner;
}

export interface DispatcherOptions {
  targets: Target[];
  policy: BreakerPolicy;
  spool: Spool | undefined;
  /** Requests in flight at once. */
  concurrency: number;
  /** A main-thread batch has been delivered, spooled or dropped (and counted). */
  onSettled: (seq: number) => void;
  /** The counters of the worker this one replaces: counting continues from them. */
  counters?: WorkerCounters;
  /** The counters changed (called at most once per turn, and before an ack they concern). */
  onCounters?: (counters: WorkerCounters) => void;
  now?: () => number;
  random?: () => number;
}

/**
 * The failover engine of the export worker. Batches are sent oldest first to
 * the highest-priority target that can take them: a target that fails is
 * retried with backoff (the batch waits for it), and skipped once its circuit is
 * open; a half-open probe brings traffic back when it recovers. When every
 * target is open, batches go to the disk spool, which is replayed in order as
 * soon as any target is ready. A 4xx is a bad batch for that target only; a
 * 413 (or a request over max_request_size) splits the batch in two.
 */
export class Dispatcher {
  private readonly targets: Target[];
  private readonly breakers: CircuitBreaker[];
  private readonly stats: TargetStats[];
  private readonly spool: Spool | undefined;
  private readonly now: () => number;
  private readonly queue: Part[] = [];
  private readonly inflightParts = new Set<Part>();
  /** Spool entries read back and not settled yet. */
  private readonly replaying = new Set<string>();
  /** Spool files that could not be read (not damaged: EACCES, EISDIR...), by name: when to try again. */
  private readonly unreadable = new Map<string, number>();
  private replayReads = 0;
  private spoolWrites = 0;
  private spoolRetryAt = 0;
  /** The attempt to take the spool in flight: one at a time, and close() waits for it. */
  private acquiring: Promise<boolean> | undefined;
  /** The expiry in flight: close() waits for it before the lock is released. */
  private expiring: Promise<void> | undefined;
  /** The last spool write failed (reported as `retrying` until one succeeds). */
  private spoolFailing = false;
  private nextOrder = 1;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private draining = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly dropped: Record<string, number>;
  private spooledSpans: number;
  private spooledBatches: number;
  private replayedSpans: number;
  private expiredSpans: number;
  private countersChanged = false;
  /** `WorkerCounters.settled`: batch number -> spans settled, for split batches not acknowledged yet. */
  private readonly partlySettled = new Map<number, number>();

  constructor(private readonly options: DispatcherOptions) {
    const carried = options.counters;
    this.targets = options.targets;
    this.breakers = options.targets.map(() => new CircuitBreaker(options.policy, options.random));
    this.stats = options.targets.map((_, i) => TargetStats.from(carried?.targets[i]));
    this.dropped = { ...carried?.dropped };
    this.spooledSpans = carried?.spool.spooledSpans ?? 0;
    this.spooledBatches = carried?.spool.spooledBatches ?? 0;
    this.replayedSpans = carried?.spool.replayedSpans ?? 0;
    this.expiredSpans = carried?.spool.expiredSpans ?? 0;
    this.spool = options.spool;
    this.now = options.now ?? Date.now;
    // The spool may have found damaged files while it opened.
    this.changed();
  }

  /** Everything counted so far, by this worker and the ones before it. */
  counters(): WorkerCounters {
    const dropped = { ...this.dropped };
    const corrupt = this.spool?.corruptSpans ?? 0;
    if (corrupt > 0) dropped.export_spool_corrupt = (dropped.export_spool_corrupt ?? 0) + corrupt;
    return {
      dropped,
      targets: this.stats.map((s) => s.counters()),
      spool: { spooledSpans: this.spooledSpans, spooledBatches: this.spooledBatches, replayedSpans: this.replayedSpans, expiredSpans: this.expiredSpans },
      settled: [...this.partlySettled],
    };
  }

  /** Takes a batch from the main thread. */
  add(seq: number, bytes: Uint8Array): void {
    const owner: Owner = { seq, origin: undefined, pending: 1 };
    const header = readBatchHeader(bytes);
    if (header === undefined || this.stopped) {
      this.count(header === undefined ? 'export_encode_error' : 'export_shutdown_timeout', header?.spanCount ?? 1);
      this.settleOwner(owner);
      return;
    }
    if (header.spanCount === 0) {
      this.settleOwner(owner);
      return;
    }
    const batch = new Batch(bytes);
    this.enqueue({ order: this.nextOrder++, batch, from: 0, to: header.spanCount, createdMs: header.createdMs, attempts: 0, ambiguous: false, bad: undefined, owner });
    this.pump();
  }

  /** Status of every target, then of the spool. */
  status(): { exporters: ExporterStatus[]; counters: WorkerCounters } {
    const now = this.now();
    const exporters = this.targets.map((t, i) => targetStatus(t, i, this.breakers[i], this.stats[i], now));
    const spool = this.spool;
    if (spool !== undefined) {
      const oldest = spool.oldestCreatedMs();
      exporters.push({
        name: 'spool',
        type: 'spool',
        endpoint: spool.options.dir,
        priority: this.targets.length,
        state: !spool.usable ? 'open' : this.spoolFailing ? 'retrying' : 'healthy',
        spansSent: this.spooledSpans,
        batchesSent: this.spooledBatches,
        spansFailed: 0,
        batchesFailed: 0,
        retries: 0,
        resentSpans: 0,
        badBatches: 0,
        rejectedSpans: 0,
        latencyMs: { p50: 0, p99: 0 },
        ...(spool.lastError !== undefined ? { lastError: spool.lastError, lastErrorAt: isoTime(spool.lastErrorAt ?? now) } : {}),
        spool: {
          dir: spool.options.dir,
          available: spool.usable,
          ...(spool.unavailable !== undefined ? { reason: spool.unavailable } : {}),
          ...(spool.lockTakenOver !== undefined ? { lockTakenOver: { pid: spool.lockTakenOver.pid, at: new Date(spool.lockTakenOver.atMs).toISOString() } } : {}),
          bytes: spool.bytes,
          batches: spool.batches,
          spans: spool.spans,
          oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
          spooledSpans: this.spooledSpans,
          replayedSpans: this.replayedSpans,
          expiredSpans: this.expiredSpans,
        },
      });
    }
    this.countersChanged = false; // the status carries them
    return { exporters, counters: this.counters() };
  }

  /**
   * Tries again to take a spool that was unavailable (its lock held by another
   * process, or its directory unusable); once it has it, expires and replays
   * what it holds. Resolves true when the spool is usable (or there is none);
   * false, and the spool untouched, once the dispatcher has stopped. One
   * attempt at a time: a call while one is in flight shares its outcome.
   * Never rejects.
   */
  acquireSpool(): Promise<boolean> {
    if (this.acquiring !== undefined) return this.acquiring;
    const spool = this.spool;
    if (spool === undefined) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    if (spool.usable) return Promise.resolve(true);
    const attempt = this.tryAcquire(spool);
    this.acquiring = attempt;
    void attempt.then(() => {
      if (this.acquiring === attempt) this.acquiring = undefined;
    });
    return attempt;
  }

  private async tryAcquire(spool: Spool): Promise<boolean> {
    try {
      await spool.acquire();
    } catch (error) {
      spool.recordError(error);
      return false;
    }
    // Stopped meanwhile: close() waits for this attempt, then releases the lock it took.
    if (!spool.usable || this.stopped) return false;
    this.changed(); // the spool may have found damaged files
    await this.expireSpool();
    return true;
  }

  /**
   * Removes spool entries past their age (counted as dropped); those being
   * replayed wait for their outcome. One at a time (a call meanwhile shares
   * it); a no-op once stopped (at the shutdown deadline, or closed: the files
   * may be another process's by then); never rejects (a timer runs it): a
   * failure is the spool's `lastError` in stats().
   */
  async expireSpool(): Promise<void> {
    if (this.expiring !== undefined) return this.expiring;
    const spool = this.spool;
    if (spool === undefined || !spool.usable || this.stopped) return;
    const expiring = this.expire(spool);
    this.expiring = expiring;
    await expiring;
    this.expiring = undefined;
  }

  private async expire(spool: Spool): Promise<void> {
    try {
      const expired = await spool.expire(this.now(), this.replaying);
      for (const e of expired) {
        this.expiredSpans += e.spans;
        this.count('export_spool_expired', e.spans);
      }
      this.pump();
    } catch (error) {
      spool.recordError(error);
    }
  }

  /** Resolves when nothing is queued, in flight or being written. */
  private idle(): boolean {
    return this.queue.length === 0 && this.inflightParts.size === 0 && this.spoolWrites === 0 && this.replayReads === 0;
  }

  /**
   * Delivers what it can until `deadline`, then stops: requests in flight are
   * abandoned, and every batch not delivered is spooled (or, without a usable
   * spool, dropped as `export_shutdown_timeout`).
   */
  async drain(deadline: number, abortInflight: () => void): Promise<void> {
    this.draining = true;
    // Batches read back from the spool are still in their files: no need to wait for them.
    for (const part of this.queue.filter((p) => p.owner.origin !== undefined)) {
      this.queue.splice(this.queue.indexOf(part), 1);
      this.keepInSpool(part);
    }
    this.pump();
    if (!this.idle()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timerDelay(deadline - this.now()));
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.stopped = true;
    this.clearTimer();
    // An abandoned request may have reached its receiver: sending it again is a re-send.
    for (const part of this.inflightParts) part.ambiguous = true;
    const leftovers: Part[] = [...this.queue.splice(0), ...this.inflightParts];
    this.inflightParts.clear();
    if (leftovers.length > 0) abortInflight();
    for (const part of leftovers) {
      if (part.owner.origin !== undefined) {
        this.keepInSpool(part);
        continue;
      }
      const written = this.spool !== undefined && this.spool.usable ? await this.spool.write(part.batch.bytes, part.from, part.to, part.createdMs, part.ambiguous) : 'error';
      if (written === 'ok') {
        this.spooledSpans += part.to - part.from;
        this.spooledBatches++;
        this.changed();
      } else this.count(written === 'full' ? 'export_spool_full' : 'export_shutdown_timeout', part.to - part.from);
      this.settlePart(part);
    }
    while (this.spoolWrites > 0) await new Promise((r) => setTimeout(r, 5));
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await Promise.allSettled(this.targets.map((t) => t.close()));
    // Spool work in flight finishes first: a lock taken by an attempt is released below, not left behind.
    await Promise.allSettled([this.acquiring, this.expiring]);
    await this.spool?.close();
  }

  private enqueue(part: Part): void {
    const q = this.queue;
    let i = q.length;
    while (i > 0 && before(part, q[i - 1])) i--;
    q.splice(i, 0, part);
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    this.replay(now);
    const concurrency = this.options.concurrency;
    while (this.inflightParts.size < concurrency && this.queue.length > 0) {
      const part = this.queue[0];
      const choice = this.choose(part, now);
      if (choice.index >= 0) {
        this.queue.shift();
        this.dispatch(part, choice.index);
        continue;
      }
      if (choice.allBad) {
        this.queue.shift();
        this.count('export_bad_batch', part.to - part.from);
        this.settlePart(part);
        continue;
      }
      if (choice.retrying) {
        this.wakeAt(choice.at);
        break;
      }
      // Every target is open.
      if (part.owner.origin !== undefined) {
        this.queue.shift();
        this.keepInSpool(part);
        this.wakeAt(choice.at);
        continue;
      }
      if (this.spool !== undefined && this.spool.usable && now >= this.spoolRetryAt) {
        this.queue.shift();
        this.spoolPart(part);
        continue;
      }
      this.wakeAt(Math.min(choice.at, this.spoolRetryAt > now ? this.spoolRetryAt : Infinity));
      break;
    }
    this.checkIdle();
  }

  /**
   * The target for a part: an index, or why none (wait for a retrying one, or
   * all open / bad). A part that a target refused as bad, while every other one
   * is open, counts as bad (`allBad`): spooled, it would be refused again at
   * each replay, and hold up the batches spooled after it.
   */
  private choose(part: Part | undefined, now: number): { index: number; at: number; retrying: boolean; allBad: boolean } {
    let earliest = Infinity;
    let refused = false;
    let allOpen = true;
    for (let i = 0; i < this.breakers.length; i++) {
      if (part?.bad?.has(i)) {
        refused = true;
        continue;
      }
      const breaker = this.breakers[i];
      const at = breaker.readyAt(now);
      if (at === 0) return { index: i, at: 0, retrying: false, allBad: false };
      if (breaker.state === 'retrying') return { index: -1, at, retrying: true, allBad: false };
      // A half-open probe in flight may bring its target back: not open for good.
      if (breaker.state !== 'open') allOpen = false;
      if (at < earliest) earliest = at;
    }
    return { index: -1, at: earliest, retrying: false, allBad: refused && allOpen };
  }

  /** Reads spooled batches back, oldest first and one at a time, while a target is ready and the queue is short. */
  private replay(now: number): void {
    const spool = this.spool;
    if (spool === undefined || !spool.usable || this.draining || spool.batches === 0) return;
    // One spooled batch at a time, so that they arrive in the order they were written.
    while (this.replaying.size === 0 && this.queue.length < this.options.concurrency && this.replayReads === 0) {
      const choice = this.choose(undefined, now);
      if (choice.index < 0) {
        // Come back when a circuit half-opens: the spool is replayed even with no new spans.
        this.wakeAt(choice.at);
        return;
      }
      const entry = spool.oldest(this.skippedForReplay(now));
      if (entry === undefined) {
        if (this.unreadable.size > 0) this.wakeAt(Math.min(...this.unreadable.values()));
        return;
      }
      if (now - entry.createdMs > spool.options.maxAgeMs) {
        this.expiredSpans += entry.spans;
        this.count('export_spool_expired', entry.spans);
        void spool.remove(entry);
        continue;
      }
      this.replaying.add(entry.name);
      this.replayReads++;
      void spool.read(entry).then((batch) => {
        this.replayReads--;
        this.changed(); // a damaged or vanished file is counted by the spool
        if (batch === undefined || this.stopped) {
          this.replaying.delete(entry.name);
          // still there: it could not be read (the spool's lastError says why); the others go first, it is tried again later
          if (batch === undefined && spool.holds(entry)) this.unreadable.set(entry.name, this.now() + UNREADABLE_RETRY_MS);
          this.pump();
          return;
        }
        const owner: Owner = { seq: undefined, origin: entry, pending: 1 };
        // Spooled data is the oldest there is: it goes first. (The spool decoded it and checked the range.)
        this.enqueue({ order: -1e15 + entry.createdMs, batch: new Batch(batch.bytes, batch.spans), from: batch.from, to: batch.to, createdMs: entry.createdMs, attempts: 0, ambiguous: entry.ambiguous, bad: undefined, owner });
        this.pump();
      });
    }
  }

  /** The spool files replay passes over now: those being replayed, and those that could not be read lately. */
  private skippedForReplay(now: number): ReadonlySet<string> {
    if (this.unreadable.size === 0) return this.replaying;
    const skipped = new Set(this.replaying);
    for (const [name, retryAt] of this.unreadable) {
      if (retryAt > now) skipped.add(name);
      else this.unreadable.delete(name);
    }
    return skipped;
  }

  private dispatch(part: Part, index: number): void {
    const target = this.targets[index];
    const breaker = this.breakers[index];
    const stats = this.stats[index];
    const n = part.to - part.from;
    const probe = breaker.onSend();
    if (part.attempts > 0) stats.retries++;
    if (part.ambiguous) stats.resentSpans += n;
    if (part.attempts > 0 || part.ambiguous) this.changed();
    part.attempts++;
    this.inflightParts.add(part);
    const started = performance.now();
    let sending: Promise<SendResult>;
    try {
      sending = target.send({ bytes: part.batch.bytes, from: part.from, to: part.to, decode: part.batch.decode });
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending
      .catch((error: unknown): SendResult => ({ ok: false, kind: 'retryable', error: `${(error as Error)?.message ?? error}`, ambiguous: false }))
      .then((result) => this.onResult(part, index, result, performance.now() - started, probe));
  }

  private onResult(part: Part, index: number, result: SendResult, latencyMs: number, probe: boolean): void {
    if (!this.inflightParts.delete(part)) return; // abandoned at shutdown (already spooled)
    const now = this.now();
    const breaker = this.breakers[index];
    const stats = this.stats[index];
    const n = part.to - part.from;
    stats.recordLatency(latencyMs);
    this.changed();
    if (result.ok) {
      breaker.onSuccess();
      stats.spansSent += n;
      stats.batchesSent++;
      // A receiver cannot reject more spans than it was sent.
      const rejected = Math.min(n, result.rejectedSpans ?? 0);
      if (rejected > 0) {
        stats.rejectedSpans += rejected;
        this.count('export_rejected', rejected);
      }
      if (result.message) stats.fail(`partial success: ${result.message}`, now);
      if (part.owner.origin !== undefined) this.replayedSpans += n;
      this.settlePart(part);
    } else {
      stats.batchesFailed++;
      stats.spansFailed += n;
      stats.fail(result.error, now);
      if (probe && result.kind !== 'retryable') {
        // Not an outage: the target answered (a 4xx proves it is back), or nothing was sent.
        if (result.notSent) breaker.releaseProbe();
        else breaker.onSuccess();
      }
      if (result.kind === 'too_large' && n > 1) {
        const mid = part.from + Math.floor(n / 2);
        part.owner.pending++;
        part.owner.split = true;
        this.enqueue({ ...part, to: mid, bad: part.bad && new Set(part.bad) });
        this.enqueue({ ...part, from: mid, bad: part.bad && new Set(part.bad) });
      } else if (result.kind === 'bad' || result.kind === 'too_large') {
        stats.badBatches++;
        (part.bad ??= new Set()).add(index);
        this.enqueue(part);
      } else {
        breaker.onFailure(now, result.retryAfterMs, probe);
        if (result.ambiguous) part.ambiguous = true;
        this.enqueue(part);
      }
    }
    this.pump();
  }

  private spoolPart(part: Part): void {
    const spool = this.spool as Spool;
    this.spoolWrites++;
    void spool.write(part.batch.bytes, part.from, part.to, part.createdMs, part.ambiguous).then((result) => {
      this.spoolWrites--;
      const n = part.to - part.from;
      this.spoolFailing = result === 'error';
      if (result === 'ok') {
        this.spooledSpans += n;
        this.spooledBatches++;
        this.changed();
        this.settlePart(part);
      } else if (result === 'full') {
        this.count('export_spool_full', n);
        this.settlePart(part);
      } else if (this.stopped) {
        this.count('export_shutdown_timeout', n);
        this.settlePart(part);
      } else {
        // The disk failed: keep it in memory and try the spool again later.
        this.spoolRetryAt = this.now() + 5000;
        this.enqueue(part);
      }
      this.pump();
    });
  }

  /**
   * A batch read back from the spool that cannot go now: its file stays and is
   * read again later. If an attempt's outcome was unknown, its next sending is
   * counted as a re-send, also by the next process (the mark is written into
   * the file). A part of a split one goes to a file of its own instead, and
   * the batch's file is removed once every part is settled: the file holds
   * the parts delivered or dropped meanwhile too, which would be sent (or
   * counted as dropped) again.
   */
  private keepInSpool(part: Part): void {
    const owner = part.owner;
    if (owner.split === true) {
      this.respoolPart(part);
      return;
    }
    this.keepOrigin(part);
  }

  /** Keeps the batch's spool file for the part; marked, if sending it again may be a re-send. */
  private keepOrigin(part: Part): void {
    const owner = part.owner;
    const origin = owner.origin as SpoolEntry;
    owner.keep = true;
    // the file holds every part: those written apart before would be in the spool twice
    for (const entry of owner.respooled?.splice(0) ?? []) this.removeSpooled(entry);
    if ((part.ambiguous || owner.split === true) && !origin.ambiguous) this.markAmbiguous(origin);
    this.settleOwner(owner);
  }

  /**
   * Writes a part of a split spooled batch to a file of its own (not counted
   * as spooled again: its spans are in the spool already). If that fails (the
   * spool is full, or the disk fails), the batch's file is kept instead,
   * marked: its parts settled meanwhile will be sent again, counted as re-sends.
   */
  private respoolPart(part: Part): void {
    const spool = this.spool as Spool;
    this.spoolWrites++;
    void spool.writeEntry(part.batch.bytes, part.from, part.to, part.createdMs, part.ambiguous).then((written) => {
      this.spoolWrites--;
      const owner = part.owner;
      if (typeof written !== 'string' && owner.keep === true) {
        // another part fell back to the batch's own file meanwhile: it holds this one too
        this.removeSpooled(written);
        this.settleOwner(owner);
      } else if (typeof written !== 'string') {
        (owner.respooled ??= []).push(written);
        this.changed();
        this.settlePart(part);
      } else {
        this.keepOrigin(part);
      }
      this.checkIdle();
      this.pump();
    });
  }

  /** Removes a spool file written for a part, counted as a write (drain() and idle() wait for it). */
  private removeSpooled(entry: SpoolEntry): void {
    this.spoolWrites++;
    void (this.spool as Spool).remove(entry).then(() => {
      this.spoolWrites--;
      this.checkIdle();
    });
  }

  private markAmbiguous(entry: SpoolEntry): void {
    const spool = this.spool as Spool;
    // Counted as a write: drain() and idle() wait for it.
    this.spoolWrites++;
    void spool.markAmbiguous(entry).then(() => {
      this.spoolWrites--;
      this.checkIdle();
    });
  }

  private settlePart(part: Part): void {
    const owner = part.owner;
    if (owner.seq !== undefined && owner.pending > 1) {
      // a split batch with parts still out: the main thread learns what of it is settled
      owner.settledSpans = (owner.settledSpans ?? 0) + part.to - part.from;
      this.partlySettled.set(owner.seq, owner.settledSpans);
      this.changed();
    }
    this.settleOwner(owner);
  }

  private settleOwner(owner: Owner): void {
    owner.pending--;
    if (owner.pending > 0) return;
    if (owner.seq !== undefined) {
      this.partlySettled.delete(owner.seq);
      // The main thread must have the counts of a batch before its ack: the worker may die right after.
      this.reportCounters();
      this.options.onSettled(owner.seq);
    }
    const origin = owner.origin;
    if (origin !== undefined && owner.keep === true) {
      this.replaying.delete(origin.name);
      this.checkIdle();
    } else if (origin !== undefined && this.spool !== undefined) {
      // counted as a write: drain() waits for it, so that a delivered batch's file is gone before the lock is released
      this.spoolWrites++;
      void this.spool.remove(origin).then(() => {
        this.spoolWrites--;
        this.replaying.delete(origin.name);
        this.checkIdle();
        this.pump();
      });
    } else if (origin === undefined) {
      this.checkIdle();
    }
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || !this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private count(reason: string, n: number): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
    this.changed();
  }

  /** Reports the counters once, at the end of this turn (or earlier, with an ack). */
  private changed(): void {
    if (this.countersChanged || this.options.onCounters === undefined) return;
    this.countersChanged = true;
    queueMicrotask(() => this.reportCounters());
  }

  private reportCounters(): void {
    if (!this.countersChanged) return;
    this.countersChanged = false;
    this.options.onCounters?.(this.counters());
  }

  private wakeAt(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      // Capped: a later wake-up finds the target still waiting and sets the next one.
      Math.max(1, timerDelay(at - this.now())),
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}

function before(a: Part, b: Part): boolean {
  return a.order < b.order || (a.order === b.order && a.from < b.from);
}
