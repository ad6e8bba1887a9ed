// Percentiles from stats(), through a real NodeTracerProvider, against exact
// percentiles of the generated durations (>= 100,000 spans per distribution).
import * as hdr from 'hdr-histogram-js';
import { SpanMeterProcessor } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan, exactPercentile, makeProvider, normal, rng, SpanKind } from './helpers/spans.mjs';

const SPANS = 100_000;
const PERCENTILES = { p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9 };

/** Durations in nanoseconds, integer. */
const DISTRIBUTIONS = {
  uniform: (r) => 1e6 + r() * 499e6,
  lognormal: (r) => Math.exp(Math.log(20e6) + normal(r)),
  bimodal: (r) => (r() < 0.7 ? Math.abs(5e6 + 1e6 * normal(r)) + 1e5 : Math.abs(200e6 + 30e6 * normal(r))),
  pareto: (r) => 2e6 * Math.pow(1 - r(), -1 / 1.5),
};

function generate(seed) {
  const random = rng(seed);
  const out = {};
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    const ns = new Float64Array(SPANS);
    const errors = new Uint8Array(SPANS);
    for (let i = 0; i < SPANS; i++) {
      ns[i] = Math.round(draw(random));
      errors[i] = random() < 0.03 ? 1 : 0;
    }
    out[name] = { ns, errors };
  }
  return out;
}

const DATA = generate(42);

for (const digits of [3, 2]) {
  eachBackend(`percentiles within HDR precision of exact, ${digits} significant digits, 4 distributions x ${SPANS} spans`, async (t, backend) => {
    const processor = new SpanMeterProcessor({ backend, significantDigits: digits });
    const { provider, tracer } = makeProvider(processor, { serviceName: 'accuracy' });
    for (const [name, { ns, errors }] of Object.entries(DATA)) {
      for (let i = 0; i < SPANS; i++) endSpan(tracer, name, ns[i], { kind: SpanKind.SERVER, error: errors[i] === 1 });
    }
    await processor.forceFlush();
    const report = await processor.stats();
    await provider.shutdown();

    t.is(report.backend, backend);
    t.is(report.totals.spans, SPANS * 4);
    t.is(report.operations.length, 4);
    // HDR guarantee: a reported value is the top of the value's bucket, whose width
    // is at most value / 2^(subBucketHalfMagnitude); plus 0.5 µs of rounding to µs.
    const subBucketHalfMag = Math.ceil(Math.log2(2 * 10 ** digits)) - 1;
    const relative = 2 ** -subBucketHalfMag;
    t.true(relative <= 10 ** -digits);

    for (const [name, { ns, errors }] of Object.entries(DATA)) {
      const op = report.operations.find((o) => o.name === name);
      t.truthy(op, name);
      t.is(op.service, 'accuracy');
      t.is(op.kind, 'server');
      t.is(op.count, SPANS, `${name} count`);
      const expectedErrors = errors.reduce((a, b) => a + b, 0);
      t.is(op.errors, expectedErrors, `${name} errors`);
      t.is(op.errorRate, expectedErrors / SPANS);

      const exactMs = Float64Array.from(ns, (v) => v / 1e6).sort();
      for (const [key, p] of Object.entries(PERCENTILES)) {
        const exact = exactPercentile(exactMs, p);
        const got = op.latencyMs[key];
        const bound = exact * relative + 0.0005;
        t.true(Math.abs(got - exact) <= bound, `${name} ${key}: got ${got}, exact ${exact}, bound ${bound}`);
        if (digits === 3) t.true(Math.abs(got - exact) / exact <= 0.002, `${name} ${key} within 0.2%`);
      }
      const exactMax = exactMs[exactMs.length - 1];
      t.true(Math.abs(op.latencyMs.max - exactMax) <= 0.0005, `${name} max ${op.latencyMs.max} vs ${exactMax}`);
      t.true(Math.abs(op.latencyMs.min - exactMs[0]) <= 0.0005, `${name} min`);
      const exactMean = exactMs.reduce((a, b) => a + b, 0) / SPANS;
      t.true(Math.abs(op.latencyMs.mean - exactMean) <= 0.0005, `${name} mean ${op.latencyMs.mean} vs ${exactMean}`);
    }
  });
}

eachBackend('percentiles equal hdr-histogram-js on the same values, exactly', async (t, backend) => {
  const processor = new SpanMeterProcessor({ backend });
  const { provider, tracer } = makeProvider(processor);
  const { ns } = DATA.lognormal;
  const reference = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
  for (let i = 0; i < SPANS; i++) {
    endSpan(tracer, 'GET /cart', ns[i]);
    reference.recordValue(Math.round(ns[i] / 1000));
  }
  const report = await processor.stats();
  await provider.shutdown();
  const op = report.operations[0];
  const maxUs = Math.round(op.latencyMs.max * 1000);
  t.is(maxUs, Math.max(...Array.from(ns, (v) => Math.round(v / 1000))));
  for (const [key, p] of Object.entries(PERCENTILES)) {
    // reported percentiles are HDR's, capped at the exact max
    t.is(Math.round(op.latencyMs[key] * 1000), Math.min(reference.getValueAtPercentile(p), maxUs), key);
  }
  t.is(op.count, reference.totalCount);
});
