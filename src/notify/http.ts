/** One JSON POST with a timeout, on Node's http/https (no connection pooling to keep the process alive). */
import * as http from 'node:http';
import * as https from 'node:https';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { webhookStatus, webhookTimeout } from '../errors';

/**
 * Resolves on a 2xx answer; rejects with `webhookStatus`, `webhookTimeout` or a network error.
 * The request is made with tracing suppressed (an http instrumentation must not turn
 * alert deliveries into spans that spanmeter then counts), and its socket is unref'd
 * (an alert in flight does not keep the process alive; `close()` holds it at shutdown).
 */
export function postJson(url: URL, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return context.with(suppressTracing(context.active()), () => post(url, body, headers, timeoutMs, signal));
}

function post(url: URL, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined = undefined;
    const settle = (error?: unknown): void => {
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        agent: false,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'spanmeter',
          ...headers,
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume();
        response.on('error', settle);
        response.on('end', () => {
          const code = response.statusCode ?? 0;
          settle(code >= 200 && code < 300 ? undefined : webhookStatus(code));
        });
      },
    );
    request.on('socket', (socket) => socket.unref());
    // The whole exchange, not only socket inactivity, must fit in the timeout.
    timer = setTimeout(() => request.destroy(webhookTimeout(timeoutMs)), timeoutMs);
    timer.unref();
    request.on('error', settle);
    request.end(body);
  });
}
