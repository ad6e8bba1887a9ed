import * as http from 'node:http';
import * as https from 'node:https';
import { MAX_TIMER_MS, timerDelay } from './timers';

/** The outcome of one HTTP export request. */
export interface HttpResult {
  /** HTTP status, 0 when no complete response arrived. */
  status: number;
  body: Buffer;
  /** Retry-After in milliseconds, when the response carried one. */
  retryAfterMs?: number;
  /** The response's Content-Type, when it had one. */
  contentType?: string;
  /** A transport error (refused, reset, timeout, partial response). */
  error?: string;
  /**
   * The request was fully written before the failure, so the receiver may have
   * stored it: a later re-send may duplicate it.
   */
  ambiguous: boolean;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** Keep-alive agents, one per protocol, shared by the targets of one worker. */
export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly active = new Set<http.ClientRequest>();

  /** `maxSockets`: the export's `concurrency`, so that no request waits in the agent for a socket. */
  constructor(maxSockets: number) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
  }

  /** POSTs `body`; never rejects. */
  post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpResult> {
    return new Promise((resolve) => {
      let settled = false;
      let written = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: HttpResult): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        this.active.delete(req);
        resolve(result);
      };
      const isHttps = url.protocol === 'https:';
      const req = (isHttps ? https : http).request(url, {
        method: 'POST',
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        headers: { ...headers, 'Content-Length': String(body.length) },
      });
      this.active.add(req);
      // The timeout runs from when the request has a socket: waiting in the agent's queue is not the receiver's fault.
      req.once('socket', () => {
        if (settled) return;
        timer = setTimeout(() => {
          finish({ status: 0, body: EMPTY, error: `timeout after ${timeoutMs} ms`, ambiguous: written });
          req.destroy(new Error('timeout'));
        }, timerDelay(timeoutMs));
        timer.unref();
      });
      req.on('finish', () => {
        written = true;
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish({ status: 0, body: EMPTY, error: describeError(error), ambiguous: written && error.code !== 'ECONNREFUSED' });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('aborted', () => {
          finish({ status: 0, body: EMPTY, error: `response from ${res.statusCode} aborted before its end`, ambiguous: true });
        });
        res.on('error', (error) => {
          finish({ status: 0, body: EMPTY, error: `partial response (${res.statusCode}): ${describeError(error)}`, ambiguous: true });
        });
        res.on('end', () => {
          if (!res.complete) {
            finish({ status: 0, body: EMPTY, error: `partial response (${res.statusCode})`, ambiguous: true });
            return;
          }
          const status = res.statusCode ?? 0;
          const contentType = res.headers['content-type'];
          finish({ status, body: Buffer.concat(chunks), retryAfterMs: parseRetryAfter(res.headers['retry-after']), ambiguous: true, ...(contentType !== undefined ? { contentType } : {}) });
        });
      });
      req.end(body);
    });
  }

  /** Aborts every request in flight and closes idle sockets. */
  close(): void {
    for (const req of this.active) req.destroy(new Error('spanmeter: export shut down'));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

function describeError(error: NodeJS.ErrnoException): string {
  return error.code !== undefined && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
}

/**
 * Retry-After as delay-seconds or an HTTP date, in milliseconds from now, at
 * most MAX_TIMER_MS (the breaker caps it further, at max_open_duration).
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value[0] : value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(MAX_TIMER_MS, Math.round(Number(text) * 1000));
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(MAX_TIMER_MS, Math.max(0, date - now));
}
