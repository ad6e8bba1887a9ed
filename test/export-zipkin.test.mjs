// Export as Zipkin v2 JSON, checked against the OpenTelemetry specification's
// OTel-to-Zipkin mapping, on a loopback Zipkin endpoint that parses the JSON.
import test from 'ava';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SpanMeterProcessor } from 'spanmeter';
import { startHttpReceiver } from './helpers/export.mjs';

const T0 = [1_700_000_000, 123_456_789];

test('spans follow the OTel-to-Zipkin mapping: kinds, µs times, tags, status, scope, endpoints, annotations', async (t) => {
  const receiver = await startHttpReceiver();
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }], spool: { enabled: false } } },
  });
  const captured = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'zipkin-svc', 'service.namespace': 'shop' }),
    spanProcessors: [processor, new SimpleSpanProcessor(captured)],
  });
  const tracer = provider.getTracer('zipkin-scope', '3.1.0');
  const root = tracer.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: T0,
    attributes: { 'http.response.status_code': 500, ratio: 0.5, ok: false, tags: ['a', 'b'], nums: [1, 2], error: 'attribute, not status' },
  });
  root.addEvent('retry', { attempt: 2, reason: 'timeout' }, [1_700_000_000, 223_456_789]);
  root.addEvent('done', [1_700_000_000, 323_456_789]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  const ctx = trace.setSpan(context.active(), root);
  tracer.startSpan('call payments', { kind: SpanKind.CLIENT, startTime: T0, attributes: { 'peer.service': 'payments', 'server.address': 'pay.local' } }, ctx).end([1_700_000_000, 124_457_790]);
  tracer.startSpan('call by address', { kind: SpanKind.CLIENT, startTime: T0, attributes: { 'network.peer.address': '10.1.2.3', 'network.peer.port': 8443 } }, ctx).end([1_700_000_000, 124_456_789]);
  tracer.startSpan('call by ipv6', { kind: SpanKind.PRODUCER, startTime: T0, attributes: { 'net.sock.peer.addr': '::1', 'net.sock.peer.port': 9 } }, ctx).end([1_700_000_000, 124_456_789]);
  const ok = tracer.startSpan('consume', { kind: SpanKind.CONSUMER, startTime: T0 }, ctx);
  ok.setStatus({ code: SpanStatusCode.OK });
  ok.end([1_700_000_000, 124_456_789]);
  tracer.startSpan('internal work', { kind: SpanKind.INTERNAL, startTime: T0 }, ctx).end([1_700_000_000, 123_457_000]);
  tracer.startSpan('error without message', { startTime: T0 }, ctx).setStatus({ code: SpanStatusCode.ERROR }).end([1_700_000_000, 123_556_789]);
  root.end([1_700_000_001, 123_456_789]);
  await processor.forceFlush();

  t.is(receiver.requests[0].headers['content-type'], 'application/json');
  const byName = new Map(receiver.zipkinSpans.map((s) => [s.name, s]));
  t.is(byName.size, 7);
  const rootOut = byName.get('GET /cart');
  const rootIn = captured.getFinishedSpans().find((s) => s.name === 'GET /cart');
  t.is(rootOut.traceId, rootIn.spanContext().traceId);
  t.is(rootOut.id, rootIn.spanContext().spanId);
  t.false('parentId' in rootOut, 'a root span has no parentId');
  t.is(rootOut.kind, 'SERVER');
  t.is(rootOut.timestamp, 1_700_000_000_123_456, 'start in whole microseconds');
  t.is(rootOut.duration, 1_000_000);
  t.deepEqual(rootOut.localEndpoint, { serviceName: 'zipkin-svc' });
  t.false('remoteEndpoint' in rootOut, 'no remote endpoint on a SERVER span');
  t.deepEqual(rootOut.tags, {
    'http.response.status_code': '500',
    ratio: '0.5',
    ok: 'false',
    tags: '["a","b"]',
    nums: '[1,2]',
    'service.namespace': 'shop',
    'otel.scope.name': 'zipkin-scope',
    'otel.scope.version': '3.1.0',
    'otel.status_code': 'ERROR',
    error: 'payment declined',
  });
  t.deepEqual(rootOut.annotations, [
    { timestamp: 1_700_000_000_223_456, value: '"retry": {"attempt":2,"reason":"timeout"}' },
    { timestamp: 1_700_000_000_323_456, value: 'done' },
  ]);

  const payments = byName.get('call payments');
  t.is(payments.parentId, rootOut.id);
  t.is(payments.kind, 'CLIENT');
  t.is(payments.duration, 1001, '1 001 001 ns is 1001 µs');
  t.deepEqual(payments.remoteEndpoint, { serviceName: 'payments' }, 'peer.service ranks first');
  t.false('annotations' in payments, 'no events, no annotations');
  t.deepEqual(byName.get('call by address').remoteEndpoint, { ipv4: '10.1.2.3', port: 8443 });
  t.is(byName.get('call by ipv6').kind, 'PRODUCER');
  t.deepEqual(byName.get('call by ipv6').remoteEndpoint, { ipv6: '::1', port: 9 });
  const consume = byName.get('consume');
  t.is(consume.kind, 'CONSUMER');
  t.is(consume.tags['otel.status_code'], 'OK');
  t.false('error' in consume.tags, 'no error tag unless the status is ERROR');
  const internal = byName.get('internal work');
  t.false('kind' in internal, 'INTERNAL is omitted');
  t.false('otel.status_code' in internal.tags, 'UNSET status is not reported');
  t.is(internal.duration, 1, 'durations under 1 µs are rounded up to 1');
  const noMessage = byName.get('error without message');
  t.is(noMessage.tags.error, '', 'ERROR without a description: an empty error tag');
  t.is(noMessage.tags['otel.status_code'], 'ERROR');
  await provider.shutdown();
});

test('OTEL_EXPORTER_ZIPKIN_ENDPOINT and _TIMEOUT override the first zipkin target (env wins over the file)', async (t) => {
  const { loadConfig } = await import('spanmeter');
  const config = loadConfig(
    { export: { targets: [{ type: 'zipkin', endpoint: 'http://127.0.0.1:1/api/v2/spans' }, { type: 'zipkin', name: 'second', endpoint: 'http://127.0.0.1:2/api/v2/spans' }] } },
    { OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:9411/api/v2/spans', OTEL_EXPORTER_ZIPKIN_TIMEOUT: '1234' },
  );
  t.is(config.export.targets[0].endpoint, 'http://127.0.0.1:9411/api/v2/spans');
  t.is(config.export.targets[0].timeoutMs, 1234);
  t.is(config.export.targets[1].endpoint, 'http://127.0.0.1:2/api/v2/spans', 'only the first zipkin target');
});
