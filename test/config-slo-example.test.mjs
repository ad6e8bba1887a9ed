// config/tracing_config.yaml is the documented, complete example: it loads, and
// every key of the slos/alerting/notifiers/trends sections appears in it.
import test from 'ava';
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { ConfigError, loadConfig, parseYamlConfig } from 'spanmeter';

const EXAMPLE = new URL('../config/tracing_config.yaml', import.meta.url).pathname;

test('the example configuration loads with the values it documents', (t) => {
  const config = loadConfig(EXAMPLE);
  t.deepEqual(
    config.slos.map((s) => [s.name, s.indicator, s.objective, s.timeWindowMs / 86_400_000]),
    [
      ['checkout-availability', 'availability', 99.9, 30],
      ['checkout-latency', 'latency', 99, 28],
    ],
  );
  t.is(config.slos[1].latencyThresholdMs, 300);
  t.deepEqual(
    config.alerting.rules.map((r) => [r.name, r.type]),
    [
      ['CheckoutLatencyHigh', 'latency'],
      ['CheckoutErrorRate', 'error_rate'],
      ['CheckoutTrafficDrop', 'request_rate'],
      ['RefundValueHigh', 'attribute'],
    ],
  );
  t.is(config.alerting.rules[0].above, 800);
  t.is(config.alerting.rules[1].above, 0.05);
  t.is(config.alerting.evaluationIntervalMs, 10_000);
  t.is(config.notifiers.webhooks[0].format, 'alertmanager_api');
});

/** The allowed keys of a mapping, read from the "unknown key" error. */
function allowedKeys(yaml) {
  try {
    parseYamlConfig(yaml, 'probe.yaml');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problem = error.problems.find((p) => p.message.startsWith('unknown key'));
    return problem.message.split('allowed: ')[1].split(', ');
  }
  throw new Error('no error');
}

/** Mapping paths of the example ([] = every item of a list) and a probe that makes the loader list their keys. */
const SECTIONS = [
  [['slos', []], 'slos:\n  - zz_probe: 1\n'],
  [['slos', [], 'selector'], 'slos:\n  - selector:\n      zz_probe: 1\n'],
  [['slos', [], 'indicator'], 'slos:\n  - indicator:\n      zz_probe: 1\n'],
  [['slos', [], 'alerting'], 'slos:\n  - alerting:\n      zz_probe: 1\n'],
  [['alerting'], 'alerting:\n  zz_probe: 1\n'],
  [['alerting', 'burn_rate'], 'alerting:\n  burn_rate:\n    zz_probe: 1\n'],
  [['alerting', 'burn_rate', 'tiers', []], 'alerting:\n  burn_rate:\n    tiers:\n      - zz_probe: 1\n'],
  [['alerting', 'rules', []], 'alerting:\n  rules:\n    - zz_probe: 1\n'],
  [['alerting', 'rules', [], 'selector'], 'alerting:\n  rules:\n    - selector:\n        zz_probe: 1\n'],
  [['notifiers'], 'notifiers:\n  zz_probe: 1\n'],
  [['notifiers', 'log'], 'notifiers:\n  log:\n    zz_probe: 1\n'],
  [['notifiers', 'webhooks', []], 'notifiers:\n  webhooks:\n    - zz_probe: 1\n'],
  [['trends'], 'trends:\n  zz_probe: 1\n'],
  [['trends', 'regression'], 'trends:\n  regression:\n    zz_probe: 1\n'],
  [['trends', 'error_analysis'], 'trends:\n  error_analysis:\n    zz_probe: 1\n'],
  [['trends', 'health'], 'trends:\n  health:\n    zz_probe: 1\n'],
];

/** The mappings at a path ([] steps into every list item). */
function mappingsAt(node, path) {
  if (path.length === 0) return YAML.isMap(node) ? [node] : [];
  const [step, ...rest] = path;
  if (Array.isArray(step)) return YAML.isSeq(node) ? node.items.flatMap((item) => mappingsAt(item, rest)) : [];
  const value = YAML.isMap(node) ? node.get(step, true) : undefined;
  return value === undefined ? [] : mappingsAt(value, rest);
}

test('every key of the SLO, alerting, notifier and trend sections is in the example, with a comment', (t) => {
  const text = fs.readFileSync(EXAMPLE, 'utf8');
  const doc = YAML.parseDocument(text);
  for (const [path, probe] of SECTIONS) {
    const maps = mappingsAt(doc.contents, path);
    const where = path.map((p) => (Array.isArray(p) ? '[]' : p)).join('.');
    t.true(maps.length > 0, `${where} is in the example`);
    const keys = allowedKeys(probe);
    for (const key of keys) {
      const map = maps.find((m) => m.items.some((p) => p.key.value === key));
      const pair = map?.items.find((p) => p.key.value === key);
      if (pair === undefined) {
        // A key that only applies in another mode is shown commented out.
        t.regex(text, new RegExp(`# ${key}: `), `${where}.${key} is in the example`);
        continue;
      }
      // A comment before the key (for a mapping's first key, YAML keeps it on the mapping) or after its value.
      // After a nested mapping, YAML keeps the comment as that mapping's trailing comment.
      const index = map.items.indexOf(pair);
      const previous = map.items[index - 1]?.value;
      const comment =
        pair.key.commentBefore ??
        pair.value?.comment ??
        pair.value?.commentBefore ??
        pair.key.comment ??
        (index === 0 ? (map.commentBefore ?? map.comment) : YAML.isCollection(previous) ? previous.comment : undefined);
      t.truthy(comment, `${where}.${key} has a comment`);
    }
  }
});
