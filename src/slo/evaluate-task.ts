/**
 * The evaluation task, run on the piscina pool (export `evaluate` of
 * src/stats/worker.ts). It reads the counter rings from shared memory, computes
 * every SLO's windows and burn-rate tier conditions and every rule's condition,
 * and returns them as typed arrays; with `detail`, also the SLO statuses for a
 * report. When asked, it also summarizes a histogram snapshot into per-operation
 * window percentiles for the trends.
 */
import { performance } from 'node:perf_hooks';
import { evaluateRule } from '../alerts/rules';
import { loadBackend } from '../backend/load';
import type { SnapshotSource } from '../backend/snapshot-source';
import type { BackendKind } from '../backend/types';
import type { SloStatus } from '../report';
import { burnRate } from './burn-rate';
import { ringEstimate, ringSums, SUMS_STRIDE } from './counters';
import { readPlan, type Plan, type PlanSlo } from './plan';
import { sloStatus } from './status';

export interface EvaluateTask {
  /** Identifies the plan; each worker thread parses a plan once. */
  planId: string;
  /** The plan as JSON in shared memory. */
  plan: Uint8Array;
  /** The counter rings (shared memory). */
  counters: Float64Array;
  nowMs: number;
  /** How long the counters have been counting. */
  runningMs: number;
  /** Also build the SLO statuses of a report. */
  detail: boolean;
  /** A histogram-set snapshot to summarize for the trends. */
  trend?: { backend: BackendKind; snapshot: SnapshotSource };
}

export interface EvaluateResult {
  /** Per alert: 1 when its condition holds. */
  active: Uint8Array;
  /** Per alert: the measured value (burn rate, ratio, rate, count or sum). */
  values: Float64Array;
  slos?: SloStatus[];
  /** Per series: id, then for 1m, 5m, 15m, 1h: count, errors, p50 ms, p99 ms. */
  trend?: Float64Array;
  workerMs: number;
}

/** Numbers per series in `EvaluateResult.trend`. */
export const TREND_STRIDE = 17;

const plans = new Map<string, Plan>();
const PLAN_CACHE = 32;

function planOf(task: EvaluateTask): Plan {
  let plan = plans.get(task.planId);
  if (plan === undefined) {
    plan = readPlan(task.plan);
    if (plans.size >= PLAN_CACHE) plans.delete(plans.keys().next().value as string);
    plans.set(task.planId, plan);
  }
  return plan;
}

export function evaluate(task: EvaluateTask): EvaluateResult {
  const started = performance.now();
  const plan = planOf(task);
  const active = new Uint8Array(plan.alertCount);
  const values = new Float64Array(plan.alertCount);
  const slos: SloStatus[] | undefined = task.detail ? [] : undefined;
  for (const slo of plan.slos) {
    const read = sumSlo(slo, task.counters, task.nowMs);
    const tierActive = slo.tiers.map((tier) => {
      const long = read(tier.long);
      const short = read(tier.short);
      const longBurn = burnRate(long.bad, long.total, slo.target);
      const shortBurn = burnRate(short.bad, short.total, slo.target);
      values[tier.alert] = longBurn;
      const on = long.total > 0 && long.total >= tier.minEvents && long.bad >= tier.minBadEvents && longBurn > tier.factor && shortBurn > tier.factor;
      active[tier.alert] = on ? 1 : 0;
      return on;
    });
    slos?.push(sloStatus(slo, read, tierActive));
  }
  const out = new Float64Array(SUMS_STRIDE);
  for (const rule of plan.rules) {
    // ratios (latency, error rate) from whole slices, exact counts; rates, counts and sums scale with the window: estimated over exactly it
    if (rule.type === 'latency' || rule.type === 'error_rate') ringSums(task.counters, rule.ring, task.nowMs, [rule.slices], out, 0);
    else ringEstimate(task.counters, rule.ring, task.nowMs, rule.windowMs, task.nowMs - task.runningMs, out);
    const result = evaluateRule(rule, { total: out[0], bad: out[1], sum: out[2] }, task.runningMs);
    active[rule.alert] = result.active ? 1 : 0;
    values[rule.alert] = result.value;
  }
  const trend = task.trend === undefined ? undefined : summarizeTrend(task.trend.backend, task.trend.snapshot);
  return { active, values, slos, trend, workerMs: performance.now() - started };
}

/** Sums every window of an SLO; returns a reader of window `w`'s counts. */
function sumSlo(slo: PlanSlo, counters: Float64Array, nowMs: number): (w: number) => { total: number; bad: number } {
  const sums = new Float64Array(slo.ringSlices.reduce((n, list) => n + list.length, 0) * SUMS_STRIDE);
  const base: number[] = [];
  let at = 0;
  slo.rings.forEach((ring, r) => {
    base.push(at);
    ringSums(counters, ring, nowMs, slo.ringSlices[r], sums, at);
    at += slo.ringSlices[r].length * SUMS_STRIDE;
  });
  return (w) => {
    const window = slo.windows[w];
    const o = base[window.ring] + window.at * SUMS_STRIDE;
    return { total: sums[o], bad: sums[o + 1] };
  };
}

function summarizeTrend(kind: BackendKind, snapshot: SnapshotSource): Float64Array {
  const summaries = loadBackend(kind).summarize(snapshot, [], [50, 99], false);
  const out = new Float64Array(summaries.length * TREND_STRIDE);
  summaries.forEach((s, i) => {
    const o = i * TREND_STRIDE;
    out[o] = s.id;
    s.windows.forEach((w, k) => {
      out[o + 1 + k * 4] = w.count;
      out[o + 2 + k * 4] = w.errors;
      // capped at the series' max as the report does (src/stats/operations.ts):
      // a bucket's upper end read a steady 10 ms as 10.007, and an exact
      // doubling as 1.9986x, under a ratio of 2
      out[o + 3 + k * 4] = Math.min(w.percentilesUs[0], s.maxUs) / 1000;
      out[o + 4 + k * 4] = Math.min(w.percentilesUs[1], s.maxUs) / 1000;
    });
  });
  return out;
}
