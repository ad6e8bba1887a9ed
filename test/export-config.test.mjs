// The `export:` configuration section: defaults, errors with file, line and key,
// and the OTEL_EXPORTER_* environment variables of the OpenTelemetry specification.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig, parseYamlConfig, SpanMeterError, SpanMeterProcessor } from 'spanmeter';
import { tempDir } from './helpers/export.mjs';

const NO_ENV = {};

test('without an export section nothing is exported, and the OTEL variables change nothing', (t) => {
  const config = loadConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
  t.false(config.export.enabled);
  t.deepEqual(config.export.targets, []);
});

test('defaults of an export section', (t) => {
  const { export: e } = loadConfig({ export: { targets: [{ type: 'otlp' }, { type: 'jaeger' }, { type: 'zipkin' }, { type: 'file' }] } }, NO_ENV);
  t.true(e.enabled);
  t.deepEqual(
    e.targets.map((x) => [x.type, x.name, x.endpoint ?? x.dir]),
    [
      ['otlp', 'otlp-0', 'http://localhost:4318/v1/traces'],
      ['jaeger', 'jaeger-1', 'http://localhost:4318/v1/traces'],
      ['zipkin', 'zipkin-2', 'http://localhost:9411/api/v2/spans'],
      ['file', 'file-3', 'spanmeter-traces'],
    ],
  );
  t.is(e.targets[0].compression, 'none', 'as OTEL_EXPORTER_OTLP_COMPRESSION defaults to none');
  t.is(e.targets[2].compression, 'none');
  t.is(e.targets[0].timeoutMs, 10_000);
  t.deepEqual(e.batch, { maxSpans: 2048, maxBytes: 1024 * 1024, delayMs: 1000, maxSpanBytes: 1024 * 1024 });
  t.deepEqual(e.queue, { maxSpans: 200_000, maxBytes: 64 * 1024 * 1024 });
  t.deepEqual(e.spool, { enabled: true, dir: '.spanmeter-spool', maxBytes: 256 * 1024 * 1024, maxAgeMs: 86_400_000 });
  t.is(e.shutdownTimeoutMs, 30_000);
  t.is(e.exitTimeoutMs, 5_000);
  t.is(loadConfig({ export: { exit_timeout: 0 } }, NO_ENV).export.exitTimeoutMs, 0, '0 turns the shutdown at exit off');
  const error = t.throws(() => loadConfig({ export: { exit_timeout: 'soon' } }, NO_ENV), { instanceOf: ConfigError });
  t.regex(error.message, /export\.exit_timeout.*must be a duration/);
});

test('invalid endpoints and headers fail at start with file, line and key', (t) => {
  const yaml = [
    'export:', //  1
    '  targets:', //  2
    '    - type: otlp', //  3
    '      endpoint: "not a url"', //  4
    '    - type: zipkin', //  5
    '      endpoint: ftp://127.0.0.1/api/v2/spans', //  6
    '      headers:', //  7
    '        "bad name": x', //  8
    '        x-ok: "line\\r\\nbreak"', //  9
    '    - type: carrier-pigeon', // 10
    '  batch:', // 11
    '    max_size: lots', // 12
    '  spool:', // 13
    '    max_age: soon', // 14
  ].join('\n');
  const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', NO_ENV), { instanceOf: ConfigError });
  const at = (key) => error.problems.find((p) => p.key === key);
  t.is(at('export.targets[0].endpoint').line, 4);
  t.regex(at('export.targets[0].endpoint').message, /not a valid URL/);
  t.is(at('export.targets[1].endpoint').line, 6);
  t.regex(at('export.targets[1].endpoint').message, /must use http or https/);
  t.is(at('export.targets[1].headers.bad name').line, 8);
  t.regex(at('export.targets[1].headers.bad name').message, /not a valid HTTP header name/);
  t.is(at('export.targets[1].headers.x-ok').line, 9);
  t.regex(at('export.targets[1].headers.x-ok').message, /control character/);
  t.is(at('export.targets[2].type').line, 10);
  t.is(at('export.batch.max_size').line, 12);
  t.is(at('export.spool.max_age').line, 14);
  t.regex(error.message, /tracing\.yaml:4 export\.targets\[0\]\.endpoint/);
});

test('durations that run as timers are at most 2^31-1 ms (Node fires a longer timer after 1 ms): errors name file, line and key', (t) => {
  const yaml = [
    'export:', //  1
    '  targets:', //  2
    '    - type: otlp', //  3
    '      timeout: 30d', //  4
    '    - type: exporter', //  5
    '      timeout: 25d', //  6
    '  batch:', //  7
    '    delay: 30d', //  8
    '  retry:', //  9
    '    initial_backoff: 25d', // 10
    '    max_backoff: 26d', // 11
    '  circuit_breaker:', // 12
    '    open_duration: 25d', // 13
    '    max_open_duration: 365d', // 14
    '  flush_timeout: 30d', // 15
    '  shutdown_timeout: 30d', // 16
    '  exit_timeout: 30d', // 17
    '  spool:', // 18
    '    max_age: 30d', // 19 (an age, not a timer: allowed)
  ].join('\n');
  const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', NO_ENV), { instanceOf: ConfigError });
  const expected = {
    'export.targets[0].timeout': 4,
    'export.targets[1].timeout': 6,
    'export.batch.delay': 8,
    'export.retry.initial_backoff': 10,
    'export.retry.max_backoff': 11,
    'export.circuit_breaker.open_duration': 13,
    'export.circuit_breaker.max_open_duration': 14,
    'export.flush_timeout': 15,
    'export.shutdown_timeout': 16,
    'export.exit_timeout': 17,
  };
  t.deepEqual(Object.fromEntries(error.problems.map((p) => [p.key, p.line])), expected);
  for (const p of error.problems) t.regex(p.message, /must be at most 2147483647ms, got "\d+d"/, p.key);
  t.regex(error.message, /tracing\.yaml:4 export\.targets\[0\]\.timeout/);

  // 24 days is under the limit.
  t.is(parseYamlConfig('export:\n  targets:\n    - type: otlp\n      timeout: 24d\n', 'tracing.yaml', NO_ENV).export.targets[0].timeoutMs, 24 * 86_400_000);
  const env = t.throws(() => loadConfig({ export: { targets: [{ type: 'otlp' }] } }, { OTEL_EXPORTER_OTLP_TIMEOUT: String(30 * 86_400_000) }), { instanceOf: ConfigError });
  t.regex(env.message, /export\.targets\[0\]\.timeout: OTEL_EXPORTER_OTLP_TIMEOUT must be a positive number of milliseconds up to 2147483647/);
});

test('a processor with a bad export config or bad exporters does not start', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'export:\n  targets:\n    - type: otlp\n      endpoint: "http://"\n');
  const error = t.throws(() => new SpanMeterProcessor({ config: file }), { instanceOf: ConfigError });
  t.regex(error.message, /bad\.yaml:4 export\.targets\[0\]\.endpoint/);
  t.throws(() => new SpanMeterProcessor({ exporters: [{ export: 1 }] }), { instanceOf: SpanMeterError, message: /exporters\[0\]/ });
  t.throws(() => new SpanMeterProcessor({ exporters: 'otlp' }), { instanceOf: SpanMeterError, message: /"exporters" must be an array/ });
});

test('OTEL_EXPORTER_OTLP_* override the first otlp target; _TRACES_ variants win', (t) => {
  const base = { export: { targets: [{ type: 'otlp', endpoint: 'http://127.0.0.1:1/v1/traces', headers: { a: 'file' } }, { type: 'otlp', name: 'second' }] } };
  let e = loadConfig(base, {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=env,api-key=s%20ecret',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
  }).export;
  t.is(e.targets[0].endpoint, 'http://collector:4318/v1/traces', 'the base endpoint gets /v1/traces');
  t.deepEqual(e.targets[0].headers, { a: 'env', 'api-key': 's ecret' });
  t.is(e.targets[0].timeoutMs, 2500);
  t.is(e.targets[0].compression, 'gzip');
  t.is(e.targets[1].endpoint, 'http://localhost:4318/v1/traces', 'only the first otlp target');
  e = loadConfig(base, {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example:443/custom/path',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=general,b=general',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=traces',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700',
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
  }).export;
  t.is(e.targets[0].endpoint, 'https://traces.example:443/custom/path', 'the traces endpoint is used as it is');
  t.deepEqual(e.targets[0].headers, { a: 'general', b: 'traces' });
  t.is(e.targets[0].timeoutMs, 700);
  t.is(e.targets[0].compression, 'gzip');
});

test('an OTLP endpoint in the environment adds an otlp target when the section has none', (t) => {
  const e = loadConfig({ export: { targets: [{ type: 'zipkin' }] } }, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).export;
  t.deepEqual(
    e.targets.map((x) => [x.type, x.endpoint]),
    [
      ['otlp', 'http://collector:4318/v1/traces'],
      ['zipkin', 'http://localhost:9411/api/v2/spans'],
    ],
  );
});

test('invalid OTEL variables are errors that name the variable', (t) => {
  const base = { export: { targets: [{ type: 'otlp' }] } };
  const cases = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT: .*must use http or https|OTEL_EXPORTER_OTLP_ENDPOINT: .*not a valid URL/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not of the form name=value/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'bad name=1' }, /OTEL_EXPORTER_OTLP_HEADERS: header name "bad name"/],
    [{ OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'a=%E0%A4%A' }, /OTEL_EXPORTER_OTLP_TRACES_HEADERS: the value of "a" is not valid URL encoding/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }, /OTEL_EXPORTER_OTLP_TIMEOUT must be a positive number/],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' }, /COMPRESSION must be gzip or none/],
    [{ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'nope' }, null],
  ];
  for (const [env, pattern] of cases) {
    if (pattern === null) {
      t.notThrows(() => loadConfig(base, env), 'the zipkin variable does nothing without a zipkin target');
      continue;
    }
    const error = t.throws(() => loadConfig(base, env), { instanceOf: ConfigError });
    t.regex(error.message, pattern);
    t.regex(error.message, /export\.targets\[0\]/);
  }
});

test('the documented config file loads, with export off until switched on', (t) => {
  const config = loadConfig(path.join(process.cwd(), 'config', 'tracing_config.yaml'), NO_ENV);
  t.false(config.export.enabled);
  t.true(config.export.targets.length >= 4, 'every target type is shown');
  const text = fs.readFileSync(path.join(process.cwd(), 'config', 'tracing_config.yaml'), 'utf8');
  const section = text.slice(text.indexOf('\nexport:'));
  // Every key line of the section has a comment line above it.
  const lines = section.split('\n').slice(1);
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s+-?\s*[a-z_]+:/.test(lines[i])) continue;
    t.regex(lines[i - 1] ?? '', /#/, `key line "${lines[i].trim()}" has a comment above it`);
  }
});
