import type { ExporterTargetConfig } from '../config';
import { timerDelay } from '../timers';
import type { Payload, SendResult, Target } from './types';

/** Asks the main thread to run a user's SpanExporter on a batch; `signal` aborts when the answer is no longer awaited. */
export type MainThreadCall = (index: number, bytes: Uint8Array, from: number, to: number, signal: AbortSignal) => Promise<{ ok: boolean; error?: string; bad?: boolean }>;

/**
 * A user's `SpanExporter`. It cannot move to the worker, so the batch goes back
 * to the main thread, which decodes it into ReadableSpans and calls
 * `export()` (inside `suppressTracing`); failover and retries stay here.
 */
export class ExporterTarget implements Target {
  readonly name: string;
  readonly type = 'exporter' as const;
  readonly endpoint = undefined;

  constructor(
    private readonly config: ExporterTargetConfig,
    private readonly call: MainThreadCall,
  ) {
    this.name = config.name;
  }

  async send(payload: Payload): Promise<SendResult> {
    let timer: NodeJS.Timeout | undefined;
    const abandon = new AbortController();
    const timeout = new Promise<{ ok: boolean; error?: string; bad?: boolean; timedOut: true }>((resolve) => {
      timer = setTimeout(() => {
        abandon.abort();
        resolve({ ok: false, error: `export() did not call back within ${this.config.timeoutMs} ms`, timedOut: true });
      }, timerDelay(this.config.timeoutMs));
      timer.unref();
    });
    const result = await Promise.race([this.call(this.config.index, payload.bytes, payload.from, payload.to, abandon.signal), timeout]);
    clearTimeout(timer);
    if (result.ok) return { ok: true };
    // Unreadable on the main thread: not sent to the exporter, and no use retrying it there.
    if (result.bad === true) return { ok: false, kind: 'bad', error: result.error ?? 'unreadable batch', ambiguous: false, notSent: true };
    return { ok: false, kind: 'retryable', error: result.error ?? 'export failed', ambiguous: 'timedOut' in result };
  }

  async close(): Promise<void> {}
}
