/**
 * The top-level sections of the configuration and the validator of each. Every
 * section validator takes (value, path, issues, env), reports problems with key
 * paths, and returns the resolved section with defaults filled in.
 */
import { statsSection } from './stats-section';
import { alertingSection } from './alerting-section';
import { notifiersSection } from './notifiers-section';
import { slosSection } from './slos-section';
import { trendsSection } from './trends-section';
import { exportSection } from '../export/config';

export const SECTIONS = {
  stats: statsSection,
  // `alerting` before `slos`: the SLOs' tier references are checked against it (the loader validates in this order).
  alerting: alertingSection,
  slos: slosSection,
  notifiers: notifiersSection,
  trends: trendsSection,
  export: exportSection,
} as const;

/** A validated configuration, defaults filled in. */
export type SpanMeterConfig = { [K in keyof typeof SECTIONS]: ReturnType<(typeof SECTIONS)[K]> };
