// What spanmeter keeps of a long string must not keep the whole string alive: in V8 a
// slice shares its parent's storage. Each case runs in a child process with --expose-gc
// and compares the heap retained after GC with the size of the strings fed in.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `body` (module code with `processor` and `retainedMB()` in scope) in a child; returns its stdout as JSON. */
function inChild(body, config = {}) {
  const code = `
    import { SpanMeterProcessor } from 'spanmeter';
    const processor = new SpanMeterProcessor({ config: ${JSON.stringify(config)}, clock: () => Date.UTC(2026, 0, 1) });
    const mb = () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed / 2 ** 20; };
    const before = mb();
    const retainedMB = () => mb() - before;
    ${body}
    await processor.shutdown();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out);
}

// 100 distinct messages of 1 MiB (2 bytes a character would be 200 MB; these are one-byte
// strings, so 100 MiB). Kept: 100 groups x 200 characters, about 20 KB, plus the series.
test('error groups keep their truncated message, not the whole exception message', (t) => {
  const result = inChild(`
    for (let i = 0; i < 100; i++) {
      const message = 'failed ' + i + ' ' + 'x'.repeat(2 ** 20) + i;
      const type = 'T' + i + 'y'.repeat(2 ** 20); // a long exception type, cut to 200 as well
      processor.onEnd({
        resource: { attributes: { 'service.name': 'svc' } }, name: 'op', kind: 1, duration: [0, 1e6],
        status: { code: 2, message },
        events: [{ name: 'exception', attributes: { 'exception.type': type, 'exception.message': message } }],
      });
    }
    await processor.forceFlush();
    const retained = retainedMB();
    const report = await processor.stats();
    const op = report.errorAnalysis.operations[0];
    console.log(JSON.stringify({ retained, groups: op.groups.length, errors: op.errors, messageLength: op.groups[0].message.length, typeLength: op.groups[0].type.length }));
  `);
  t.is(result.errors, 100);
  t.is(result.groups, 5); // the default top
  t.is(result.messageLength, 200);
  t.is(result.typeLength, 200);
  // 200 MiB of input (messages and types); well under 1% of it may stay
  t.true(result.retained < 10, `retained ${result.retained.toFixed(1)} MB`);
});

// 100 span names and 20 service names of 1 MiB, cut to 1024 characters when interned:
// kept, about 120 x 1 KB.
test('interned span and service names keep their first 1024 characters only', (t) => {
  const result = inChild(`
    for (let i = 0; i < 20; i++) {
      const resource = { attributes: { 'service.name': 's' + i + 'z'.repeat(2 ** 20) } };
      for (let j = 0; j < 5; j++) {
        processor.onEnd({ resource, name: 'op' + (i * 5 + j) + 'n'.repeat(2 ** 20), kind: 1, duration: [0, 1e6], status: { code: 0 } });
      }
    }
    await processor.forceFlush();
    const retained = retainedMB();
    const report = await processor.stats();
    console.log(JSON.stringify({ retained, operations: report.operations.length, nameLength: report.operations[0].name.length, serviceLength: report.operations[0].service.length }));
  `);
  t.is(result.operations, 100);
  t.is(result.nameLength, 1024);
  t.is(result.serviceLength, 1024);
  // 120 MiB of names went in
  t.true(result.retained < 10, `retained ${result.retained.toFixed(1)} MB`);
});
