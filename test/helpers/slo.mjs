// A processor with SLOs or rules on a manual clock, fed by a real NodeTracerProvider.
import { SpanMeterProcessor } from 'spanmeter';
import { makeProvider, manualClock, SpanKind, SpanStatusCode } from './spans.mjs';

export { SpanKind, SpanStatusCode };

const BASE_SECONDS = 1_700_000_000;

/**
 * `config` is the processor config object. Returns helpers that emit spans with
 * exact durations, move the clock, and evaluate as the timer would.
 */
export function sloHarness(config, { serviceName = 'checkout', onAlert, startMs = Date.UTC(2026, 0, 1), maxOperations } = {}) {
  const clock = manualClock(startMs);
  // The log notifier writes to stderr; tests that want it turn it on explicitly.
  const withQuietLog = { ...config, notifiers: { log: { enabled: false }, ...(config.notifiers ?? {}) } };
  const processor = new SpanMeterProcessor({ config: withQuietLog, clock, onAlert, maxOperations });
  const { provider, tracer } = makeProvider(processor, { serviceName });
  const events = [];

  /** One span: `durationMs` exactly (ns precision), optional error, kind, attributes, exception. */
  function span({ name = 'GET /checkout', durationMs = 10, durationNs, error = false, kind = SpanKind.SERVER, attributes, exception, statusMessage } = {}) {
    const ns = durationNs ?? Math.round(durationMs * 1e6);
    const s = tracer.startSpan(name, { kind, startTime: [BASE_SECONDS, 0], attributes });
    if (exception !== undefined) s.recordException(exception);
    if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage ?? 'failed' });
    const seconds = Math.floor(ns / 1e9);
    s.end([BASE_SECONDS + seconds, ns - seconds * 1e9]);
  }

  /** `total` spans of which `errors` fail. */
  function traffic(total, errors = 0, options = {}) {
    for (let i = 0; i < total; i++) span({ ...options, error: i < errors });
  }

  return {
    processor,
    tracer,
    clock,
    span,
    traffic,
    events,
    get now() {
      return clock();
    },
    /** Records pending spans at the current time, without evaluating. */
    flush: () => processor.forceFlush(),
    /** Moves the clock, emits, records and evaluates: what one timer tick sees. */
    async tick(ms, emit) {
      clock.advance(ms);
      emit?.();
      const transitions = await processor.evaluateNow();
      events.push(...transitions);
      return transitions;
    },
    /** Steady history before a scenario, in coarse steps (spans land in the current slice of each step). */
    async prefill(durationMs, stepMs, perStep, errorsPerStep = 0, options = {}) {
      for (let t = 0; t < durationMs; t += stepMs) {
        clock.advance(stepMs);
        traffic(perStep, errorsPerStep, options);
        await processor.forceFlush();
      }
    },
    async close() {
      await processor.shutdown();
      await provider.shutdown();
    },
  };
}

/** The first transition of an alert (by a label) to a state, or undefined. */
export function firstTransition(events, to, labels) {
  return events.find((e) => e.to === to && Object.entries(labels).every(([k, v]) => e.labels[k] === v));
}

export const SECOND = 1000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
