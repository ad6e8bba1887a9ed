// OTLP partial success: the rejected spans a receiver reports are counted
// (export_rejected), but never more than were sent, and only from a protobuf
// answer: another body (a proxy's page) may parse as one by chance.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { emitter, exportDrops, startHttpReceiver } from './helpers/export.mjs';

/** An ExportTraceServiceResponse { partial_success { rejected_spans, error_message } }. */
function partialSuccess(rejected, message = '') {
  const varint = (n) => {
    const out = [];
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    return out;
  };
  const text = [...Buffer.from(message)];
  const inner = [0x08, ...varint(rejected), ...(text.length > 0 ? [0x12, ...varint(text.length), ...text] : [])];
  return Buffer.from([0x0a, ...varint(inner.length), ...inner]);
}

async function exportTen(t, contentType, body) {
  const receiver = await startHttpReceiver((req, b, res) => res.writeHead(200, { 'Content-Type': contentType }).end(body));
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: { export: { targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces` }], batch: { delay: '10ms' }, spool: { enabled: false } } },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(10);
  await processor.forceFlush();
  return processor.stats();
}

test('a partial success is counted as reported', async (t) => {
  const report = await exportTen(t, 'application/x-protobuf', partialSuccess(3, 'bad attribute'));
  t.deepEqual(exportDrops(report), { export_rejected: 3 });
  t.is(report.exporters[0].spansSent, 10);
  t.is(report.exporters[0].rejectedSpans, 3);
  t.is(report.exporters[0].lastError, 'partial success: bad attribute');
});

test('rejected_spans above the spans sent is capped at them', async (t) => {
  const report = await exportTen(t, 'application/x-protobuf', partialSuccess(268_435_455));
  t.deepEqual(exportDrops(report), { export_rejected: 10 });
  t.is(report.exporters[0].rejectedSpans, 10);
});

test('a body that is not protobuf is not read as a partial success, even when it parses as one', async (t) => {
  for (const contentType of ['text/html', 'application/json']) {
    const report = await exportTen(t, contentType, partialSuccess(7, 'not a response'));
    t.deepEqual(exportDrops(report), {}, contentType);
    t.is(report.exporters[0].rejectedSpans, 0, contentType);
    t.is(report.exporters[0].lastError, undefined, contentType);
  }
});
