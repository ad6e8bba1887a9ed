// The file target on a disk that fails mid-write (ENOSPC, EIO): a write that
// stops partway must not leave half a line for the retry to append to. The
// file and the writes are real; only the failure is injected, at the file
// handle (a filesystem that fills up cannot be had in a test).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import test from 'ava';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { decodeBatch } from '../dist/export/decoder.js';
import { SpanEncoder } from '../dist/export/encoder.js';
import { FileTarget } from '../dist/export/targets/file-target.js';
import { tempDir } from './helpers/export.mjs';

/** A payload of `n` encoded spans, as the dispatcher hands it to a target. */
function payload(n, tag) {
  const captured = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(captured)] });
  const tracer = provider.getTracer('file-target');
  for (let i = 0; i < n; i++) tracer.startSpan(`${tag}-${i}`, { attributes: { pad: 'x'.repeat(200) } }).end();
  const encoder = new SpanEncoder(1 << 20);
  for (const span of captured.getFinishedSpans()) encoder.add(span);
  const bytes = new Uint8Array(encoder.take(Date.now()));
  return { bytes, from: 0, to: n, decode: () => decodeBatch(bytes).spans };
}

/**
 * fs.open whose handles, while `failing.writes` is set, write part of what
 * they are given and then fail with ENOSPC, as on a full disk; with
 * `failing.truncate` the rollback fails too.
 */
function failingOpen(failing) {
  return async (file, flags) => {
    const handle = await fsp.open(file, flags);
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'write' && failing.writes) {
          return async (buffer, offset, length) => {
            failing.writes = false;
            await target.write(buffer, offset, Math.floor(length / 2));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          };
        }
        if (key === 'truncate' && failing.truncate) return async () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

/** Every line of the file, parsed; a line that is not JSON fails the test. */
function lines(t, file) {
  const text = fs.readFileSync(file, 'utf8');
  t.true(text === '' || text.endsWith('\n'), 'the file ends with a complete line');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))));
}

for (const truncateFails of [false, true]) {
  test(`a write that fails partway leaves no broken line, and the retry writes the whole line${truncateFails ? ' (the rollback fails too: cut before the next write)' : ''}`, async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'traces.jsonl');
    const failing = { writes: false, truncate: truncateFails };
    const target = new FileTarget({ type: 'file', name: 'file', dir, maxFileBytes: 1 << 20, maxFiles: 2 }, failingOpen(failing));

    t.deepEqual(await target.send(payload(3, 'first')), { ok: true });
    const good = fs.statSync(file).size;

    failing.writes = true;
    const second = payload(4, 'second');
    const failed = await target.send(second);
    t.false(failed.ok);
    t.is(failed.kind, 'retryable');
    t.regex(failed.error, /ENOSPC/);
    if (!truncateFails) {
      t.is(fs.statSync(file).size, good, 'the part written was cut off');
      t.deepEqual(lines(t, file), [['first-0', 'first-1', 'first-2']]);
    }

    t.deepEqual(await target.send(second), { ok: true }, 'the retry');
    t.deepEqual(lines(t, file), [
      ['first-0', 'first-1', 'first-2'],
      ['second-0', 'second-1', 'second-2', 'second-3'],
    ]);
    await target.close();
  });
}

// A process killed in the middle of an append leaves the file ending in part
// of a line: the next process must not glue its first line onto it.
test('a file left ending in a partial line (a process killed mid-append): the next line starts on a line of its own', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'traces.jsonl');
  const earlier = new FileTarget({ type: 'file', name: 'file', dir, maxFileBytes: 1 << 20, maxFiles: 2 });
  t.deepEqual(await earlier.send(payload(2, 'before')), { ok: true });
  await earlier.close();
  const partial = '{"resourceSpans":[{"resource":{"attrib';
  fs.appendFileSync(file, partial);

  const target = new FileTarget({ type: 'file', name: 'file', dir, maxFileBytes: 1 << 20, maxFiles: 2 });
  t.deepEqual(await target.send(payload(3, 'after')), { ok: true });
  t.deepEqual(await target.send(payload(1, 'later')), { ok: true });
  const text = fs.readFileSync(file, 'utf8');
  t.true(text.endsWith('\n'));
  const all = text.split('\n').slice(0, -1);
  t.is(all.length, 4);
  t.is(all[1], partial, 'the broken line stays on its own, as it was');
  const names = (line) => JSON.parse(line).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
  t.deepEqual(names(all[0]), ['before-0', 'before-1']);
  t.deepEqual(names(all[2]), ['after-0', 'after-1', 'after-2']);
  t.deepEqual(names(all[3]), ['later-0']);
  await target.close();
});

test('a file that ends with a complete line (or is empty) is appended to as it is: no blank line', async (t) => {
  for (const before of ['', 'complete']) {
    const dir = tempDir(t);
    const file = path.join(dir, 'traces.jsonl');
    if (before === '') fs.writeFileSync(file, '');
    else {
      const earlier = new FileTarget({ type: 'file', name: 'file', dir, maxFileBytes: 1 << 20, maxFiles: 2 });
      await earlier.send(payload(2, 'before'));
      await earlier.close();
    }
    const target = new FileTarget({ type: 'file', name: 'file', dir, maxFileBytes: 1 << 20, maxFiles: 2 });
    t.deepEqual(await target.send(payload(1, 'after')), { ok: true });
    t.deepEqual(lines(t, file), before === '' ? [['after-0']] : [['before-0', 'before-1'], ['after-0']]);
    t.false(fs.readFileSync(file, 'utf8').includes('\n\n'));
    await target.close();
  }
});
