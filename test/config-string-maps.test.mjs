// Label, annotation and header values are strings. An unquoted YAML value that
// reads as a number was rewritten (1.10 -> "1.1", 007 -> "7", a 20-digit tenant
// id lost digits); it is now kept as written.
import test from 'ava';
import { parseYamlConfig } from 'spanmeter';

const SLO = 'slos:\n  - name: a\n    indicator: availability\n    objective: 99\n';

const CASES = [
  ['an SLO label 1.10', `${SLO}    labels:\n      version: 1.10\n`, (c) => c.slos[0].labels.version, '1.10'],
  ['a rule label 007', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      labels:\n        cost_center: 007\n', (c) => c.alerting.rules[0].labels.cost_center, '007'],
  ['a rule annotation true', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      annotations:\n        paged: true\n', (c) => c.alerting.rules[0].annotations.paged, 'true'],
  ['an export header with a 20-digit tenant id', 'export:\n  targets:\n    - type: otlp\n      headers:\n        x-scope-orgid: 12345678901234567890\n', (c) => c.export.targets[0].headers['x-scope-orgid'], '12345678901234567890'],
  ['a webhook header 0x1F00', 'notifiers:\n  webhooks:\n    - name: w\n      url: http://x\n      headers:\n        x-api-key: 0x1F00\n', (c) => c.notifiers.webhooks[0].headers['x-api-key'], '0x1F00'],
  ['a quoted label, as before', `${SLO}    labels:\n      version: "1.10"\n`, (c) => c.slos[0].labels.version, '1.10'],
];

for (const [what, yaml, read, written] of CASES) {
  test(`${what} is kept as written`, (t) => {
    t.is(read(parseYamlConfig(yaml, 'tracing.yaml', {})), written);
  });
}

test('numbers elsewhere stay numbers (an objective, an attribute selector value)', (t) => {
  const config = parseYamlConfig(`${SLO.replace('99', '99.5')}    selector:\n      attributes:\n        http.status_code: 500\n`, 'tracing.yaml', {});
  t.is(config.slos[0].objective, 99.5);
  t.deepEqual(Object.values(config.slos[0].selector.attributes ?? {}), [500]);
});

test('an anchored number aliased into labels stays a number where it was written (above: &v 5)', (t) => {
  const config = parseYamlConfig('alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: &v 5\n      labels: {x: *v, y: 1.10}\n', 'tracing.yaml', {});
  t.is(config.alerting.rules[0].above, 0.05);
  t.deepEqual(config.alerting.rules[0].labels, { x: '5', y: '1.10' });
});
