import type { TransferListItem, Worker } from 'node:worker_threads';
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { errorMessage, poolClosed, poolRestarted, workerTimeout } from '../errors';

/** The pool's most threads: one per core but one (the event loop's), at most two. */
export function poolThreads(): number {
  return Math.max(1, Math.min(2, os.availableParallelism() - 1));
}

/** How long a task may take on the pool by default (`workerTimeoutMs`). */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

/** How one task runs: the worker's export to call, what to transfer, its time limit. */
export interface RunOptions {
  name?: string;
  transferList?: TransferListItem[];
  timeoutMs?: number;
}

/** One Piscina instance and the tasks submitted to it. */
interface Generation {
  readonly piscina: Piscina;
  readonly running: Set<Promise<unknown>>;
  retired: boolean;
}

/**
 * The worker pool that stats and evaluations run on. It starts on first use, keeps
 * at most one idle thread (unref'd by piscina, so it never keeps the process alive)
 * and is destroyed on shutdown.
 *
 * A task fails with its worker's error when the worker is lost (killed, out
 * of memory), and with `SPANMETER_WORKER_TIMEOUT` when it has no result
 * `timeoutMs` after it was given (waiting for a thread included); piscina
 * replaces such a worker. But it stops replacing workers once one dies while
 * starting, and then queued tasks waited for a worker that never came: a pool
 * left without threads is retired and destroyed at once; its tasks, which
 * never ran, are given once to a fresh pool (then fail with
 * `SPANMETER_POOL_RESTARTED` rather than wait).
 */
export class LazyPool {
  private current: Generation | undefined;
  private closed = false;
  /** Tasks not yet settled, on any generation: `close()` lets them finish first. */
  private readonly running = new Set<Promise<unknown>>();
  /** Retired generations being destroyed. */
  private readonly retiring = new Set<Promise<void>>();
  private restartCount = 0;

  constructor(
    private readonly filename: string,
    private readonly timeoutMs = DEFAULT_WORKER_TIMEOUT_MS,
  ) {}

  /**
   * Runs `task` on the worker's `name` export (default export when omitted),
   * within `timeoutMs` (the pool's when omitted).
   */
  run<T>(task: unknown, options: RunOptions = {}, resubmitted = false): Promise<T> {
    if (this.closed) return Promise.reject(poolClosed());
    // no thread at all: its last worker died and piscina started none (see above)
    if (this.current !== undefined && this.current.piscina.threads.length === 0) this.retire(this.current);
    const generation = (this.current ??= this.start());
    const { timeoutMs = this.timeoutMs, ...runOptions } = options;
    const signal = AbortSignal.timeout(timeoutMs);
    const result = (generation.piscina.run(task, { ...runOptions, signal } as { name?: string; transferList?: never; signal: AbortSignal }) as Promise<T>).catch(
      (error: unknown) => {
        // piscina ended the worker running it, if it ran, and starts another
        if (signal.aborted) throw workerTimeout(timeoutMs);
        // destroyed under it: its pool was left without threads (see start()),
        // so it never ran, and its transfer list is still ours: once more, afresh
        if (generation.retired) {
          if (!resubmitted && !this.closed) return this.run<T>(task, options, true);
          throw poolRestarted(errorMessage(error));
        }
        throw error;
      },
    );
    generation.running.add(result);
    this.running.add(result);
    const settled = (): void => {
      generation.running.delete(result);
      this.running.delete(result);
    };
    result.then(settled, settled);
    return result;
  }

  get started(): boolean {
    return this.current !== undefined;
  }

  /** The current pool's worker threads (none before the first task): tests stop them as a crash would. */
  get threads(): readonly Worker[] {
    return this.current?.piscina.threads ?? [];
  }

  /** How many times a pool left without threads was replaced by a fresh one. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Refuses new tasks, waits for the ones already submitted (piscina runs
   * them out of order: destroying the pool at once rejected `stats()` calls
   * made just before `shutdown()`), then destroys the pool.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.retiring]);
    const generation = this.current;
    this.current = undefined;
    // a worker that failed to stop must not fail the application's shutdown
    if (generation !== undefined) await generation.piscina.destroy().catch(() => undefined);
  }

  private start(): Generation {
    const piscina = new Piscina({ filename: this.filename, minThreads: 1, maxThreads: poolThreads(), idleTimeout: 10_000 });
    const generation: Generation = { piscina, running: new Set(), retired: false };
    // a worker that fails with no task of ours: piscina emits 'error', which
    // would throw (an uncaught exception in the application) without a listener
    // (piscina replaces that worker; a pool left without any is retired below)
    piscina.on('error', () => undefined);
    // piscina replaces a lost worker in the same turn, unless one died while
    // starting: then tasks wait for a thread that never comes
    piscina.on('workerDestroy', () => {
      setImmediate(() => {
        if (!this.closed && piscina.threads.length === 0 && generation.running.size > 0) this.retire(generation);
      });
    });
    return generation;
  }

  /** Stops giving tasks to `generation` and destroys it; the next task starts a fresh pool. */
  private retire(generation: Generation): void {
    if (generation.retired) return;
    generation.retired = true;
    if (this.current === generation) this.current = undefined;
    this.restartCount++;
    const destroyed = generation.piscina.destroy().catch(() => undefined);
    this.retiring.add(destroyed);
    void destroyed.then(() => this.retiring.delete(destroyed));
  }
}

/** The compiled stats worker next to this file. */
export const STATS_WORKER = path.join(__dirname, 'worker.js');
