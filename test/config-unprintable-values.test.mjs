// A configuration value that JSON cannot write (a cycle, a BigInt) or writes wrongly
// (Infinity as null) still gives a ConfigError naming the key, never a raw TypeError.
import test from 'ava';
import { ConfigError, loadConfig, parseYamlConfig } from 'spanmeter';

const cyclic = {};
cyclic.self = cyclic;

const SLO = { name: 'a', indicator: 'availability', objective: 99 };
/** [key path, config with the bad value there] for every kind of validator */
const AT = (bad) => [
  ['alerting.evaluation_interval', { alerting: { evaluation_interval: bad } }],
  ['alerting.burn_rate.min_events', { alerting: { burn_rate: { min_events: bad } } }],
  ['alerting.burn_rate.enabled', { alerting: { burn_rate: { enabled: bad } } }],
  ['slos[0].objective', { slos: [{ ...SLO, objective: bad }] }],
  ['slos[0].name', { slos: [{ ...SLO, name: bad }] }],
  ['slos[0].labels.team', { slos: [{ ...SLO, labels: { team: bad } }] }],
  ['slos[0].selector.service', { slos: [{ ...SLO, selector: { service: bad } }] }],
  ['slos[0].selector.span_kind', { slos: [{ ...SLO, selector: { span_kind: bad } }] }],
  ['slos[0].selector.attributes.x', { slos: [{ ...SLO, selector: { attributes: { x: bad } } }] }],
  ['slos[0].alerting.disabled_tiers', { slos: [{ ...SLO, alerting: { disabled_tiers: bad } }] }],
  ['alerting.rules[0].above', { alerting: { rules: [{ name: 'r', type: 'request_rate', above: bad }] } }],
  ['alerting.rules[0].above', { alerting: { rules: [{ name: 'r', type: 'error_rate', above: bad }] } }],
  ['alerting.rules[0].type', { alerting: { rules: [{ name: 'r', type: bad, above: 1 }] } }],
];

for (const [what, bad, shown] of [
  ['a cycle', cyclic, 'a mapping'],
  ['a BigInt', 10n, 'bigint 10'],
]) {
  test(`${what} anywhere in a configuration object is a ConfigError naming the key`, (t) => {
    for (const [key, config] of AT(bad)) {
      const error = t.throws(() => loadConfig(config), { instanceOf: ConfigError }, key);
      if (error === undefined) continue;
      t.is(error.problems.length, 1, key);
      t.is(error.problems[0].key, key);
      t.true(error.problems[0].message.endsWith(`, got ${shown}`), `${key}: ${error.problems[0].message}`);
    }
  });
}

test('a YAML alias to its own ancestor where a label value belongs is a ConfigError at its line', (t) => {
  const yaml = 'slos:\n  - &s\n    name: a\n    objective: 99\n    indicator: availability\n    labels:\n      team: *s\n';
  const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml'), { instanceOf: ConfigError });
  t.is(error.message.split('\n')[1].trim(), 'tracing.yaml:7 slos[0].labels.team: must be a string, got a mapping');
});

test('Infinity is shown as Infinity, not null', (t) => {
  const rule = 'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      above: .inf\n';
  const error = t.throws(() => parseYamlConfig(rule, 'tracing.yaml'), { instanceOf: ConfigError });
  t.is(error.message.split('\n')[1].trim(), 'tracing.yaml:5 alerting.rules[0].above: must be a number, got number Infinity');
  const objective = t.throws(() => loadConfig({ slos: [{ ...SLO, objective: -Infinity }] }), { instanceOf: ConfigError });
  t.is(objective.problems[0].message, 'must be a percentage such as 99.9 or "99.9%", got -Infinity');
});

test('bigint durations and counts in code name their key', (t) => {
  const error = t.throws(() => loadConfig({ alerting: { evaluation_interval: 10n, burn_rate: { min_events: 10n } } }), { instanceOf: ConfigError });
  t.deepEqual(
    error.problems.map((p) => `${p.key}: ${p.message}`),
    [
      'alerting.burn_rate.min_events: must be a number, got bigint 10',
      'alerting.evaluation_interval: must be a duration such as "500ms", "30s", "5m", "1h" or "30d", got bigint 10',
    ],
  );
});
