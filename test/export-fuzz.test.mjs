// 20,000 spans with garbage in every field the export reads, through a processor
// that exports to a real OTLP receiver, a Zipkin JSON endpoint and a file: onEnd never
// throws, every span the export saw is delivered or counted as dropped with a
// reason, and what arrives decodes.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpanMeterProcessor } from 'spanmeter';
import { otlpSpans, startHttpReceiver, startOtlpReceiver, tempDir, waitUntil } from './helpers/export.mjs';
import { rng } from './helpers/spans.mjs';

const N = 20_000;

function hostile(message) {
  return new Proxy(
    {},
    {
      get() {
        throw new Error(message);
      },
      ownKeys() {
        throw new Error(message);
      },
    },
  );
}

function garbageSpans(seed) {
  const random = rng(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  // structure: mostly well-formed (so that most spans carry garbage values to the receiver), sometimes hostile
  const mostly = (good, bad) => (random() < 0.9 ? good() : pick(bad));
  const ids = () => pick(['0af7651916cd43dd8448eb211c80319c', 'zz', '', 42, undefined, null, 'ÿ'.repeat(32), '0af7651916cd43dd8448eb211c80319cXX']);
  const spanIds = () => pick(['b7ad6b7169203331', 'nothex!!nothex!!', '', 7, undefined]);
  const cyclic = {};
  cyclic.self = cyclic;
  const long = 'x'.repeat(1000);
  const huge = new Array(70_000).fill(1);
  const short = new Array(20).fill(1);
  const values = () =>
    pick(['ok', '', 'é ünïcødé 漢字 🎉', '\ud800 lone surrogate', long, 0, -0, NaN, Infinity, 2 ** 60, true, false, null, undefined,
      Symbol('s'), () => 1, 10n, { nested: 1 }, cyclic, [1, 'a', null, {}, [2]], random() < 0.01 ? huge : short, ['a', 'b'], new Date(0)]);
  const attributes = () => {
    const shape = random();
    if (shape < 0.02) return hostile('hostile attributes');
    if (shape < 0.06) return pick([undefined, null, 'attrs', 5]);
    const out = {};
    const count = Math.floor(random() * 12);
    for (let i = 0; i < count; i++) out[pick(['k', 'http.route', '', 'ключ', 'k'.repeat(500), `key.${i}`])] = values();
    return out;
  };
  const times = () => pick([[1_700_000_000, 5], [NaN, 0], [-1, -1], ['x', {}], undefined, null, [], [2 ** 40, 1e12]]);
  const events = () =>
    mostly(() => pick([[], [{ name: 'exception', time: times(), attributes: attributes() }, { name: 5, time: times() }]]), [undefined, null, 'events', [null], [hostile('hostile event')]]);
  const links = () =>
    mostly(() => pick([[], [{ context: { traceId: ids(), spanId: spanIds(), traceFlags: pick([1, 0, NaN]), isRemote: pick([true, 1]) }, attributes: attributes() }]]), [undefined, [{ context: null }], [5]]);
  const scope = () => mostly(() => pick([{ name: 'scope', version: '1' }, { name: 5, version: {} }, { name: '' }]), [undefined, null, hostile('hostile scope'), 'scope']);
  const resources = [{ attributes: { 'service.name': 'fuzz' } }, { attributes: { a: 1, b: ['x', 2] } }, { attributes: {} }];
  const resource = () => mostly(() => pick(resources), [undefined, null, { attributes: hostile('hostile resource') }, 7]);
  const spans = [];
  let reachable = 0;
  for (let i = 0; i < N; i++) {
    const sampled = random() < 0.7;
    const contextThrows = random() < 0.02;
    if (sampled || contextThrows) reachable++;
    spans.push({
      name: pick(['GET /a', '', 'n'.repeat(5000), 'SELECT ✓']),
      kind: pick([0, 1, 2, 3, 4, 99, -1, undefined]),
      duration: [0, 1000 + Math.floor(random() * 1e6)],
      status: pick([{ code: 0 }, { code: 2, message: 'boom' }, { code: 2, message: 42 }, null, {}]),
      resource: resource(),
      instrumentationScope: scope(),
      spanContext: contextThrows
        ? () => {
            throw new Error('hostile spanContext');
          }
        : () => ({ traceId: ids(), spanId: spanIds(), traceFlags: sampled ? pick([1, 3, 0xff]) : pick([0, 2]), traceState: pick([undefined, { serialize: () => 'a=b' }, { serialize: 5 }]) }),
      parentSpanContext: pick([undefined, null, { spanId: spanIds(), isRemote: pick([true, false, 'yes']) }]),
      startTime: times(),
      endTime: times(),
      attributes: attributes(),
      events: events(),
      links: links(),
      droppedAttributesCount: pick([0, 3, -1, NaN, 'x', undefined]),
      droppedEventsCount: pick([0, 2 ** 40, undefined]),
      droppedLinksCount: pick([0, undefined, null]),
    });
  }
  return { spans, reachable };
}

/**
 * Ends the garbage through a processor exporting to `target`, waits until every
 * span the export saw is sent or dropped, and checks the accounting.
 * Returns the target's report entry.
 */
async function exportGarbage(t, target, type) {
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        targets: [target],
        spool: { enabled: false },
        batch: { max_spans: 500, delay: '20ms' },
        queue: { max_spans: N, max_size: '1GiB' }, // everything fits: the test is about garbage, not about a full queue
      },
    },
  });
  t.teardown(() => processor.shutdown());
  const { spans, reachable } = garbageSpans(4321);
  for (const span of spans) t.notThrows(() => processor.onEnd(span));
  await processor.forceFlush();
  // forceFlush gives up after flush_timeout with spans still queued (not lost): wait for them to settle
  const settled = async () => {
    const report = await processor.stats();
    const entry = report.exporters.find((e) => e.type === type);
    const exportDrops = Object.entries(report.totals.dropped)
      .filter(([reason]) => reason.startsWith('export_'))
      .reduce((sum, [, n]) => sum + n, 0);
    return entry.spansSent + exportDrops >= reachable ? { report, entry, exportDrops } : undefined;
  };
  const { report, entry, exportDrops } = await waitUntil(settled, { timeoutMs: 120_000, intervalMs: 250, what: 'every span sent or dropped' });
  const dropped = report.totals.dropped;
  t.log(JSON.stringify({ reachable, sent: entry.spansSent, dropped }));
  t.is(dropped.processor_error ?? 0, 0, 'every span reached the export (valid durations)');
  t.is(entry.spansSent + exportDrops, reachable, JSON.stringify({ sent: entry.spansSent, dropped }));
  t.true(entry.spansSent > reachable * 0.8, 'garbage values and malformed events or links do not cost the span');
  t.true((dropped.export_invalid_span ?? 0) > 0, 'hostile getters are counted');
  t.true((dropped.export_error ?? 0) > 0, 'a throwing spanContext() is counted');
  t.is(entry.badBatches, 0, 'the receiver accepted every batch');
  return entry;
}

test('OTLP: 20,000 garbage spans never throw; the receiver decodes exactly what is counted as sent', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const entry = await exportGarbage(t, { type: 'otlp', endpoint: receiver.endpoint, compression: 'none' }, 'otlp');
  await waitUntil(() => receiver.spans.length >= entry.spansSent, { what: 'the receiver to decode every span sent' });
  t.is(receiver.spans.length, entry.spansSent);
});

test('Zipkin: 20,000 garbage spans never throw; every request is valid JSON with exactly the spans counted as sent', async (t) => {
  const invalid = [];
  const receiver = await startHttpReceiver((req, body, res, accept) => {
    try {
      accept(); // parses the JSON list
      res.writeHead(202).end();
    } catch (error) {
      invalid.push(error.message);
      res.writeHead(400).end();
    }
  });
  t.teardown(() => receiver.close());
  const entry = await exportGarbage(t, { type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }, 'zipkin');
  t.deepEqual(invalid, []);
  t.is(receiver.zipkinSpans.length, entry.spansSent);
});

test('file: 20,000 garbage spans never throw; every line is OTLP JSON with exactly the spans counted as sent', async (t) => {
  const dir = tempDir(t, 'spanmeter-fuzz-');
  const entry = await exportGarbage(t, { type: 'file', path: dir, max_file_size: 1024 * 1024 * 1024 }, 'file');
  let spans = 0;
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      spans += otlpSpans(JSON.parse(line)).length; // throws on a line that is not JSON
    }
  }
  t.is(spans, entry.spansSent);
});
