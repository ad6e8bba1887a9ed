/**
 * `trends:` — window-over-window latency changes and regression flags, error
 * analysis from `exception` events, and a health score per service.
 */
import type { WindowName } from '../report';
import { readBaselineFile, type BaselineEntry } from '../trends/baseline';
import { boolean, mapping, number, string, type ConfigPath, type Issues } from './schema';
import { stringList } from './slo-common';

export interface RegressionConfig {
  enabled: boolean;
  /** The current window compared against the baseline. */
  window: WindowName;
  /** A percentile regresses when current / baseline reaches this ratio. */
  ratio: number;
  percentiles: ('p50' | 'p99')[];
  /** Both the current window and the baseline need this many spans. */
  minCount: number;
  baseline: 'previous_hour' | 'file';
  baselineFile?: string;
  /** The baseline file's operations (read and checked at start). */
  baselineEntries?: BaselineEntry[];
}

export interface ErrorAnalysisConfig {
  enabled: boolean;
  /** Groups listed per operation. */
  top: number;
  /** Distinct (operation, exception type, message) groups kept; further ones are counted, not kept. */
  maxGroups: number;
  maxMessageLength: number;
}

export interface HealthConfig {
  enabled: boolean;
  /** The window whose error rate lowers the score. */
  errorRateWindow: WindowName;
}

export interface TrendsConfig {
  /** Window-over-window changes and regression flags in `stats().trends`. */
  enabled: boolean;
  regression: RegressionConfig;
  errorAnalysis: ErrorAnalysisConfig;
  health: HealthConfig;
}

export const TRENDS_KEYS = ['enabled', 'regression', 'error_analysis', 'health'] as const;
const REGRESSION_KEYS = ['enabled', 'window', 'ratio', 'percentiles', 'min_count', 'baseline', 'baseline_file'] as const;
const ERROR_KEYS = ['enabled', 'top', 'max_groups', 'max_message_length'] as const;
const HEALTH_KEYS = ['enabled', 'error_rate_window'] as const;
const WINDOWS: readonly WindowName[] = ['1m', '5m', '15m', '1h'];

export function trendsSection(value: unknown, path: ConfigPath, issues: Issues, _env: NodeJS.ProcessEnv): TrendsConfig {
  const m = mapping(value, path, issues, TRENDS_KEYS);
  const rPath = [...path, 'regression'];
  const r = mapping(m.regression, rPath, issues, REGRESSION_KEYS);
  const ePath = [...path, 'error_analysis'];
  const e = mapping(m.error_analysis, ePath, issues, ERROR_KEYS);
  const hPath = [...path, 'health'];
  const h = mapping(m.health, hPath, issues, HEALTH_KEYS);
  const enabled = boolean(m, 'enabled', path, issues, true);
  const baseline = string(r, 'baseline', rPath, issues, { oneOf: ['previous_hour', 'file'] }, 'previous_hour') as RegressionConfig['baseline'];
  const baselineFile = string(r, 'baseline_file', rPath, issues, { nonEmpty: true });
  let baselineEntries: BaselineEntry[] | undefined;
  if (baseline === 'file' && baselineFile === undefined && r.baseline_file === undefined) {
    issues.add([...rPath, 'baseline_file'], 'is required when baseline is file');
  } else if (baseline !== 'file' && baselineFile !== undefined) {
    issues.add([...rPath, 'baseline_file'], 'only applies with baseline: file');
  } else if (baselineFile !== undefined && enabled) {
    // with trends off nothing reads it: a missing file must not stop the process
    const read = readBaselineFile(baselineFile);
    if ('problem' in read) issues.add([...rPath, 'baseline_file'], read.problem);
    else baselineEntries = read.entries;
  }
  const pPath = [...rPath, 'percentiles'];
  const seen = new Set<string>();
  const percentiles = stringList(r.percentiles, pPath, issues, (s) => {
    if (s !== 'p50' && s !== 'p99') return `must be p50 or p99, got ${JSON.stringify(s)}`;
    if (seen.has(s)) return `${s} is listed twice`;
    seen.add(s);
    return undefined;
  });
  if (Array.isArray(r.percentiles) && r.percentiles.length === 0) issues.add(pPath, 'must list p99, p50 or both (to flag nothing, set regression.enabled: false)');
  return {
    enabled,
    regression: {
      enabled: boolean(r, 'enabled', rPath, issues, true),
      window: string(r, 'window', rPath, issues, { oneOf: WINDOWS }, '15m') as WindowName,
      // a multiple: 150 (meant as 150%) would never flag anything
      ratio: number(r, 'ratio', rPath, issues, { above: 1, max: 100 }, 1.5),
      percentiles: (r.percentiles === undefined || r.percentiles === null ? ['p99', 'p50'] : percentiles) as ('p50' | 'p99')[],
      minCount: number(r, 'min_count', rPath, issues, { integer: true, min: 1 }, 20),
      baseline,
      baselineFile,
      baselineEntries,
    },
    errorAnalysis: {
      enabled: boolean(e, 'enabled', ePath, issues, true),
      top: number(e, 'top', ePath, issues, { integer: true, min: 1, max: 1000 }, 5),
      maxGroups: number(e, 'max_groups', ePath, issues, { integer: true, min: 1, max: 1_000_000 }, 1000),
      maxMessageLength: number(e, 'max_message_length', ePath, issues, { integer: true, min: 1, max: 100_000 }, 200),
    },
    health: {
      enabled: boolean(h, 'enabled', hPath, issues, true),
      errorRateWindow: string(h, 'error_rate_window', hPath, issues, { oneOf: WINDOWS }, '5m') as WindowName,
    },
  };
}
