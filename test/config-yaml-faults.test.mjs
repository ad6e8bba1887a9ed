// A key given twice in one mapping, or a value with an unknown YAML tag, is refused,
// naming the key path and the line (the problem's key was "(yaml)"; an unknown tag passed).
import test from 'ava';
import { ConfigError, parseYamlConfig } from 'spanmeter';

const CASES = [
  ['in a list item', 'slos:\n  - name: a\n    indicator: availability\n    objective: 99.9\n    time_window: 30d\n    objective: 99\n', 6, 'slos[0].objective', 4],
  ['a section', 'stats:\n  batch_size: 10\nstats:\n  batch_size: 20\n', 3, 'stats', 1],
  ['in a flow mapping', 'alerting:\n  rules:\n    - name: r\n      labels: {team: a, team: b}\n', 4, 'alerting.rules[0].labels.team', 4],
];

for (const [where, yaml, line, key, firstLine] of CASES) {
  test(`a duplicate key ${where} is named, with the line of its first occurrence`, (t) => {
    const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', {}), { instanceOf: ConfigError });
    t.is(error.problems.length, 1);
    t.like(error.problems[0], { file: 'tracing.yaml', line, key });
    t.is(error.problems[0].message, `key "${key.split('.').pop()}" is given twice in this mapping (first at line ${firstLine})`);
  });
}

test('an unknown YAML tag is refused, naming the key of its value (it made the value a plain string)', (t) => {
  for (const [yaml, line, key] of [
    ['slos:\n  - name: !custom a\n    indicator: availability\n    objective: 99\n', 2, 'slos[0].name'],
    ['alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      labels: !mytag\n        team: a\n', 6, 'alerting.rules[0].labels'],
  ]) {
    const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml', {}), { instanceOf: ConfigError });
    t.like(error.problems[0], { line, key });
    t.regex(error.problems[0].message, /^Unresolved tag: !\w+: spanmeter reads plain YAML/);
  }
});
