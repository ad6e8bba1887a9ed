// Export over OTLP/HTTP protobuf to a real receiver (@elastic/mockotlpserver in a
// child process), field by field against the OpenTelemetry SDK's own serializer;
// user SpanExporters; the OTLP/JSON file target.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import test from 'ava';
import { context, propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanMeterProcessor } from 'spanmeter';
import { startHttpReceiver, startOtlpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

const require = createRequire(import.meta.url);
const { getProtoRoot } = require('@elastic/mockotlpserver/lib/proto.js');
const RequestType = getProtoRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

/** Sampled unless the span is named "record-only" (then RECORD only: counted, not exported). */
const sampler = {
  shouldSample: (_ctx, _traceId, name) => ({ decision: name === 'record-only' ? SamplingDecision.RECORD : SamplingDecision.RECORD_AND_SAMPLED }),
  toString: () => 'TestSampler',
};

function providerWith(processor, captured, serviceName = 'fidelity') {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'deployment.environment': 'test', 'host.cores': 2 }),
    sampler,
    spanProcessors: [processor, new SimpleSpanProcessor(captured)],
  });
  return provider;
}

/** Spans with every kind of field: attribute types, events, links, status, remote parents, trace state. */
function emitVariety(provider) {
  const tracer = provider.getTracer('fidelity-scope', '2.0.0');
  const other = provider.getTracer('second-scope');
  const root = tracer.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    startTime: [1_700_000_000, 123_456_789],
    attributes: {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'negative.int': -42,
      'big.int': 2 ** 40 + 3,
      ratio: 0.25,
      ok: true,
      unicode: 'héllo wörld ✓ 日本',
      long: 'x'.repeat(300),
      tags: ['a', 'b', 'c'],
      nums: [1, 2.5, 3],
      flags: [true, false],
      empty: '',
    },
  });
  root.addEvent('cache.miss', { key: 'order:1', tries: 3 }, [1_700_000_000, 200_000_000]);
  root.addEvent('no-attributes', [1_700_000_000, 300_000_000]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
  const rootCtx = trace.setSpan(context.active(), root);
  const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'server.address': 'db.local' } }, rootCtx);
  child.addLink({ context: root.spanContext(), attributes: { 'link.kind': 'follows' } });
  child.setStatus({ code: SpanStatusCode.OK });
  child.end();
  root.end([1_700_000_001, 5]);
  // A remote parent with a trace state.
  const remote = trace.setSpanContext(context.active(), {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    isRemote: true,
    traceState: new TraceState('vendor=abc,other=1'),
  });
  for (const kind of [SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL]) other.startSpan(`kind-${kind}`, { kind }, remote).end();
  for (let i = 0; i < 50; i++) tracer.startSpan('record-only').end();
  for (let i = 0; i < 200; i++) tracer.startSpan(`bulk ${i % 7}`, { attributes: { i, 'url.path': `/bulk/${i}` } }).end();
}

/** Zero counters and UNSET status are proto3 defaults: an encoder may write them or not (the SDK does, spanmeter does not). */
function withoutZeroCounts(object) {
  const out = { ...object };
  for (const key of ['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount']) if (out[key] === 0) delete out[key];
  for (const key of ['events', 'links']) if (Array.isArray(out[key])) out[key] = out[key].map(withoutZeroCounts);
  if (out.status?.code === 'STATUS_CODE_UNSET') {
    const { code: _unset, ...rest } = out.status;
    out.status = rest;
  }
  return out;
}

/** protobufjs JSON of each span of a request, by span id (base64 ids turned to hex). */
function spansById(request) {
  const out = new Map();
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const hex = (b64) => (b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('hex'));
        const normalized = { ...span, traceId: hex(span.traceId), spanId: hex(span.spanId), parentSpanId: hex(span.parentSpanId) };
        if (normalized.parentSpanId === undefined) delete normalized.parentSpanId;
        if (span.links) normalized.links = span.links.map((l) => ({ ...l, traceId: hex(l.traceId), spanId: hex(l.spanId) }));
        out.set(normalized.spanId, { span: withoutZeroCounts(normalized), resource: withoutZeroCounts(rs.resource), scope: ss.scope });
      }
    }
  }
  return out;
}

test('every field of a sampled span reaches a real OTLP receiver as the SDK serializer would send it; RECORD-only spans stay home', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'otlp', endpoint: receiver.endpoint, compression: 'none' }], spool: { enabled: false }, batch: { max_spans: 64 } } },
  });
  const captured = new InMemorySpanExporter();
  const provider = providerWith(processor, captured);
  emitVariety(provider);
  await processor.forceFlush();
  const originals = captured.getFinishedSpans().filter((s) => s.name !== 'record-only');
  await waitUntil(() => receiver.received.size >= originals.length, { what: 'all spans at the receiver' });

  // What the SDK's own OTLP serializer makes of the same spans, decoded by the same protobuf schema.
  const reference = spansById(RequestType.decode(ProtobufTraceSerializer.serializeRequest(originals)).toJSON());
  const got = new Map();
  for (const request of receiver.requests) for (const [id, item] of spansById(request.raw)) got.set(id, item);
  t.is(got.size, originals.length, 'exactly the sampled spans arrived');
  t.is(receiver.spans.filter((s) => s.span.name === 'record-only').length, 0, 'RECORD-only spans are not exported');
  for (const [id, expected] of reference) {
    const actual = got.get(id);
    t.truthy(actual, `span ${id} arrived`);
    if (actual === undefined) continue;
    t.deepEqual(actual.span, expected.span, `span ${expected.span.name} is field for field what the SDK would send`);
    t.deepEqual(actual.resource, expected.resource, 'resource');
    t.deepEqual(actual.scope, expected.scope, 'scope');
  }
  const report = await processor.stats();
  const otlp = report.exporters.find((e) => e.type === 'otlp');
  t.is(otlp.spansSent, originals.length);
  t.is(otlp.state, 'healthy');
  t.true(otlp.latencyMs.p99 > 0);
  t.deepEqual(Object.keys(report.totals.dropped).filter((k) => k.startsWith('export_')), []);
  await provider.shutdown();
});

test('gzip, configured headers and the OTLP content type reach the receiver', async (t) => {
  const receiver = await startHttpReceiver();
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces`, compression: 'gzip', headers: { 'x-api-key': 'secret', 'X-Tenant': 't1' } }], spool: { enabled: false } } },
  });
  const captured = new InMemorySpanExporter();
  const provider = providerWith(processor, captured);
  for (let i = 0; i < 10; i++) provider.getTracer('t').startSpan(`op ${i}`).end();
  await processor.forceFlush();
  const request = receiver.requests[0];
  t.is(request.headers['content-encoding'], 'gzip');
  t.is(request.headers['content-type'], 'application/x-protobuf');
  t.is(request.headers['x-api-key'], 'secret');
  t.is(request.headers['x-tenant'], 't1');
  const decoded = spansById(RequestType.decode(request.body).toJSON());
  t.deepEqual(
    [...decoded.keys()].sort(),
    captured
      .getFinishedSpans()
      .map((s) => s.spanContext().spanId)
      .sort(),
  );
  await provider.shutdown();
});

test('a user SpanExporter gets faithful ReadableSpans on the main thread, with tracing suppressed', async (t) => {
  const received = [];
  let innerRecording;
  const exporter = {
    export(spans, done) {
      innerRecording = trace.getTracer('inside-export').startSpan('should-not-record').isRecording();
      received.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => {
      exporter.shutDown = true;
    },
  };
  const processor = new SpanMeterProcessor({ exporters: [exporter], config: { export: { spool: { enabled: false } } } });
  const captured = new InMemorySpanExporter();
  const provider = providerWith(processor, captured, 'user-exporter');
  // A registered provider has a context manager: suppressTracing needs one to take effect.
  provider.register();
  t.teardown(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });
  emitVariety(provider);
  await processor.forceFlush();
  const originals = captured.getFinishedSpans().filter((s) => s.name !== 'record-only');
  t.is(received.length, originals.length);
  t.false(innerRecording, 'spans started inside export() are not recorded');
  const byId = new Map(received.map((s) => [s.spanContext().spanId, s]));
  for (const o of originals) {
    const r = byId.get(o.spanContext().spanId);
    t.truthy(r);
    t.is(r.name, o.name);
    t.is(r.kind, o.kind);
    t.is(r.spanContext().traceId, o.spanContext().traceId);
    t.is(r.spanContext().traceFlags, o.spanContext().traceFlags);
    t.is(r.spanContext().traceState?.serialize(), o.spanContext().traceState?.serialize());
    t.is(r.parentSpanContext?.spanId, o.parentSpanContext?.spanId);
    t.is(r.parentSpanContext?.isRemote ?? false, o.parentSpanContext?.isRemote ?? false);
    t.deepEqual(r.startTime, o.startTime);
    t.deepEqual(r.endTime, o.endTime);
    t.deepEqual(r.duration, o.duration);
    t.deepEqual(r.status, o.status.message === undefined ? { code: o.status.code } : o.status);
    t.deepEqual(r.attributes, o.attributes);
    t.deepEqual(
      r.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes })),
      o.events.map((e) => ({ name: e.name, time: e.time, attributes: e.attributes ?? {} })),
    );
    t.deepEqual(
      r.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes]),
      o.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes]),
    );
    t.deepEqual(r.resource.attributes, o.resource.attributes);
    t.is(r.instrumentationScope.name, o.instrumentationScope.name);
    t.is(r.instrumentationScope.version, o.instrumentationScope.version);
  }
  await provider.shutdown();
  t.true(exporter.shutDown, 'the processor shuts its exporters down');
  const report = await processor.stats();
  t.is(report.exporters[0].type, 'exporter');
  t.is(report.exporters[0].spansSent, originals.length);
});

test('the file target writes one OTLP/JSON request a line and rotates by size', async (t) => {
  const dir = tempDir(t);
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'file', path: dir, max_file_size: 4096, max_files: 3 }], spool: { enabled: false }, batch: { max_spans: 5 } } },
  });
  const captured = new InMemorySpanExporter();
  const provider = providerWith(processor, captured, 'file-svc');
  const tracer = provider.getTracer('file-scope');
  for (let i = 0; i < 200; i++) tracer.startSpan(`op-${i}`, { attributes: { i, pad: 'p'.repeat(40) } }).end();
  await processor.forceFlush();
  await provider.shutdown();
  const files = fs.readdirSync(dir).sort();
  t.true(files.includes('traces.jsonl'));
  t.is(files.length, 3, `the current file and max_files - 1 rotated ones: ${files}`);
  const ids = new Set();
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    t.true(Buffer.byteLength(text) <= 4096 || text.split('\n').length === 2, `${file} respects max_file_size`);
    for (const line of text.split('\n').filter(Boolean)) {
      const request = JSON.parse(line);
      const rs = request.resourceSpans[0];
      t.deepEqual(rs.resource.attributes.find((a) => a.key === 'service.name').value, { stringValue: 'file-svc' });
      for (const span of rs.scopeSpans[0].spans) {
        t.regex(span.traceId, /^[0-9a-f]{32}$/);
        t.regex(span.startTimeUnixNano, /^\d+$/);
        ids.add(span.spanId);
      }
    }
  }
  // Rotation dropped the oldest files: the newest spans are all there.
  const last = captured.getFinishedSpans().slice(-5);
  for (const s of last) t.true(ids.has(s.spanContext().spanId));
  const report = await processor.stats();
  t.is(report.exporters[0].spansSent, 200);
});
