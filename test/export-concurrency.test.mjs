// `concurrency` above the HTTP agent's socket limit: the extra requests used to
// wait in the agent's queue with their timeout already running, so a healthy
// but slow collector "timed out" and its circuit opened.
import test from 'ava';
import { HttpClient } from '../dist/export/http.js';
import { SpanMeterProcessor } from 'spanmeter';
import { emitter, exportDrops, sleep, startHttpReceiver, tempDir, waitUntil } from './helpers/export.mjs';

test('concurrency 12: the collector sees 12 requests at once, and none of them times out', async (t) => {
  const held = [];
  let peak = 0;
  const receiver = await startHttpReceiver((req, body, res) => {
    held.push(res);
    peak = Math.max(peak, held.length);
    // Answers only once all 12 are in: with 8 sockets the last 4 never come.
    if (held.length === 12) for (const r of held.splice(0)) r.writeHead(200).end();
  });
  t.teardown(() => receiver.close());
  const processor = new SpanMeterProcessor({
    config: {
      export: {
        targets: [{ type: 'otlp', endpoint: `${receiver.url}/v1/traces`, timeout: '20s' }],
        batch: { max_spans: 10, delay: '10ms' },
        concurrency: 12,
        spool: { dir: tempDir(t) },
      },
    },
  });
  const { provider, emit } = emitter(processor);
  t.teardown(() => provider.shutdown());
  emit(120);
  await waitUntil(() => peak === 12, { timeoutMs: 15_000, what: '12 requests open at the collector at once' });
  await processor.forceFlush();
  const report = await processor.stats();
  t.is(report.exporters[0].spansSent, 120);
  t.is(report.exporters[0].spansFailed, 0);
  t.is(report.exporters[0].state, 'healthy');
  t.deepEqual(exportDrops(report), {});
});

test('a request waiting for a socket is not timed out by the wait', async (t) => {
  const held = [];
  const receiver = await startHttpReceiver((req, body, res) => {
    if (req.headers['x-hold'] === '1') held.push(res);
    else res.writeHead(200).end();
  });
  t.teardown(() => receiver.close());
  const client = new HttpClient(8);
  t.teardown(() => client.close());
  const url = new URL(`${receiver.url}/v1/traces`);
  const first = Array.from({ length: 8 }, () => client.post(url, { 'x-hold': '1' }, Buffer.from('a'), 30_000));
  // Eight sockets, all busy: the ninth waits in the agent's queue for longer than its own timeout.
  const queued = client.post(url, {}, Buffer.from('b'), 1000);
  await waitUntil(() => held.length === 8, { what: 'the first 8 requests at the receiver' });
  await sleep(1500);
  for (const res of held) res.writeHead(200).end();
  t.deepEqual((await Promise.all(first)).map((r) => r.status), Array(8).fill(200));
  const answer = await queued;
  t.is(answer.error, undefined);
  t.is(answer.status, 200);
});
