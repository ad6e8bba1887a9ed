// Export to real back ends, queried back and compared span by span: Jaeger v2
// (through its OTLP endpoint) and the Zipkin server (v2 JSON). .ci/backends.sh
// installs and starts both; in CI (CI=true) a missing back end fails the test,
// elsewhere the tests are skipped with a message that says how to run them.
import test from 'ava';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanMeterProcessor } from 'spanmeter';
import { waitUntil } from './helpers/export.mjs';

const inCI = process.env.CI === 'true' || process.env.CI === '1';

function backendTest(title, variables, fn) {
  const missing = variables.filter((v) => !process.env[v]);
  if (missing.length === 0) test(title, fn);
  else if (inCI) test(title, (t) => t.fail(`${missing.join(', ')} not set: CI must run the real back ends (.ci/run sources .ci/backends.sh)`));
  else test.skip(`${title} — needs the real server: run \`source .ci/backends.sh && npm test\` (Go and Java 17 required)`, () => {});
}

const micros = ([s, ns]) => s * 1_000_000 + Math.floor(ns / 1000);

/** The same spans for both back ends: a server span with every attribute type, an event and an error; children. */
function emit(processor, serviceName) {
  const captured = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor, new SimpleSpanProcessor(captured)],
  });
  const tracer = provider.getTracer('backend-scope', '1.4.2');
  const root = tracer.startSpan('get /cart', {
    kind: SpanKind.SERVER,
    attributes: { 'http.response.status_code': 503, 'http.route': '/cart', ratio: 0.75, cached: false, items: ['a', 'b'] },
  });
  root.addEvent('retry', { attempt: 2 });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'backend down' });
  const ctx = trace.setSpan(context.active(), root);
  tracer.startSpan('select cart', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'peer.service': 'cart-db' } }, ctx).end();
  for (let i = 0; i < 30; i++) tracer.startSpan(`step ${i}`, { attributes: { i } }, ctx).end();
  root.end();
  return { provider, spans: captured.getFinishedSpans() };
}

backendTest('real Jaeger v2 stores every span as sent (OTLP in, query API out)', ['SPANMETER_JAEGER_OTLP_URL', 'SPANMETER_JAEGER_QUERY_URL'], async (t) => {
  const service = `spanmeter-jaeger-${process.pid}-${Date.now()}`;
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'jaeger', endpoint: process.env.SPANMETER_JAEGER_OTLP_URL, compression: 'gzip' }], spool: { enabled: false } } },
  });
  const { provider, spans } = emit(processor, service);
  await processor.forceFlush();
  const url = `${process.env.SPANMETER_JAEGER_QUERY_URL}/api/traces?service=${encodeURIComponent(service)}&limit=100`;
  const traces = await waitUntil(
    async () => {
      const body = await fetch(url).then((r) => r.json());
      const n = (body.data ?? []).reduce((sum, tr) => sum + tr.spans.length, 0);
      return n >= spans.length ? body.data : undefined;
    },
    { what: 'Jaeger to return every span', timeoutMs: 30_000 },
  );
  t.is(traces.length, 1, 'one trace');
  const got = new Map(traces[0].spans.map((s) => [s.spanID, s]));
  t.is(got.size, spans.length);
  const process_ = Object.values(traces[0].processes)[0];
  t.is(process_.serviceName, service);
  for (const s of spans) {
    const j = got.get(s.spanContext().spanId);
    t.truthy(j, `span ${s.name}`);
    t.is(j.traceID, s.spanContext().traceId);
    t.is(j.operationName, s.name);
    t.is(j.startTime, micros(s.startTime));
    t.true(Math.abs(j.duration - (micros(s.endTime) - micros(s.startTime))) <= 1);
    const parent = s.parentSpanContext?.spanId;
    t.deepEqual(
      j.references.map((r) => [r.refType, r.spanID]),
      parent ? [['CHILD_OF', parent]] : [],
    );
    const tags = Object.fromEntries(j.tags.map((tag) => [tag.key, tag.value]));
    t.is(tags['otel.scope.name'], 'backend-scope');
    t.is(tags['otel.scope.version'], '1.4.2');
    t.is(tags['span.kind'], ['internal', 'server', 'client', 'producer', 'consumer'][s.kind]);
    for (const [key, value] of Object.entries(s.attributes)) t.deepEqual(tags[key], Array.isArray(value) ? JSON.stringify(value) : value, `${s.name}: ${key}`);
  }
  const root = got.get(spans.find((s) => s.name === 'get /cart').spanContext().spanId);
  const rootTags = Object.fromEntries(root.tags.map((tag) => [tag.key, tag.value]));
  t.is(rootTags['otel.status_code'], 'ERROR');
  t.is(rootTags['otel.status_description'], 'backend down');
  t.is(rootTags.error, true);
  t.is(root.logs.length, 1);
  t.deepEqual(Object.fromEntries(root.logs[0].fields.map((f) => [f.key, f.value])), { event: 'retry', attempt: 2 });
  const report = await processor.stats();
  t.is(report.exporters[0].spansSent, spans.length);
  await provider.shutdown();
});

backendTest('the real Zipkin server stores every span as sent (v2 JSON in, v2 API out)', ['SPANMETER_ZIPKIN_URL'], async (t) => {
  const service = `spanmeter-zipkin-${process.pid}-${Date.now()}`;
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'zipkin', endpoint: `${process.env.SPANMETER_ZIPKIN_URL}/api/v2/spans` }], spool: { enabled: false } } },
  });
  const { provider, spans } = emit(processor, service);
  await processor.forceFlush();
  const url = `${process.env.SPANMETER_ZIPKIN_URL}/api/v2/traces?serviceName=${encodeURIComponent(service)}&limit=100`;
  const traces = await waitUntil(
    async () => {
      const body = await fetch(url).then((r) => r.json());
      const n = body.reduce((sum, tr) => sum + tr.length, 0);
      return n >= spans.length ? body : undefined;
    },
    { what: 'Zipkin to return every span', timeoutMs: 30_000 },
  );
  t.is(traces.length, 1);
  const got = new Map(traces[0].map((s) => [s.id, s]));
  t.is(got.size, spans.length);
  for (const s of spans) {
    const z = got.get(s.spanContext().spanId);
    t.truthy(z, `span ${s.name}`);
    t.is(z.traceId, s.spanContext().traceId);
    t.is(z.parentId, s.parentSpanContext?.spanId);
    t.is(z.name, s.name); // Zipkin lower-cases names: these are lower case already
    t.is(z.kind, [undefined, 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'][s.kind]);
    t.is(z.timestamp, micros(s.startTime));
    t.true(Math.abs(z.duration - Math.max(1, micros(s.endTime) - micros(s.startTime))) <= 1);
    t.is(z.localEndpoint.serviceName, service);
    for (const [key, value] of Object.entries(s.attributes)) t.is(z.tags[key], Array.isArray(value) ? JSON.stringify(value) : String(value), `${s.name}: ${key}`);
    t.is(z.tags['otel.scope.name'], 'backend-scope');
  }
  const root = got.get(spans.find((s) => s.name === 'get /cart').spanContext().spanId);
  t.is(root.tags['otel.status_code'], 'ERROR');
  t.is(root.tags.error, 'backend down');
  t.deepEqual(
    root.annotations.map((a) => a.value),
    ['"retry": {"attempt":2}'],
  );
  t.deepEqual(got.get(spans.find((s) => s.name === 'select cart').spanContext().spanId).remoteEndpoint, { serviceName: 'cart-db' });
  await provider.shutdown();
});
