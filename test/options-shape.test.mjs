// Options given in code. README: "a bad option fails with a SpanMeterError (code
// SPANMETER_INVALID_OPTION) that names the option". Misspelt options, options that are not an
// object, and a `config` that is neither a path string nor a plain object were silently ignored
// before: the processor started on the defaults (no SLOs, no export) without a word.
import test from 'ava';
import { SpanMeterError, SpanMeterProcessor } from 'spanmeter';

const CONFIG = new URL('../config/tracing_config.yaml', import.meta.url);

/** Construction must fail with a SpanMeterError; a processor that starts anyway is shut down. */
async function refused(t, make, what) {
  let processor;
  const error = t.throws(() => {
    processor = make();
  }, { instanceOf: SpanMeterError }, what);
  if (processor !== undefined) await processor.shutdown();
  return error;
}

test('a misspelt option (exporter for exporters, maxOperation, snake_case) is refused, naming it', async (t) => {
  const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  for (const [name, options] of [
    ['exporter', { backend: 'js', exporter: [exporter] }],
    ['maxOperation', { backend: 'js', maxOperation: 10 }],
    ['max_operations', { backend: 'js', max_operations: 10 }],
  ]) {
    const error = await refused(t, () => new SpanMeterProcessor(options), name);
    if (error) t.true(error.message.includes(name), error.message);
  }
});

test('options that are not an object (the config path passed directly, null) are refused with a SpanMeterError', async (t) => {
  await refused(t, () => new SpanMeterProcessor('config/tracing_config.yaml'), 'a string');
  await refused(t, () => new SpanMeterProcessor(null), 'null');
});

test('config given as a file URL is read or refused, never taken as an empty configuration', async (t) => {
  let processor;
  try {
    processor = new SpanMeterProcessor({ backend: 'js', config: CONFIG });
  } catch (error) {
    t.true(error instanceof SpanMeterError, String(error));
    return;
  }
  // the sample's two SLOs: a URL read as a path would have them
  t.is(processor.config.slos.length, 2, 'config: URL was silently ignored');
  await processor.shutdown();
});

test('the errors name the option, the closest known one, and what a config must be', (t) => {
  t.throws(() => new SpanMeterProcessor({ backend: 'js', maxOperation: 10 }), {
    code: 'SPANMETER_INVALID_OPTION',
    message: /^spanmeter: unknown option "maxOperation" \(did you mean "maxOperations"\?\); options: config, exporters, maxOperations,/,
  });
  t.throws(() => new SpanMeterProcessor('tracing.yaml'), {
    message: 'spanmeter: the processor\'s options must be an object, got "tracing.yaml" (a config file goes in { config: "tracing.yaml" })',
  });
  for (const [config, shown] of [[new Map([['slos', []]]), 'a Map'], [new URL('https://example.com/tracing.yaml'), 'a URL https://example.com/tracing.yaml'], [[], 'an array']]) {
    const error = t.throws(() => new SpanMeterProcessor({ backend: 'js', config }));
    t.true(error.message.includes(`the config must be a file path, a file: URL or an object, got ${shown}`), error.message);
  }
});

test('an empty config path is refused (the message named a file of no name)', (t) => {
  const error = t.throws(() => new SpanMeterProcessor({ backend: 'js', config: '' }), { code: 'SPANMETER_INVALID_CONFIG' });
  t.true(error.message.includes('the config is an empty path'), error.message);
});

test('config as a file: URL string (what import.meta.resolve() gives) is read', async (t) => {
  const processor = new SpanMeterProcessor({ backend: 'js', config: CONFIG.href });
  t.is(processor.config.slos.length, 2);
  await processor.shutdown();
});

test('processor.config says export is on when exporters are given, as it runs', async (t) => {
  const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const withExporter = new SpanMeterProcessor({ backend: 'js', exporters: [exporter] });
  t.true(withExporter.config.export.enabled);
  await withExporter.shutdown();
  const without = new SpanMeterProcessor({ backend: 'js' });
  t.false(without.config.export.enabled);
  await without.shutdown();
});

test('highest_trackable in the file takes what the highestTrackableMs option takes: down to 0.002 ms', async (t) => {
  const processor = new SpanMeterProcessor({ backend: 'js', config: { stats: { highest_trackable: 0.002 } } });
  t.is(processor.config.stats.highestTrackableMs, 0.002);
  await processor.shutdown();
  t.throws(() => new SpanMeterProcessor({ backend: 'js', config: { stats: { highest_trackable: 0.001 } } }), { message: /stats\.highest_trackable: must be at least 0\.002ms/ });
});

test('a file: URL with no path on this machine (a host, bad escapes) is a config problem, naming it', (t) => {
  for (const config of ['file://fileserver/share/spanmeter.yaml', 'file:///etc/%E0%A4%A.yaml', new URL('file://fileserver/x.yaml')]) {
    const error = t.throws(() => new SpanMeterProcessor({ backend: 'js', config }), { code: 'SPANMETER_INVALID_CONFIG' });
    t.true(error.message.includes('not a file path on this machine'), error.message);
  }
});
