/**
 * Counting spans for SLOs and rules on the event loop.
 *
 * Which targets (SLOs and rules) a series feeds is decided once, when the series
 * is first seen. Per batch, a tight loop over the processor's typed arrays adds
 * (total, bad) into a small accumulator per target; the accumulators go into the
 * time-slice rings once per batch. Targets that need the span itself (attribute
 * selectors, attribute sums) are counted in `onSpanEnd`, and only for the series
 * they can match.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { durationUs } from '../span-duration';
import type { AlertDefinition } from '../alerts/catalog';
import { MAX_NAME_LENGTH, SPAN_KIND_NAMES, UNKNOWN_SERVICE, ownCopy, type SeriesKey } from '../series-table';
import { ringAdd, saturate, type RingLayout } from './counters';
import { attributesMatch, type CompiledSelector } from './selector';

/** Something spans are counted for: an SLO or a rule. */
export interface IngestTarget {
  selector: CompiledSelector;
  /** An error span counts as bad. */
  errorIsBad: boolean;
  /** A span slower than this many microseconds counts as bad; Infinity when latency does not matter. */
  slowUs: number;
  /** Attribute rules: spans count only with this attribute; `sum` adds its numeric value. */
  attribute: string | undefined;
  aggregate: 'count' | 'sum' | undefined;
  rings: RingLayout[];
  /** Alerts fed by this target (their `services` grow with the series seen). */
  alerts: AlertDefinition[];
  /** Services whose series this target matched. */
  services: Set<string>;
}

const ACC = 3; // total, bad, sum per target
const OVERFLOW_CACHE_LIMIT = 1024;
/** Services a target (and its alerts) names at most, from spans beyond maxOperations. */
const MAX_SERVICES_PER_TARGET = 1024;
const STATUS_ERROR = 2;

export class Ingest {
  private readonly acc: Float64Array;
  private readonly errorIsBad: Uint8Array;
  private readonly slowUs: Float64Array;
  private readonly perSpan: Uint8Array;
  /** Series id -> targets counted from batches. */
  private readonly batchTargets: (Int32Array | undefined)[] = [];
  /** Series id -> targets counted per span. */
  private readonly spanTargets: (Int32Array | undefined)[] = [];
  private readonly overflowTargets = new Map<string, Int32Array | null>();
  private lastNowMs = -Infinity;
  /** Attribute values that a `sum` rule could not add (not a finite number). */
  nonNumericValues = 0;

  constructor(
    private readonly targets: readonly IngestTarget[],
    private readonly data: Float64Array,
    private readonly overflowId: number,
  ) {
    const n = targets.length;
    this.acc = new Float64Array(n * ACC);
    this.errorIsBad = Uint8Array.from(targets, (t) => (t.errorIsBad ? 1 : 0));
    this.slowUs = Float64Array.from(targets, (t) => t.slowUs);
    this.perSpan = Uint8Array.from(targets, (t) => (t.selector.attributes.length > 0 || t.aggregate !== undefined ? 1 : 0));
  }

  /** Whether any SLO or rule counts spans at all. */
  get hasTargets(): boolean {
    return this.targets.length > 0;
  }

  /**
   * Adds `service` to the targets' and their alerts' services. Past the cap
   * (spans of ever new services, all beyond maxOperations) a set takes no
   * more: it names services in alerts and decides health, and must stay bounded.
   */
  private addServices(targets: Iterable<number>, service: string): void {
    for (const t of targets) {
      const target = this.targets[t];
      if (target.services.has(service) || target.services.size >= MAX_SERVICES_PER_TARGET) continue;
      const own = ownCopy(service);
      target.services.add(own);
      for (const alert of target.alerts) if (alert.services.size < MAX_SERVICES_PER_TARGET) alert.services.add(own);
    }
  }

  /** Decides once which targets a new series feeds. */
  onNewSeries(id: number, key: SeriesKey): void {
    const batch: number[] = [];
    const span: number[] = [];
    this.targets.forEach((target, t) => {
      if (!target.selector.matchesSeries(key)) return;
      (this.perSpan[t] === 1 ? span : batch).push(t);
      target.services.add(key.service);
      for (const alert of target.alerts) alert.services.add(key.service);
    });
    if (batch.length > 0) setDense(this.batchTargets, id, Int32Array.from(batch));
    if (span.length > 0) setDense(this.spanTargets, id, Int32Array.from(span));
  }

  /** Per batch: O(spans x matching targets), no allocation. */
  countBatch(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number): void {
    if (this.batchTargets.length === 0) return; // no series feeds any SLO or rule (yet)
    const acc = this.acc;
    const errorIsBad = this.errorIsBad;
    const slowUs = this.slowUs;
    const lists = this.batchTargets;
    for (let i = 0; i < len; i++) {
      const list = lists[seriesIds[i]];
      if (list === undefined) continue;
      const d = durationsUs[i];
      if (!(d >= 0) || d === Infinity) continue; // not recorded by the histograms either
      const error = flags[i] & 1;
      for (let j = 0; j < list.length; j++) {
        const t = list[j];
        const a = t * ACC;
        acc[a] += 1;
        acc[a + 1] += (error & errorIsBad[t]) | (d > slowUs[t] ? 1 : 0);
      }
    }
  }

  /** Per span, for targets that read attributes, and for every target on overflow spans. */
  countSpan(span: ReadableSpan, seriesId: number): void {
    const list = seriesId === this.overflowId ? this.overflowList(span) : this.spanTargets[seriesId];
    if (list === undefined || list === null) return;
    const d = durationUs(span.duration);
    if (!(d >= 0) || d === Infinity) return; // as in countBatch
    const attributes = span.attributes as Record<string, unknown> | undefined;
    const error = span.status?.code === STATUS_ERROR ? 1 : 0;
    for (let j = 0; j < list.length; j++) {
      const t = list[j];
      const target = this.targets[t];
      if (!attributesMatch(target.selector.attributes, attributes)) continue;
      let sum = 0;
      if (target.attribute !== undefined) {
        const value = attributes?.[target.attribute];
        if (value === undefined || value === null) continue;
        if (target.aggregate === 'sum') {
          if (typeof value !== 'number' || !Number.isFinite(value)) {
            this.nonNumericValues++;
            continue;
          }
          sum = value;
        }
      }
      const a = t * ACC;
      this.acc[a] += 1;
      this.acc[a + 1] += (error & this.errorIsBad[t]) | (d > this.slowUs[t] ? 1 : 0);
      this.acc[a + 2] = saturate(this.acc[a + 2] + sum);
    }
  }

  /** Moves the accumulated counts into the slices of `nowMs` (never backwards in time). */
  commit(nowMs: number): void {
    const now = nowMs > this.lastNowMs ? nowMs : this.lastNowMs;
    this.lastNowMs = now;
    const acc = this.acc;
    for (let t = 0; t < this.targets.length; t++) {
      const a = t * ACC;
      if (acc[a] === 0) continue;
      const rings = this.targets[t].rings;
      for (let r = 0; r < rings.length; r++) ringAdd(this.data, rings[r], now, acc[a], acc[a + 1], acc[a + 2]);
      acc[a] = 0;
      acc[a + 1] = 0;
      acc[a + 2] = 0;
    }
  }

  /**
   * Spans beyond the cardinality cap still count: their targets are matched per (service, name, kind), cached.
   * Service and name are truncated to MAX_NAME_LENGTH first, as the series table does, so that a span
   * matches the same selectors whether or not it overflowed, and a huge name costs neither memory in the
   * cache nor time in the glob match.
   */
  private overflowList(span: ReadableSpan): Int32Array | null {
    const service = serviceOf(span);
    const kind = SPAN_KIND_NAMES[span.kind] ?? 'internal';
    const name = nameOf(span);
    const cacheKey = `${service}\u0000${kind}\u0000${name}`;
    let list = this.overflowTargets.get(cacheKey);
    if (list === undefined) {
      const key: SeriesKey = { service, name, kind };
      const matched: number[] = [];
      this.targets.forEach((target, t) => {
        if (target.selector.matchesSeries(key)) matched.push(t);
      });
      // the services these spans feed, as a new series' do (onNewSeries): alerts and health name them
      if (matched.length > 0) this.addServices(matched, service);
      list = matched.length === 0 ? null : Int32Array.from(matched);
      if (this.overflowTargets.size >= OVERFLOW_CACHE_LIMIT) this.overflowTargets.clear();
      // A copy: a slice of a long name may keep the whole original string alive in V8.
      this.overflowTargets.set(ownCopy(cacheKey), list);
    }
    return list;
  }
}

/** Assigns without leaving holes, so that the array keeps fast elements for the hot-path lookups. */
function setDense<T>(list: (T | undefined)[], index: number, value: T): void {
  while (list.length < index) list.push(undefined);
  list[index] = value;
}

/** The span's `service.name` as the series table reads it: truncated to MAX_NAME_LENGTH. */
function serviceOf(span: ReadableSpan): string {
  try {
    const value = (span.resource as { attributes?: Record<string, unknown> } | undefined)?.attributes?.['service.name'];
    if (typeof value === 'string' && value.length > 0) return value.slice(0, MAX_NAME_LENGTH);
  } catch {
    // a resource whose attributes getter throws is treated as having none (as in the series table)
  }
  return UNKNOWN_SERVICE;
}

/** The span's name as the series table records it: truncated to MAX_NAME_LENGTH, non-strings converted. */
function nameOf(span: ReadableSpan): string {
  const raw: unknown = span.name;
  if (typeof raw === 'string') return raw.length > MAX_NAME_LENGTH ? raw.slice(0, MAX_NAME_LENGTH) : raw;
  try {
    return String(raw).slice(0, MAX_NAME_LENGTH);
  } catch {
    return '(invalid name)';
  }
}
