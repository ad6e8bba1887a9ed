/**
 * The labels each configured alert gets, in one place: the catalog builds alerts from them,
 * and the loader refuses a configuration in which two alerts would get the same ones (one
 * fingerprint: their states and notifications would overwrite each other).
 */
import type { RuleConfig } from './alerting-section';
import type { SelectorConfig } from './slo-common';

/** The selector's service when it names one service (no glob), for a `service` label. */
export function literalService(selector: SelectorConfig): string | undefined {
  return /[*?]/.test(selector.service) ? undefined : selector.service;
}

/** Labels of an SLO's burn-rate tier alert, `alertname` aside. */
export function tierLabels(slo: { name: string; labels: Record<string, string>; selector: SelectorConfig }, tier: { name: string; severity: string }): Record<string, string> {
  const labels: Record<string, string> = { ...slo.labels, slo: slo.name, severity: tier.severity, tier: tier.name };
  const service = literalService(slo.selector);
  if (service !== undefined && labels.service === undefined) labels.service = service;
  return labels;
}

/** Labels of a rule's alert, `alertname` aside. */
export function ruleLabels(rule: RuleConfig): Record<string, string> {
  const labels: Record<string, string> = { ...rule.labels, severity: rule.severity };
  const service = literalService(rule.selector);
  if (service !== undefined && labels.service === undefined) labels.service = service;
  return labels;
}

/** A label set with its `alertname`, as one comparable string (what the fingerprint hashes). */
export function labelSetKey(alertname: string, labels: Record<string, string>): string {
  const all: Record<string, string> = { ...labels, alertname };
  return JSON.stringify(Object.keys(all).sort().map((k) => [k, all[k]]));
}
