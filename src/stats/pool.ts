import type { TransferListItem, Worker } from 'node:worker_threads';
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { poolClosed, workerTimeout } from '../errors';

/** How long a task may take on the pool by default (`workerTimeoutMs`). */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

/** One Piscina instance and the tasks submitted to it. */
interface Generation {
  readonly piscina: Piscina;
  readonly running: Set<Promise<unknown>>;
}

/**
 * The worker pool that stats and evaluations run on. It starts on first use, keeps
 * at most one idle thread (unref'd by piscina, so it never keeps the process alive)
 * and is destroyed on shutdown.
 *
 * A task that fails (its worker lost: killed, out of memory) or takes longer
 * than `timeoutMs` retires the pool it ran on: the next task starts a fresh
 * one. Piscina does not always replace a worker that died while starting, and
 * then queued tasks waited for a worker that never came.
 */
export class LazyPool {
  private current: Generation | undefined;
  private closed = false;
  /** Tasks not yet settled, on any generation: `close()` lets them finish first. */
  private readonly running = new Set<Promise<unknown>>();
  /** Retired generations being destroyed once their own tasks settle. */
  private readonly retiring = new Set<Promise<void>>();
  private restartCount = 0;

  constructor(
    private readonly filename: string,
    private readonly timeoutMs = DEFAULT_WORKER_TIMEOUT_MS,
  ) {}

  /** Runs `task` on the worker's `name` export (default export when omitted). */
  run<T>(task: unknown, options: { name?: string; transferList?: TransferListItem[] } = {}): Promise<T> {
    if (this.closed) return Promise.reject(poolClosed());
    const generation = (this.current ??= this.start());
    const signal = AbortSignal.timeout(this.timeoutMs);
    const result = (generation.piscina.run(task, { ...options, signal } as { name?: string; transferList?: never; signal: AbortSignal }) as Promise<T>).catch(
      (error: unknown) => {
        this.retire(generation);
        throw signal.aborted ? workerTimeout(this.timeoutMs) : error;
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

  /** How many times a failed or timed-out task made the pool start afresh. */
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
    return { piscina, running: new Set() };
  }

  /** Stops giving tasks to `generation`; destroys it once its other tasks settle (each within the timeout). */
  private retire(generation: Generation): void {
    if (this.current !== generation) return;
    this.current = undefined;
    this.restartCount++;
    const destroyed = Promise.allSettled([...generation.running])
      .then(() => generation.piscina.destroy())
      .catch(() => undefined);
    this.retiring.add(destroyed);
    void destroyed.then(() => this.retiring.delete(destroyed));
  }
}

/** The compiled stats worker next to this file. */
export const STATS_WORKER = path.join(__dirname, 'worker.js');
