/**
 * Compiles the `slos:` section: counter rings per SLO, its windows, its burn-rate
 * tiers (as alerts) and the ingest target that counts its spans.
 */
import type { AlertCatalog } from '../alerts/catalog';
import type { BurnRateConfig } from '../config/alerting-section';
import { tierLabels } from '../config/alert-labels';
import { formatDuration } from '../config/schema';
import type { SloConfig } from '../config/slos-section';
import { burnRateThreshold } from './burn-rate';
import { COARSE_SLICE_MS, FINE_SLICE_MS, FINE_SPAN_MS, MEDIUM_SLICE_MS, MEDIUM_SPAN_MS, slicesFor, type RingArena } from './counters';
import type { IngestTarget } from './ingest';
import { BURN_WINDOWS, type PlanSlo, type PlanTier, type PlanWindow } from './plan';
import { compileSelector } from './selector';

/** Slots in an SLO's slice: tag, total, bad. */
export const SLO_STRIDE = 3;
const THREE_DAYS_MS = 259_200_000;

/** The three rings of an SLO: 10 s slices for one hour, 5 min for six hours, 1 h for the period (at least 3 days). */
export function sloRingSlots(periodMs: number): [number, number, number] {
  return [FINE_SPAN_MS / FINE_SLICE_MS, MEDIUM_SPAN_MS / MEDIUM_SLICE_MS, Math.ceil(Math.max(periodMs, THREE_DAYS_MS) / COARSE_SLICE_MS)];
}

/** Memory of one SLO's counters, in bytes. */
export function sloCounterBytes(periodMs: number): number {
  return sloRingSlots(periodMs).reduce((a, b) => a + b, 0) * SLO_STRIDE * 8;
}

export function compileSlos(
  slos: readonly SloConfig[],
  burnRate: BurnRateConfig,
  arena: RingArena,
  catalog: AlertCatalog,
): { plans: PlanSlo[]; targets: IngestTarget[] } {
  const plans: PlanSlo[] = [];
  const targets: IngestTarget[] = [];
  slos.forEach((slo, index) => {
    const slots = sloRingSlots(slo.timeWindowMs);
    const rings = [
      arena.allocate(slots[0], FINE_SLICE_MS, SLO_STRIDE),
      arena.allocate(slots[1], MEDIUM_SLICE_MS, SLO_STRIDE),
      arena.allocate(slots[2], COARSE_SLICE_MS, SLO_STRIDE),
    ];
    const windowMs: number[] = [...BURN_WINDOWS.map(([, ms]) => ms), slo.timeWindowMs];
    const windowIndex = (ms: number): number => {
      let i = windowMs.indexOf(ms);
      if (i < 0) i = windowMs.push(ms) - 1;
      return i;
    };
    const selector = compileSelector(slo.selector);
    const target = slo.objective / 100;
    const alertsOn = burnRate.enabled && slo.alerting.enabled;
    const tiers: PlanTier[] = [];
    const tierAlerts = [];
    if (alertsOn) {
      // Fastest tier first: suppression of slower tiers depends on this order.
      const enabled = burnRate.tiers.filter((t) => t.enabled && !slo.alerting.disabledTiers.includes(t.name)).sort((a, b) => a.longWindowMs - b.longWindowMs);
      for (const tier of enabled) {
        const factor = burnRateThreshold(tier.budgetConsumedPercent, slo.timeWindowMs, tier.longWindowMs);
        const labels = tierLabels(slo, tier);
        const alert = catalog.add({
          alertname: slo.alerting.name,
          labels,
          annotations: {
            summary: `SLO ${slo.name} is burning its error budget ${round(factor)}x too fast`,
            description:
              `${slo.name} (objective ${slo.objective}% over ${formatDuration(slo.timeWindowMs)}) burned budget faster than ${round(factor)}x over both ` +
              `${formatDuration(tier.longWindowMs)} and ${formatDuration(tier.shortWindowMs)}: at this rate ${tier.budgetConsumedPercent}% of the budget goes in ${formatDuration(tier.longWindowMs)}.`,
            ...slo.alerting.annotations,
          },
          forMs: slo.alerting.forMs ?? burnRate.forMs,
          keepFiringForMs: slo.alerting.keepFiringForMs ?? burnRate.keepFiringForMs,
          severity: tier.severity,
          source: 'slo',
          group: index,
          valueUnit: 'burn_rate',
        });
        tierAlerts.push(alert);
        tiers.push({
          alert: alert.index,
          name: tier.name,
          severity: tier.severity,
          budgetConsumedPercent: tier.budgetConsumedPercent,
          factor,
          longWindowMs: tier.longWindowMs,
          shortWindowMs: tier.shortWindowMs,
          long: windowIndex(tier.longWindowMs),
          short: windowIndex(tier.shortWindowMs),
          minEvents: slo.alerting.minEvents ?? burnRate.minEvents,
          minBadEvents: slo.alerting.minBadEvents ?? burnRate.minBadEvents,
        });
      }
    }
    const { windows, ringSlices } = placeWindows(windowMs, rings.map((r) => r.sliceMs));
    plans.push({
      name: slo.name,
      description: slo.description,
      service: selector.literalService ?? null,
      indicator: slo.indicator,
      latencyThresholdMs: slo.latencyThresholdMs ?? null,
      objective: slo.objective,
      target,
      periodMs: slo.timeWindowMs,
      atRiskBelow: slo.atRiskBelowPercent / 100,
      labels: slo.labels,
      rings,
      ringSlices,
      windows,
      tiers,
    });
    const latency = slo.indicator !== 'availability';
    targets.push({
      selector,
      errorIsBad: slo.indicator !== 'latency',
      slowUs: latency ? Math.round((slo.latencyThresholdMs ?? 0) * 1000 * 1000) / 1000 : Infinity,
      aggregate: undefined,
      attribute: undefined,
      rings,
      alerts: tierAlerts,
      services: new Set(),
    });
  });
  return { plans, targets };
}

/** Each window goes to the finest ring that covers it. */
function placeWindows(windowMs: readonly number[], sliceMs: readonly number[]): { windows: PlanWindow[]; ringSlices: number[][] } {
  const ringSlices: number[][] = sliceMs.map(() => []);
  const placed = windowMs.map((ms) => {
    const ring = ms <= FINE_SPAN_MS ? 0 : ms <= MEDIUM_SPAN_MS ? 1 : 2;
    const slices = slicesFor(ms, sliceMs[ring]);
    if (!ringSlices[ring].includes(slices)) ringSlices[ring].push(slices);
    return { ms, ring, slices };
  });
  for (const list of ringSlices) list.sort((a, b) => a - b);
  return { windows: placed.map(({ ms, ring, slices }) => ({ ms, ring, at: ringSlices[ring].indexOf(slices) })), ringSlices };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
