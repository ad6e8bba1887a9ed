/**
 * A health score per service, 0-100: 100 minus penalties, each listed as a reason.
 *
 * | reason | penalty |
 * | --- | --- |
 * | an SLO breached | 30 |
 * | an SLO at risk | 10 |
 * | a firing alert, severity page / critical | 25 |
 * | a firing alert, other severity | 10 |
 * | error rate r over the health window (>= 10 spans) | min(30, round(300 r)) |
 * | a latency regression | 5 each, at most 15 |
 *
 * healthy >= 90 > degraded >= 60 > unhealthy.
 */
import type { AlertState, HealthReason, OperationStats, OperationTrend, ServiceHealth, SloStatus, WindowName } from '../report';
import { OVERFLOW_NAME } from '../series-table';

export interface HealthInput {
  operations: readonly OperationStats[];
  slos: readonly SloStatus[];
  /** Services each SLO's spans came from (same order as `slos`). */
  sloServices: readonly (readonly string[])[];
  firing: readonly AlertState[];
  trends: readonly OperationTrend[];
  window: WindowName;
}

const PAGE_SEVERITIES = new Set(['page', 'critical']);
const MIN_SPANS_FOR_ERROR_RATE = 10;
/** Reasons of equal penalty are listed in this order. */
const KIND_ORDER: readonly HealthReason['kind'][] = ['slo_breached', 'slo_at_risk', 'alert_firing', 'error_rate', 'latency_regression'];

export function computeHealth(input: HealthInput): ServiceHealth[] {
  const reasons = new Map<string, HealthReason[]>();
  const listOf = (service: string): HealthReason[] => {
    let list = reasons.get(service);
    if (list === undefined) reasons.set(service, (list = []));
    return list;
  };
  const add = (service: string, reason: HealthReason): void => {
    if (reason.penalty > 0) listOf(service).push(reason);
  };
  const traffic = new Map<string, { count: number; errors: number }>();
  for (const op of input.operations) {
    if (op.service === OVERFLOW_NAME) continue;
    listOf(op.service); // every service gets a score, 100 without reasons
    const w = op.windows?.[input.window];
    if (w === undefined) continue;
    const t = traffic.get(op.service) ?? { count: 0, errors: 0 };
    t.count += w.count;
    t.errors += w.errors;
    traffic.set(op.service, t);
  }
  for (const [service, t] of traffic) {
    if (t.count < MIN_SPANS_FOR_ERROR_RATE || t.errors === 0) continue;
    const rate = t.errors / t.count;
    add(service, { kind: 'error_rate', subject: input.window, penalty: Math.min(30, Math.round(300 * rate)), detail: `${percent(rate)} of ${t.count} spans failed over ${input.window}` });
  }
  input.slos.forEach((slo, i) => {
    const services = slo.service !== null ? [slo.service] : input.sloServices[i] ?? [];
    for (const service of services) {
      if (slo.compliance === 'breached') add(service, { kind: 'slo_breached', subject: slo.name, penalty: 30, detail: `SLI ${percent(slo.sli ?? 0)} below objective ${slo.objective}%` });
      else if (slo.compliance === 'at_risk') add(service, { kind: 'slo_at_risk', subject: slo.name, penalty: 10, detail: `${percent(Math.max(0, slo.errorBudget.remainingFraction))} of the error budget left` });
    }
  });
  for (const alert of input.firing) {
    const severity = alert.labels.severity ?? '';
    for (const service of alert.services) {
      add(service, { kind: 'alert_firing', subject: alert.alertname, penalty: PAGE_SEVERITIES.has(severity) ? 25 : 10, detail: `${alert.alertname} (${severity || 'no severity'}) firing since ${alert.firedAt}` });
    }
  }
  const regressionPenalty = new Map<string, number>();
  for (const trend of input.trends) {
    if (!trend.regression) continue;
    const used = regressionPenalty.get(trend.service) ?? 0;
    const penalty = Math.min(5, 15 - used);
    regressionPenalty.set(trend.service, used + penalty);
    const r = trend.regressions[0];
    add(trend.service, { kind: 'latency_regression', subject: trend.name, penalty, detail: `${r.percentile} over ${r.window} is ${r.ratio.toFixed(2)}x its baseline (${r.current} ms vs ${r.baseline} ms)` });
  }
  const out: ServiceHealth[] = [];
  for (const [service, list] of reasons) {
    list.sort((a, b) => b.penalty - a.penalty || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
    const score = Math.max(0, 100 - list.reduce((n, r) => n + r.penalty, 0));
    out.push({ service, score, status: score >= 90 ? 'healthy' : score >= 60 ? 'degraded' : 'unhealthy', reasons: list });
  }
  out.sort((a, b) => a.score - b.score || a.service.localeCompare(b.service));
  return out;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 10000) / 100}%`;
}
