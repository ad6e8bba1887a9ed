/**
 * The alerts a configuration defines: one per enabled burn-rate tier of every SLO
 * and one per rule. Their number is fixed at start, so alert state lives in typed
 * arrays indexed by `AlertDefinition.index`.
 */
import { alertFingerprint, sortedLabels } from './fingerprint';

export type AlertValueUnit = 'burn_rate' | 'ratio' | 'per_second' | 'count' | 'sum';

export interface AlertDefinition {
  readonly index: number;
  readonly alertname: string;
  /** Sorted by name. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly fingerprint: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly severity: string;
  readonly source: 'slo' | 'rule';
  /**
   * Burn-rate tiers of one SLO share a group (the SLO's index); a tier is held
   * inactive while a faster tier of its group fires. -1 for rules.
   */
  readonly group: number;
  /** What `value` measures. */
  readonly valueUnit: AlertValueUnit;
  /** Services whose spans fed this alert; filled in as series are seen. */
  readonly services: Set<string>;
}

/** Collects alert definitions in evaluation order. */
export class AlertCatalog {
  readonly alerts: AlertDefinition[] = [];

  add(spec: Omit<AlertDefinition, 'index' | 'fingerprint' | 'labels' | 'services'> & { labels: Record<string, string> }): AlertDefinition {
    // Frozen: every event, report and payload of the alert reads them, so an onAlert callback that
    // edits them fails (counted) instead of changing what everyone else sees.
    const labels = Object.freeze(sortedLabels({ ...spec.labels, alertname: spec.alertname }));
    // An explicit literal, not a spread: every definition gets one hidden class, and
    // the evaluation loop reads these fields for every alert.
    const alert: AlertDefinition = {
      index: this.alerts.length,
      alertname: spec.alertname,
      labels,
      annotations: Object.freeze({ ...spec.annotations }),
      fingerprint: alertFingerprint(labels),
      forMs: spec.forMs,
      keepFiringForMs: spec.keepFiringForMs,
      severity: spec.severity,
      source: spec.source,
      group: spec.group,
      valueUnit: spec.valueUnit,
      services: new Set(),
    };
    this.alerts.push(alert);
    return alert;
  }
}
