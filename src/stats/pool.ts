import type { TransferListItem } from 'node:worker_threads';
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';

/**
 * The worker pool that stats and evaluations run on. It starts on first use, keeps
 * at most one idle thread (unref'd by piscina, so it never keeps the process alive)
 * and is destroyed on shutdown.
 */
export class LazyPool {
  private pool: Piscina | undefined;
  private closed = false;
  /** Tasks not yet settled: `close()` lets them finish first. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly filename: string) {}

  /** Runs `task` on the worker's `name` export (default export when omitted). */
  run<T>(task: unknown, options: { name?: string; transferList?: TransferListItem[] } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('spanmeter: the worker pool is closed'));
    if (this.pool === undefined) {
      const maxThreads = Math.max(1, Math.min(2, os.availableParallelism() - 1));
      this.pool = new Piscina({
        filename: this.filename,
        minThreads: 1,
        maxThreads,
        idleTimeout: 10_000,
      });
    }
    const result = this.pool.run(task, options as { name?: string; transferList?: never }) as Promise<T>;
    this.running.add(result);
    const settled = (): void => {
      this.running.delete(result);
    };
    result.then(settled, settled);
    return result;
  }

  get started(): boolean {
    return this.pool !== undefined;
  }

  /**
   * Refuses new tasks, waits for the ones already submitted (piscina runs
   * them out of order: destroying the pool at once rejected `stats()` calls
   * made just before `shutdown()`), then destroys the pool.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await pool.destroy();
  }
}

/** The compiled stats worker next to this file. */
export const STATS_WORKER = path.join(__dirname, 'worker.js');
