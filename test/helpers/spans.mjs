// A real NodeTracerProvider around a SpanMeterProcessor, and spans with exact durations.
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';

export { SpanKind, SpanStatusCode };

const BASE_SECONDS = 1_700_000_000;

/** A sampler that records every span but samples none (RECORD only). */
export const recordOnlySampler = {
  shouldSample: () => ({ decision: SamplingDecision.RECORD }),
  toString: () => 'RecordOnly',
};

export function makeProvider(processor, { serviceName = 'checkout', sampler } = {}) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor],
    ...(sampler ? { sampler } : {}),
  });
  return { provider, tracer: provider.getTracer('spanmeter-tests') };
}

/** Starts and ends one span whose duration is exactly `durationNs` nanoseconds. */
export function endSpan(tracer, name, durationNs, { kind = SpanKind.INTERNAL, error = false } = {}) {
  const start = [BASE_SECONDS, 0];
  const span = tracer.startSpan(name, { kind, startTime: start });
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  const seconds = Math.floor(durationNs / 1e9);
  span.end([BASE_SECONDS + seconds, durationNs - seconds * 1e9]);
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal variate (Box-Muller). */
export function normal(random) {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Nearest-rank percentile of sorted values: the value at rank ceil(p/100 * n). */
export function exactPercentile(sorted, p) {
  // Integer arithmetic: (99.9 / 100) * 100000 is 99900.00000000001 in floating point.
  const partsPerMillion = Math.round(p * 10_000);
  const rank = Math.max(1, Math.ceil((partsPerMillion * sorted.length) / 1_000_000));
  return sorted[rank - 1];
}

/** A controllable clock for rolling windows. */
export function manualClock(startMs = Date.UTC(2026, 0, 1)) {
  let now = startMs;
  const clock = () => now;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}
