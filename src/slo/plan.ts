/**
 * The evaluation plan: what the worker needs to evaluate SLOs and rules, as plain
 * data. It is built once, serialized into shared memory and cached by the worker
 * threads, so that an evaluation task carries only a clock reading.
 */
import type { AlertValueUnit } from '../alerts/catalog';
import type { RuleType } from '../config/alerting-section';
import type { IndicatorType } from '../config/slos-section';
import type { RingLayout } from './counters';

/** The burn-rate windows every SLO status reports. */
export const BURN_WINDOWS = [
  ['5m', 300_000],
  ['30m', 1_800_000],
  ['1h', 3_600_000],
  ['2h', 7_200_000],
  ['6h', 21_600_000],
  ['1d', 86_400_000],
  ['3d', 259_200_000],
] as const;
export type BurnWindowName = (typeof BURN_WINDOWS)[number][0];
/** Index of the SLO period in `PlanSlo.windows` (right after the burn windows). */
export const PERIOD_WINDOW = BURN_WINDOWS.length;
/** The burn rate time-to-exhaustion is projected from. */
export const EXHAUSTION_WINDOW = 2; // 1h

export interface PlanWindow {
  ms: number;
  /** Which of the SLO's rings serves it. */
  ring: number;
  /** Position in that ring's `ringSlices` list. */
  at: number;
}

export interface PlanTier {
  alert: number;
  name: string;
  severity: string;
  budgetConsumedPercent: number;
  factor: number;
  longWindowMs: number;
  shortWindowMs: number;
  /** Indices into `PlanSlo.windows`. */
  long: number;
  short: number;
  minEvents: number;
  minBadEvents: number;
}

export interface PlanSlo {
  name: string;
  description: string;
  service: string | null;
  indicator: IndicatorType;
  latencyThresholdMs: number | null;
  /** Percent. */
  objective: number;
  /** Ratio. */
  target: number;
  periodMs: number;
  /** Fraction of budget below which the SLO is at risk. */
  atRiskBelow: number;
  labels: Record<string, string>;
  rings: RingLayout[];
  /** Per ring, the ascending slice counts its windows need. */
  ringSlices: number[][];
  /** BURN_WINDOWS, then the period, then any other tier window. */
  windows: PlanWindow[];
  tiers: PlanTier[];
}

export interface PlanRule {
  alert: number;
  name: string;
  type: RuleType;
  ring: RingLayout;
  windowMs: number;
  slices: number;
  percentile: number;
  above: number | null;
  below: number | null;
  minEvents: number;
  aggregate: 'count' | 'sum';
  valueUnit: AlertValueUnit;
}

export interface Plan {
  slos: PlanSlo[];
  rules: PlanRule[];
  alertCount: number;
}

/** The plan as JSON bytes in shared memory: posting it to a worker copies nothing. */
export function sharePlan(plan: Plan): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(plan), 'utf8');
  const shared = new Uint8Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes.length) : new ArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared;
}

export function readPlan(shared: Uint8Array): Plan {
  return JSON.parse(Buffer.from(shared).toString('utf8')) as Plan;
}
