// A receiver's Retry-After is honoured only up to max_open_duration: an absurd
// one (1e14 s, 35 days, a date in year 9999) must neither switch the target off
// for good nor break stats() and shutdown(), nor turn the worker's wake-up timer
// into a busy loop (Node runs a timer over 2^31-1 ms after 1 ms, with a warning).
import test from 'ava';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanMeterProcessor } from 'spanmeter';
import { CircuitBreaker } from '../dist/export/breaker.js';
import { parseRetryAfter } from '../dist/export/http.js';
import { isoTime } from '../dist/export/status.js';
import { MAX_TIMER_MS, timerDelay } from '../dist/export/timers.js';
import { sleep, spoolOf, startHttpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

const MAX_OPEN_MS = 2000;

function setup(t, receiver) {
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces` }],
        retry: { initial_backoff: '10ms', max_backoff: '50ms', failure_threshold: 1 },
        circuit_breaker: { open_duration: '1s', max_open_duration: `${MAX_OPEN_MS}ms` },
        batch: { delay: '10ms' },
        spool: { dir: tempDir(t) },
        shutdown_timeout: '2s',
      },
    },
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  t.teardown(() => provider.shutdown());
  const tracer = provider.getTracer('retry-after');
  return { processor, provider, emit: (n) => Array.from({ length: n }, () => tracer.startSpan('op').end()) };
}

const unavailable = (retryAfter) => startHttpReceiver((req, body, res) => res.writeHead(503, { 'Retry-After': retryAfter }).end());

test('a Retry-After of 1e14 seconds: stats() and shutdown() answer, and the circuit opens for max_open_duration at most', async (t) => {
  const receiver = await unavailable('100000000000000');
  t.teardown(() => receiver.close());
  const { processor, provider, emit } = setup(t, receiver);
  emit(10);
  // Before the fix every stats() went unanswered (10 s) and came back without exporters.
  const report = await waitUntil(
    async () => {
      const r = await processor.stats();
      return r.exporters !== undefined && spoolOf(r).spool.spans === 10 ? r : undefined;
    },
    { what: 'the 10 spans spooled, in a stats() with exporters' },
  );
  const target = report.exporters[0];
  t.is(target.state, 'open');
  t.regex(target.lastError, /HTTP 503/);
  const openFor = Date.parse(target.circuitOpenUntil) - Date.now();
  t.true(openFor <= MAX_OPEN_MS, `open for ${openFor} ms more, at most max_open_duration`);

  await provider.shutdown();
  // The shutdown's answer carries the final status: without it stats() has no exporters.
  const after = await processor.stats();
  t.truthy(after.exporters, 'the worker answered the shutdown');
  t.is(spoolOf(after).spool.spans, 10);
});

test.serial('a Retry-After far in the future (35 days, year 9999) writes no TimeoutOverflowWarning and the target is tried again', async (t) => {
  let written = '';
  const write = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    written += String(chunk);
    return write.call(this, chunk, ...rest);
  };
  t.teardown(() => {
    process.stderr.write = write;
  });
  for (const retryAfter of ['3000000', 'Fri, 31 Dec 9999 23:59:59 GMT']) {
    const receiver = await unavailable(retryAfter);
    t.teardown(() => receiver.close());
    const { processor, emit } = setup(t, receiver);
    emit(10);
    await waitUntil(async () => spoolOf(await processor.stats())?.spool.spans === 10, { what: 'the spans spooled' });
    const requests = receiver.requests.length;
    // The circuit half-opens after max_open_duration: the spool's replay is the probe.
    await waitUntil(() => receiver.requests.length > requests, { what: `a probe after Retry-After: ${retryAfter}` });
    // Before the fix the wake-up timer fired every 1 ms, each time with a warning.
    await sleep(100);
    t.notRegex(written, /TimeoutOverflowWarning/, `Retry-After: ${retryAfter}`);
  }
});

test('Retry-After parsing, the breaker, timer delays and status times are bounded', (t) => {
  const now = Date.UTC(2026, 0, 1);
  t.is(parseRetryAfter('100000000000000', now), MAX_TIMER_MS);
  t.is(parseRetryAfter('9'.repeat(400), now), MAX_TIMER_MS, 'not Infinity');
  t.is(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now), MAX_TIMER_MS);
  t.is(parseRetryAfter('2', now), 2000);
  t.is(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);

  const policy = { initialBackoffMs: 10, maxBackoffMs: 50, failureThreshold: 3, openMs: 1000, maxOpenMs: 5000 };
  const breaker = new CircuitBreaker(policy, () => 0.5);
  t.is(breaker.onFailure(now, 1e17), 'open', 'a Retry-After over max_backoff opens the circuit');
  t.is(breaker.openUntil, now + 5000, 'for max_open_duration, not the 1e17 ms asked');
  t.is(breaker.onFailure(now + 1, 1e17), 'open', 'a late answer while open');
  t.is(breaker.openUntil, now + 5001);

  t.is(timerDelay(1e17), MAX_TIMER_MS);
  t.is(timerDelay(Infinity), MAX_TIMER_MS);
  t.is(timerDelay(-5), 0);
  t.is(timerDelay(Number.NaN), 0);
  t.is(timerDelay(1500), 1500);

  t.is(isoTime(1e17), undefined, 'outside Date: no RangeError');
  t.is(isoTime(Number.NaN), undefined);
  t.is(isoTime(0), '1970-01-01T00:00:00.000Z');
});
