import type { TransferListItem, Worker } from 'node:worker_threads';
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { errorMessage, poolClosed, poolRestarted, workerTimeout } from '../errors';

/** How long a task may take on the pool by default (`workerTimeoutMs`). */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

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
 * A task that fails (its worker lost: killed, out of memory) or takes longer
 * than `timeoutMs` retires the pool it ran on, and so does a pool left with
 * tasks and no thread: the next task starts a fresh one. Piscina stops
 * replacing workers once one dies while starting, and then queued tasks
 * waited for a worker that never came. A retired pool is destroyed at once:
 * its other tasks fail with `SPANMETER_POOL_RESTARTED` rather than wait.
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

  /** Runs `task` on the worker's `name` export (default export when omitted). */
  run<T>(task: unknown, options: { name?: string; transferList?: TransferListItem[] } = {}): Promise<T> {
    if (this.closed) return Promise.reject(poolClosed());
    // no thread at all: its last worker died and piscina started none (see above)
    if (this.current !== undefined && this.current.piscina.threads.length === 0) this.retire(this.current);
    const generation = (this.current ??= this.start());
    const signal = AbortSignal.timeout(this.timeoutMs);
    const result = (generation.piscina.run(task, { ...options, signal } as { name?: string; transferList?: never; signal: AbortSignal }) as Promise<T>).catch(
      (error: unknown) => {
        if (signal.aborted) {
          this.retire(generation);
          throw workerTimeout(this.timeoutMs);
        }
        // destroyed under it: another task's failure retired its pool
        if (generation.retired) throw poolRestarted(errorMessage(error));
        this.retire(generation);
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

  /** How many times a failed or stuck pool was replaced by a fresh one. */
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
    if (generation !== undefined) await generation.piscina.destroy();
  }

  private start(): Generation {
    const maxThreads = Math.max(1, Math.min(2, os.availableParallelism() - 1));
    const piscina = new Piscina({ filename: this.filename, minThreads: 1, maxThreads, idleTimeout: 10_000 });
    const generation: Generation = { piscina, running: new Set(), retired: false };
    // a worker that fails with no task of ours: piscina emits 'error', which
    // would throw (an uncaught exception in the application) without a listener
    piscina.on('error', () => this.retire(generation));
    // piscina replaces a lost worker in the same turn, unless one died while
    // starting: then tasks wait for a thread that never comes
    piscina.on('workerDestroy', () => {
      setImmediate(() => {
        if (piscina.threads.length === 0 && generation.running.size > 0) this.retire(generation);
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
