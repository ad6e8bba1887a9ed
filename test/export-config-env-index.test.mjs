// With OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT set and no otlp target in the file, the loader
// put an `otlp-env` target in front of the file's targets *before* it reported problems by index,
// so problems of the file's own targets named the wrong key (targets[i+1]) and the wrong line.
import test from 'ava';
import { ConfigError, parseYamlConfig } from 'spanmeter';

const ENV = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

test('a duplicate target name is reported at the file\'s key and line, with an OTLP endpoint in the environment', (t) => {
  const yaml = 'export:\n  targets:\n    - type: zipkin\n      name: z\n    - type: file\n      name: z\n';
  const without = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', {}), { instanceOf: ConfigError });
  t.is(without.message.split('\n')[1].trim(), 'tracing.yaml:6 export.targets[1].name: duplicate target name "z"');
  const withEnv = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', ENV), { instanceOf: ConfigError });
  t.is(withEnv.message.split('\n')[1].trim(), 'tracing.yaml:6 export.targets[1].name: duplicate target name "z"');
});

test('a bad OTEL_EXPORTER_ZIPKIN_ENDPOINT names the zipkin target of the file, with an OTLP endpoint in the environment', (t) => {
  const yaml = 'export:\n  targets:\n    - type: file\n    - type: zipkin\n';
  const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', { ...ENV, OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'nope' }), { instanceOf: ConfigError });
  t.is(error.problems[0].key, 'export.targets[1].endpoint');
  t.is(error.problems[0].line, 4);
});

test('the target the environment adds: its problems name the variable at export.targets, and its name may not be taken', (t) => {
  const bad = t.throws(() => parseYamlConfig('export:\n  targets:\n    - type: file\n', 'tracing.yaml', { OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }), { instanceOf: ConfigError });
  t.like(bad.problems[0], { key: 'export.targets.endpoint', line: 3 });
  t.true(bad.problems[0].message.startsWith('OTEL_EXPORTER_OTLP_ENDPOINT: '), bad.problems[0].message);
  const clash = t.throws(() => parseYamlConfig('export:\n  targets:\n    - type: file\n      name: otlp-env\n', 'tracing.yaml', ENV), { instanceOf: ConfigError });
  t.like(clash.problems[0], { key: 'export.targets[0].name', line: 4 });
  // without a clash the added target comes first
  const config = parseYamlConfig('export:\n  targets:\n    - type: file\n', 'tracing.yaml', ENV);
  t.deepEqual(config.export.targets.map((target) => target.type), ['otlp', 'file']);
  t.is(config.export.targets[0].name, 'otlp-env');
  t.is(config.export.targets[0].endpoint, 'http://collector:4318/v1/traces');
});

test('an endpoint from the environment meant for gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) is refused, naming both variables', (t) => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  const error = t.throws(() => parseYamlConfig('export: {}\n', 'tracing.yaml', env), { instanceOf: ConfigError });
  t.regex(error.problems[0].message, /^OTEL_EXPORTER_OTLP_ENDPOINT: OTEL_EXPORTER_OTLP_PROTOCOL is "grpc", but spanmeter sends OTLP as http\/protobuf only: give the otlp target's endpoint in the file/);
  // the traces-specific protocol wins; http/protobuf is what spanmeter sends
  const config = parseYamlConfig('export: {}\n', 'tracing.yaml', { ...env, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
  t.is(config.export.targets[0].endpoint, 'http://collector:4318/v1/traces');
  // without an endpoint from the environment, the variable is the SDK's business
  t.notThrows(() => parseYamlConfig('export:\n  targets:\n    - type: otlp\n      endpoint: http://collector:4318/v1/traces\n', 'tracing.yaml', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
  // the way out the message gives: an endpoint in the file is kept, the environment's left to the SDK
  const kept = parseYamlConfig('export:\n  targets:\n    - type: otlp\n      endpoint: http://collector:4318/v1/traces\n', 'tracing.yaml', env);
  t.is(kept.export.targets[0].endpoint, 'http://collector:4318/v1/traces');
});
