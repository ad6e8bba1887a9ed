/**
 * Applies an evaluation's conditions to the alert states (on the event loop: one
 * O(1) step per alert, allocation only for transitions), suppresses slower
 * burn-rate tiers while a faster one of the same SLO fires, and keeps the history.
 */
import type { AlertEvent, AlertState } from '../report';
import type { AlertDefinition } from './catalog';
import { AlertHistory } from './history';
import { AlertStateTable, FIRING, PENDING, STATE_NAMES } from './state-machine';

export class AlertEngine {
  readonly table: AlertStateTable;
  readonly history: AlertHistory;
  /** Per SLO (group): whether a tier fired in this evaluation, for suppression. */
  private readonly groupFiring: Uint8Array;

  constructor(
    readonly alerts: readonly AlertDefinition[],
    historySize: number,
  ) {
    this.table = new AlertStateTable(alerts.length);
    this.history = new AlertHistory(historySize);
    const groups = alerts.reduce((n, a) => Math.max(n, a.group + 1), 0);
    this.groupFiring = new Uint8Array(groups);
  }

  /**
   * One evaluation: `active[i]` and `values[i]` per alert, in catalog order (an
   * SLO's tiers fastest first). Returns the transitions, oldest first.
   */
  apply(active: Uint8Array, values: Float64Array, nowMs: number): AlertEvent[] {
    const events: AlertEvent[] = [];
    this.groupFiring.fill(0);
    const table = this.table;
    for (let i = 0; i < this.alerts.length; i++) {
      const alert = this.alerts[i];
      const suppressed = alert.group >= 0 && this.groupFiring[alert.group] === 1;
      const from = table.state[i];
      // a suppressed tier resolves at once: keep_firing_for would leave two tiers of one SLO firing
      const transition = table.step(i, active[i] === 1 && !suppressed, values[i], nowMs, alert.forMs, suppressed ? 0 : alert.keepFiringForMs);
      if (alert.group >= 0 && table.state[i] === FIRING) this.groupFiring[alert.group] = 1;
      if (transition === undefined) continue;
      const event: AlertEvent = {
        alertname: alert.alertname,
        labels: alert.labels as Record<string, string>,
        annotations: alert.annotations as Record<string, string>,
        fingerprint: alert.fingerprint,
        from: STATE_NAMES[from],
        to: transition,
        at: new Date(nowMs).toISOString(),
        value: values[i],
        valueUnit: alert.valueUnit,
        severity: alert.severity,
        source: alert.source,
      };
      if (transition === 'firing' || transition === 'resolved') event.startsAt = new Date(table.firedAt[i]).toISOString();
      if (transition === 'resolved') event.endsAt = event.at;
      // one object for the history and every notifier: read-only, like its labels
      Object.freeze(event);
      this.history.push(event);
      events.push(event);
    }
    return events;
  }

  /** Alerts in a state, as report entries. */
  inState(state: typeof PENDING | typeof FIRING): AlertState[] {
    const out: AlertState[] = [];
    const table = this.table;
    for (let i = 0; i < this.alerts.length; i++) {
      if (table.state[i] !== state) continue;
      const alert = this.alerts[i];
      out.push({
        alertname: alert.alertname,
        // copies: a report is its reader's to edit
        labels: { ...alert.labels },
        annotations: { ...alert.annotations },
        fingerprint: alert.fingerprint,
        state: state === FIRING ? 'firing' : 'pending',
        source: alert.source,
        value: table.value[i],
        valueUnit: alert.valueUnit,
        activeAt: new Date(table.activeAt[i]).toISOString(),
        ...(state === FIRING ? { firedAt: new Date(table.firedAt[i]).toISOString() } : {}),
        services: [...alert.services].sort(),
      });
    }
    return out;
  }
}
