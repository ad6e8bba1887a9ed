/**
 * The top-level sections of the configuration and the validator of each. Every
 * section validator takes (value, path, issues, env), reports problems with key
 * paths, and returns the resolved section with defaults filled in.
 */
import { statsSection } from './stats-section';
import { exportSection } from '../export/config';

export const SECTIONS = {
  stats: statsSection,
  // slos, alerting, notifiers, trends: src/slo (issue 3)
  export: exportSection,
} as const;

/** A validated configuration, defaults filled in. */
export type SpanMeterConfig = { [K in keyof typeof SECTIONS]: ReturnType<(typeof SECTIONS)[K]> };
