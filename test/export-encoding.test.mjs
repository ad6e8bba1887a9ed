// The span encoding under odd input: what goes in comes out through a user
// exporter (strings of every kind, many attributes, odd numbers, arrays with
// nulls), and a span that cannot be read is counted, never thrown, without
// disturbing the spans around it in the same batch.
import test from 'ava';
import { SpanMeterProcessor } from 'spanmeter';
import { rng } from './helpers/spans.mjs';

const resource = { attributes: { 'service.name': 'encoding' }, asyncAttributesPending: false };
const scope = { name: 'encoding-scope', version: '0.0.1' };

let nextId = 1;
const hex = (n, width) => n.toString(16).padStart(width, '0');

/** A ReadableSpan-shaped object, as the SDK hands to processors. */
function fakeSpan({ name = 'op', attributes = {}, events = [], links = [], parent, traceId, flags = 1 } = {}) {
  const id = nextId++;
  const context = { traceId: traceId ?? hex(id, 32), spanId: hex(id, 16), traceFlags: flags };
  return {
    name,
    kind: 1,
    spanContext: () => context,
    parentSpanContext: parent ? { traceId: context.traceId, spanId: parent, traceFlags: 1, isRemote: false } : undefined,
    startTime: [1_700_000_000, 1],
    endTime: [1_700_000_000, 5001],
    duration: [0, 5000],
    status: { code: 0 },
    attributes,
    links,
    events,
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function capture() {
  const got = [];
  const exporter = {
    export(spans, done) {
      got.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  return { got, exporter };
}

const random = rng(7);
const randomString = (length) => {
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = random();
    // ASCII, Latin-1, BMP (CJK), astral (emoji as surrogate pairs)
    if (r < 0.6) s += String.fromCharCode(32 + Math.floor(random() * 95));
    else if (r < 0.75) s += String.fromCharCode(0xa0 + Math.floor(random() * 0x60));
    else if (r < 0.9) s += String.fromCharCode(0x4e00 + Math.floor(random() * 0x5000));
    else s += String.fromCodePoint(0x1f600 + Math.floor(random() * 0x40));
  }
  return s;
};

test('what goes in comes out: strings of every kind and length, many attributes, odd numbers, arrays', async (t) => {
  const { got, exporter } = capture();
  const processor = new SpanMeterProcessor({ exporters: [exporter], config: { export: { spool: { enabled: false }, batch: { max_spans: 37 } } } });
  const sent = [];
  for (let i = 0; i < 300; i++) {
    const attributes = {};
    const count = i % 10 === 0 ? 100 : 1 + Math.floor(random() * 12); // some spans with more attributes than the per-position caches
    for (let k = 0; k < count; k++) {
      const kind = Math.floor(random() * 6);
      const key = k % 3 === 0 ? `key.${k}` : randomString(1 + Math.floor(random() * 20));
      if (kind === 0) attributes[key] = randomString(Math.floor(random() * (i % 17 === 0 ? 600 : 40)));
      else if (kind === 1) attributes[key] = [0, -1, 2 ** 53 - 1, -(2 ** 53), 0.1, -0, 1e308, 5e-324][Math.floor(random() * 8)];
      else if (kind === 2) attributes[key] = random() < 0.5;
      else if (kind === 3) attributes[key] = ['a', randomString(5), null, ''];
      else if (kind === 4) attributes[key] = [1, 2.5, null, -3];
      else attributes[key] = 'repeated value';
    }
    const span = fakeSpan({
      name: i % 5 === 0 ? randomString(30) : `op ${i % 4}`,
      attributes,
      events: i % 7 === 0 ? [{ name: 'ev', time: [1_700_000_000, 2], attributes: { n: i, s: randomString(8) }, droppedAttributesCount: 1 }] : [],
      parent: i % 2 === 0 ? hex(999_999, 16) : undefined,
      traceId: i % 3 === 0 ? 'abcdef0123456789abcdef0123456789' : undefined,
    });
    sent.push(span);
    processor.onEnd(span);
  }
  await processor.forceFlush();
  t.is(got.length, sent.length);
  const byId = new Map(got.map((s) => [s.spanContext().spanId, s]));
  for (const s of sent) {
    const r = byId.get(s.spanContext().spanId);
    t.is(r.name, s.name);
    t.is(r.spanContext().traceId, s.spanContext().traceId);
    t.is(r.parentSpanContext?.spanId, s.parentSpanContext?.spanId);
    t.deepEqual(r.attributes, s.attributes);
    t.deepEqual(
      r.events.map((e) => [e.name, e.time, e.attributes, e.droppedAttributesCount]),
      s.events.map((e) => [e.name, e.time, e.attributes, e.droppedAttributesCount]),
    );
  }
  await processor.shutdown();
});

test('a span that cannot be read is counted; its neighbours in the batch arrive intact', async (t) => {
  const { got, exporter } = capture();
  const processor = new SpanMeterProcessor({ exporters: [exporter], config: { export: { spool: { enabled: false } } } });
  const good = [];
  for (let i = 0; i < 50; i++) {
    const span = fakeSpan({ name: `before ${i % 3}`, attributes: { i, shared: 'value' } });
    good.push(span);
    processor.onEnd(span);
  }
  // Throws half-way through its attributes, after defining new strings.
  const bad = fakeSpan({ name: 'a brand new name' });
  Object.defineProperty(bad, 'attributes', {
    get() {
      return {
        'new.key': 'new value',
        get explode() {
          throw new Error('getter failed');
        },
      };
    },
  });
  processor.onEnd(bad);
  processor.onEnd(fakeSpan({ name: 'unsampled', flags: 0 }));
  for (let i = 0; i < 50; i++) {
    const span = fakeSpan({ name: i % 2 ? 'a brand new name' : `after ${i % 3}`, attributes: { i, shared: 'value', 'new.key': 'new value' } });
    good.push(span);
    processor.onEnd(span);
  }
  await processor.forceFlush();
  t.is(got.length, 100, 'every readable sampled span arrived; the unsampled one was not exported');
  const byId = new Map(got.map((s) => [s.spanContext().spanId, s]));
  for (const s of good) {
    const r = byId.get(s.spanContext().spanId);
    t.is(r.name, s.name);
    t.deepEqual(r.attributes, s.attributes);
  }
  const report = await processor.stats();
  t.is(report.totals.dropped.export_invalid_span, 1);
  await processor.shutdown();
});
