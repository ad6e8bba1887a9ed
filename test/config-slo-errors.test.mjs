// Broken `slos:`, `alerting:`, `notifiers:` and `trends:` configurations: each
// gives exactly this message, naming the file, the line and the key path.
import test from 'ava';
import { ConfigError, loadConfig, parseYamlConfig, SpanMeterProcessor } from 'spanmeter';

const SLO = 'slos:\n  - name: a\n    indicator: availability\n';

/** [title, yaml, expected problem lines] */
const CASES = [
  ['objective of 100%', `${SLO}    objective: 100\n`, ['tracing.yaml:4 slos[0].objective: must be < 100 (percent), got 100']],
  ['objective as a bad string', `${SLO}    objective: "99.9 percent"\n`, ['tracing.yaml:4 slos[0].objective: must be a percentage such as 99.9 or "99.9%", got "99.9 percent"']],
  ['latency without threshold', 'slos:\n  - name: a\n    indicator: latency\n    objective: 99\n', ['tracing.yaml:3 slos[0].indicator.latency_threshold: is required for type latency']],
  [
    'threshold that is not a duration',
    'slos:\n  - name: a\n    indicator:\n      type: latency\n      latency_threshold: fast\n    objective: 99\n',
    ['tracing.yaml:5 slos[0].indicator.latency_threshold: must be a duration such as "500ms", "30s", "5m", "1h" or "30d", got string "fast"'],
  ],
  [
    'unknown indicator type',
    'slos:\n  - name: a\n    indicator: throughput\n    objective: 99\n',
    ['tracing.yaml:3 slos[0].indicator.type: must be one of availability, latency, latency_and_availability, got "throughput"'],
  ],
  [
    'time window shorter than a tier',
    `${SLO}    objective: 99\n    time_window: 1d\n`,
    ['tracing.yaml:5 slos[0].time_window: is shorter than the long window of burn-rate tier ticket_3d (3d); disable the tier with alerting.disabled_tiers: [ticket_3d]'],
  ],
  ['time window too long', `${SLO}    objective: 99\n    time_window: 180d\n`, ['tracing.yaml:5 slos[0].time_window: must be at most 90d, got "180d"']],
  [
    'unknown tier disabled',
    `${SLO}    objective: 99\n    alerting:\n      disabled_tiers: [page_2h]\n`,
    ['tracing.yaml:6 slos[0].alerting.disabled_tiers[0]: unknown tier "page_2h"; tiers: page_1h, page_6h, ticket_1d, ticket_3d'],
  ],
  ['duplicate SLO names', `${SLO}    objective: 99.9\n  - name: a\n    indicator: availability\n    objective: 99\n`, ['tracing.yaml:5 slos[1].name: duplicate SLO name "a"']],
  [
    'misspelt span kind',
    'slos:\n  - name: a\n    selector:\n      span_kind: sever\n    indicator: availability\n    objective: 99\n',
    ['tracing.yaml:4 slos[0].selector.span_kind: must be one of internal, server, client, producer, consumer (or a list of them), got "sever"'],
  ],
  [
    'misspelt key, so the objective is missing',
    `${SLO}    objectve: 99\n`,
    [
      'tracing.yaml:2 slos[0].objective: is required',
      'tracing.yaml:4 slos[0].objectve: unknown key (did you mean "objective"?); allowed: name, description, selector, indicator, objective, time_window, budgeting_method, at_risk_below, labels, alerting',
    ],
  ],
  ['budgeting method', `${SLO}    objective: 99\n    budgeting_method: timeslices\n`, ['tracing.yaml:5 slos[0].budgeting_method: must be one of occurrences, got "timeslices"']],
  ['evaluation interval too short', 'alerting:\n  evaluation_interval: 100ms\n', ['tracing.yaml:2 alerting.evaluation_interval: must be at least 1s, got "100ms"']],
  [
    'short window longer than the long one',
    'alerting:\n  burn_rate:\n    tiers:\n      - name: x\n        budget_consumed: 2\n        long_window: 5m\n        short_window: 1h\n',
    ['tracing.yaml:7 alerting.burn_rate.tiers[0].short_window: must be shorter than long_window (5m), got 1h'],
  ],
  [
    'tier budget over 100%',
    'alerting:\n  burn_rate:\n    tiers:\n      - name: x\n        budget_consumed: 120%\n        long_window: 1h\n        short_window: 5m\n',
    ['tracing.yaml:5 alerting.burn_rate.tiers[0].budget_consumed: must be <= 100 (percent), got "120%"'],
  ],
  ['latency rule below', 'alerting:\n  rules:\n    - name: r\n      type: latency\n      below: 10ms\n', ['tracing.yaml:5 alerting.rules[0].below: latency rules alert above a threshold; use above']],
  ['rule without threshold', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n', ['tracing.yaml:3 alerting.rules[0].above: is required (or below)']],
  [
    'unknown rule type',
    'alerting:\n  rules:\n    - name: r\n      type: errors\n      above: 1\n',
    ['tracing.yaml:4 alerting.rules[0].type: must be one of latency, error_rate, request_rate, attribute, got "errors"'],
  ],
  ['attribute sum without attribute', 'alerting:\n  rules:\n    - name: r\n      type: attribute\n      above: 10\n', ['tracing.yaml:3 alerting.rules[0].attribute: is required for an attribute rule that sums (aggregate: sum)']],
  [
    'request_rate window shorter than three slices',
    'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      window: 10s\n      above: 150\n',
    ['tracing.yaml:5 alerting.rules[0].window: must be at least 30s for request_rate rules (their value is estimated from 10s slices, one of them pro-rated), got 10s'],
  ],
  [
    'attribute window shorter than three slices',
    'alerting:\n  rules:\n    - name: r\n      type: attribute\n      aggregate: count\n      window: 20s\n      below: 5\n',
    ['tracing.yaml:6 alerting.rules[0].window: must be at least 30s for attribute rules (their value is estimated from 10s slices, one of them pro-rated), got 20s'],
  ],
  ['rule window too long', 'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      window: 2d\n      above: 10\n', ['tracing.yaml:5 alerting.rules[0].window: must be at most 1d, got "2d"']],
  ['error rate over 100%', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 150\n', ['tracing.yaml:5 alerting.rules[0].above: must be < 100 (percent), got 150']],
  [
    'invalid label name',
    'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      labels:\n        team-name: x\n',
    ['tracing.yaml:7 alerting.rules[0].labels.team-name: is not a valid label name (letters, digits and _, not starting with a digit)'],
  ],
  [
    'duplicate rule names',
    'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n    - name: r\n      type: error_rate\n      above: 6\n',
    ['tracing.yaml:6 alerting.rules[1].name: duplicate rule name "r"'],
  ],
  ['request rate above a negative rate', 'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      above: -1\n', ['tracing.yaml:5 alerting.rules[0].above: must be >= 0, got -1']],
  ['request rate below a negative rate', 'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      below: -1\n', ['tracing.yaml:5 alerting.rules[0].below: must be > 0, got -1']],
  ['request rate below 0, which nothing is', 'alerting:\n  rules:\n    - name: r\n      type: request_rate\n      below: 0\n', ['tracing.yaml:5 alerting.rules[0].below: must be > 0, got 0']],
  ['attribute count below a negative count', 'alerting:\n  rules:\n    - name: r\n      type: attribute\n      aggregate: count\n      below: -3\n', ['tracing.yaml:6 alerting.rules[0].below: must be > 0, got -3']],
  ['error rate above 100%, which nothing is', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 100\n', ['tracing.yaml:5 alerting.rules[0].above: must be < 100 (percent), got 100']],
  ['latency above 0', 'alerting:\n  rules:\n    - name: r\n      type: latency\n      above: 0\n', ['tracing.yaml:5 alerting.rules[0].above: must be above 0 (every span takes at least 0)']],
  [
    'keep_firing_for beyond a timer',
    'alerting:\n  burn_rate:\n    keep_firing_for: 99999999999d\n',
    ['tracing.yaml:3 alerting.burn_rate.keep_firing_for: must be at most 2147483647ms, got "99999999999d"'],
  ],
  ['rule for beyond a timer', 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      for: 25d\n', ['tracing.yaml:6 alerting.rules[0].for: must be at most 2147483647ms, got "25d"']],
  [
    'SLO keep_firing_for beyond a timer',
    `${SLO}    objective: 99\n    alerting:\n      keep_firing_for: 30d\n`,
    ['tracing.yaml:6 slos[0].alerting.keep_firing_for: must be at most 2147483647ms, got "30d"'],
  ],
  [
    'repeat_interval of 1ms',
    'notifiers:\n  webhooks:\n    - name: w\n      url: http://x\n      repeat_interval: 1ms\n',
    ['tracing.yaml:5 notifiers.webhooks[0].repeat_interval: must be 0 (send changes only) or at least 10s, got 1ms'],
  ],
  [
    'repeat_interval beyond a timer',
    'notifiers:\n  webhooks:\n    - name: w\n      url: http://x\n      repeat_interval: 30d\n',
    ['tracing.yaml:5 notifiers.webhooks[0].repeat_interval: must be at most 2147483647ms, got "30d"'],
  ],
  [
    'reserved label name',
    `${SLO}    objective: 99\n    labels:\n      __name__: x\n`,
    ['tracing.yaml:6 slos[0].labels.__name__: is reserved: label names starting with __ are for internal use (Prometheus drops or refuses them)'],
  ],
  [
    'a rule with the labels of a burn-rate tier alert',
    'slos:\n  - name: a\n    selector: { service: checkout }\n    indicator: availability\n    objective: 99\nalerting:\n  rules:\n    - name: SLOErrorBudgetBurn\n      type: error_rate\n      above: 5\n      severity: page\n      selector: { service: checkout }\n      labels: { slo: a, tier: page_1h }\n',
    [
      'tracing.yaml:13 alerting.rules[0].labels: with the rule\'s name and severity, give the same labels (so the same fingerprint) as the burn-rate alert of SLO "a", tier page_1h; alerts must differ in at least one label',
    ],
  ],
  ['webhook URL scheme', 'notifiers:\n  webhooks:\n    - name: am\n      url: ftp://example.com\n', ['tracing.yaml:4 notifiers.webhooks[0].url: must be an http:// or https:// URL, got "ftp://example.com"']],
  ['webhook without name', 'notifiers:\n  webhooks:\n    - url: http://x\n', ['tracing.yaml:3 notifiers.webhooks[0].name: is required']],
  [
    'Alertmanager API without re-sending',
    'notifiers:\n  webhooks:\n    - name: am\n      url: http://x\n      format: alertmanager_api\n      repeat_interval: 0s\n',
    ['tracing.yaml:6 notifiers.webhooks[0].repeat_interval: must be above 0 for format alertmanager_api (Alertmanager resolves alerts that are not re-sent)'],
  ],
  ['webhook timeout type', 'notifiers:\n  webhooks:\n    - name: am\n      url: http://x\n      timeout: true\n', ['tracing.yaml:5 notifiers.webhooks[0].timeout: must be a duration such as "500ms", "30s", "5m", "1h" or "30d", got boolean true']],
  ['log stream', 'notifiers:\n  log:\n    stream: stdlog\n', ['tracing.yaml:3 notifiers.log.stream: must be one of stderr, stdout, got "stdlog"']],
  ['regression ratio', 'trends:\n  regression:\n    ratio: 0.5\n', ['tracing.yaml:3 trends.regression.ratio: must be > 1, got 0.5']],
  ['baseline file missing', 'trends:\n  regression:\n    baseline: file\n', ['tracing.yaml:3 trends.regression.baseline_file: is required when baseline is file']],
  [
    'baseline file unreadable',
    'trends:\n  regression:\n    baseline: file\n    baseline_file: /nonexistent/baseline.json\n',
    ['tracing.yaml:4 trends.regression.baseline_file: cannot read the baseline file "/nonexistent/baseline.json": ENOENT: no such file or directory, open \'/nonexistent/baseline.json\''],
  ],
  ['regression window', 'trends:\n  regression:\n    window: 10m\n', ['tracing.yaml:3 trends.regression.window: must be one of 1m, 5m, 15m, 1h, got "10m"']],
  ['alias without its anchor', 'slos:\n  - *nope\n', ['tracing.yaml:2 slos[0]: alias *nope has no anchor &nope before it']],
  [
    'alias bomb (billion laughs)',
    'x: &a [x, x, x, x, x, x, x, x, x, x]\nalerting:\n  rules: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nslos:\n  - labels: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
    ['tracing.yaml:5 slos[0].labels[8]: alias *b expands to too many nodes (more than 100 aliased nodes in all); YAML alias bombs are refused'],
  ],
  [
    'description that is not a string',
    `${SLO}    objective: 99\n    description: 42\n`,
    ['tracing.yaml:5 slos[0].description: must be a string, got number 42'],
  ],
  ['unknown trends key', 'trends:\n  health:\n    score: 90\n', ['tracing.yaml:3 trends.health.score: unknown key; allowed: enabled, error_rate_window']],
];

for (const [title, yaml, expected] of CASES) {
  test(`config error: ${title}`, (t) => {
    const error = t.throws(() => parseYamlConfig(yaml, 'tracing.yaml'), { instanceOf: ConfigError });
    const lines = error.message.split('\n');
    t.is(lines[0], `spanmeter: invalid configuration in tracing.yaml (${expected.length} problem${expected.length === 1 ? '' : 's'}):`);
    t.deepEqual(
      lines.slice(1).map((l) => l.trim()),
      expected,
    );
    for (const problem of error.problems) {
      t.is(problem.file, 'tracing.yaml');
      t.true(Number.isInteger(problem.line));
    }
  });
}

test('with burn-rate alerting off, no tier constrains an SLO time window', (t) => {
  const config = loadConfig({ alerting: { burn_rate: { enabled: false } }, slos: [{ name: 'a', indicator: 'availability', objective: 99, time_window: '1d' }] });
  t.is(config.slos[0].timeWindowMs, 86_400_000);
  const yaml = 'alerting:\n  burn_rate:\n    enabled: false\nslos:\n  - name: a\n    indicator: availability\n    objective: 99\n    time_window: 1h\n';
  t.is(parseYamlConfig(yaml, 'tracing.yaml').slos[0].timeWindowMs, 3_600_000);
  // Still checked when it is on (the default), and still reported with its position.
  const error = t.throws(() => parseYamlConfig(yaml.replace('enabled: false', 'enabled: true'), 'tracing.yaml'), { instanceOf: ConfigError });
  t.is(error.problems[0].key, 'slos[0].time_window');
  t.is(error.problems[0].line, 8);
});

test('a configuration object in code names the key path', (t) => {
  const error = t.throws(() => loadConfig({ slos: [{ name: 'a', indicator: 'availability', objective: 0 }] }), { instanceOf: ConfigError });
  t.is(error.message.split('\n')[1].trim(), '(config object) slos[0].objective: must be > 0 (percent), got 0');
});

test('an invalid configuration never half-starts a processor', (t) => {
  t.throws(() => new SpanMeterProcessor({ config: { alerting: { rules: [{ name: 'r', type: 'error_rate' }] } } }), { instanceOf: ConfigError });
});

test('defaults: every key of the sections has a documented default', (t) => {
  const config = loadConfig({ slos: [{ name: 'a', indicator: 'availability', objective: 99.9 }] });
  t.like(config.alerting, { evaluationIntervalMs: 10_000, historySize: 100, rules: [] });
  t.like(config.alerting.burnRate, { enabled: true, minEvents: 10, minBadEvents: 2, forMs: 0, keepFiringForMs: 0 });
  t.is(config.alerting.burnRate.tiers.length, 4);
  t.like(config.slos[0], { timeWindowMs: 30 * 86_400_000, budgetingMethod: 'occurrences', atRiskBelowPercent: 25, objective: 99.9 });
  t.like(config.slos[0].selector, { service: '*', spanName: '*', spanKinds: [] });
  t.like(config.notifiers, { externalUrl: '', webhooks: [] });
  t.like(config.notifiers.log, { enabled: true, stream: 'stderr', format: 'json' });
  t.like(config.trends.regression, { enabled: true, window: '15m', ratio: 1.5, minCount: 20, baseline: 'previous_hour' });
  t.like(config.trends.errorAnalysis, { enabled: true, top: 5, maxGroups: 1000, maxMessageLength: 200 });
  t.like(config.trends.health, { enabled: true, errorRateWindow: '5m' });
});

test('a config file named by SPANMETER_CONFIG that cannot be read names the variable', (t) => {
  const error = t.throws(() => loadConfig(undefined, { SPANMETER_CONFIG: 'no-such-spanmeter-config.yaml' }), { instanceOf: ConfigError });
  t.regex(error.message, /no-such-spanmeter-config\.yaml/);
  t.regex(error.message, /named by SPANMETER_CONFIG/);
  // a path given in code is not the variable's
  t.notRegex(t.throws(() => loadConfig('no-such-spanmeter-config.yaml')).message, /SPANMETER_CONFIG/);
});

test('trends.regression.ratio is a multiple: 150 (meant as 150%) is refused, naming the key', (t) => {
  const error = t.throws(() => loadConfig({ trends: { regression: { ratio: 150 } } }), { instanceOf: ConfigError });
  t.regex(error.message, /trends\.regression\.ratio: must be .*<= 100, got 150/);
  t.is(loadConfig({ trends: { regression: { ratio: 2 } } }).trends.regression.ratio, 2);
});

test('labels that an alert sets itself are refused, naming where their value comes from', (t) => {
  const rule = 'alerting:\n  rules:\n    - name: r\n      type: error_rate\n      above: 5\n      labels:\n        severity: critical\n';
  const ruleError = t.throws(() => parseYamlConfig(rule, 'tracing.yaml', {}));
  t.is(ruleError.message.split('\n')[1].trim(), 'tracing.yaml:7 alerting.rules[0].labels.severity: is set by the alert itself: the rule\'s severity key (write severity: "critical" beside labels)');
  const slo = 'slos:\n  - name: a\n    indicator: availability\n    objective: 99\n    labels:\n      tier: gold\n      alertname: x\n';
  const sloError = t.throws(() => parseYamlConfig(slo, 'tracing.yaml', {}));
  t.deepEqual(
    sloError.problems.map((p) => [p.line, p.key]),
    [
      [6, 'slos[0].labels.tier'],
      [7, 'slos[0].labels.alertname'],
    ],
  );
});

test('an objective written as a ratio (0.999) is refused; "0.5%" with its sign is taken as written', (t) => {
  const error = t.throws(() => parseYamlConfig('slos:\n  - name: a\n    indicator: availability\n    objective: 0.999\n', 'tracing.yaml', {}));
  t.is(
    error.message.split('\n')[1].trim(),
    'tracing.yaml:4 slos[0].objective: is in percent: 0.999 means 0.999%; for a ratio of 0.999 write 99.9% (a bare number of 1 or less is taken for a ratio written by mistake; write "0.999%" if you mean it)',
  );
  t.is(parseYamlConfig('slos:\n  - name: a\n    indicator: availability\n    objective: "0.5%"\n', 'tracing.yaml', {}).slos[0].objective, 0.5);
});

test('a time window of whole weeks is reported in days, as written ("28d", not "4w")', async (t) => {
  const processor = new SpanMeterProcessor({ backend: 'js', config: { slos: [{ name: 'a', indicator: 'availability', objective: 99, time_window: '28d' }] } });
  t.is((await processor.stats()).slos[0].timeWindow, '28d');
  await processor.shutdown();
});
