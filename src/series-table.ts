import type { SpanKindName } from './report';

/** Span kinds in the order of `@opentelemetry/api`'s SpanKind enum. */
export const SPAN_KIND_NAMES: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];

/** Service name used when a span has no resource or no `service.name`. */
export const UNKNOWN_SERVICE = 'unknown_service';
/** The series that takes every span beyond `maxOperations`. */
export const OVERFLOW_NAME = '__overflow__';
/** The overflow series' id: the first a table hands out. */
export const OVERFLOW_ID = 0;
/** Span names longer than this are truncated when interned. */
export const MAX_NAME_LENGTH = 1024;

export interface SeriesKey {
  readonly service: string;
  readonly name: string;
  readonly kind: SpanKindName;
}

interface ServiceEntry {
  readonly service: string;
  /** span name -> series id per kind (-1 = not interned yet) */
  readonly byName: Map<unknown, Int32Array>;
}

/** What a resource gives its spans: their service's entry, and the repairs its `service.name` needed (counted for every span). */
interface ResourceEntry {
  readonly service: ServiceEntry;
  /** No resource, or no usable `service.name`: `unknown_service`. */
  readonly missingService: boolean;
  /** A `service.name` cut to MAX_NAME_LENGTH. */
  readonly truncatedService: boolean;
}

/** Counters of span fields that had to be repaired while interning. */
export interface InternAnomalies {
  missingResource: number;
  invalidKind: number;
  truncatedName: number;
  invalidName: number;
}

/**
 * Interns (service, span name, span kind) into dense series ids, with no string
 * building per span: the resource object is cached (spans of one provider share
 * it), then one Map lookup on the span name and one array read on the kind.
 */
export class SeriesTable {
  private readonly byResource = new WeakMap<object, ResourceEntry>();
  private readonly byService = new Map<string, ServiceEntry>();
  private readonly keys: SeriesKey[] = [];
  /** Spans without a resource object (null, a string): one entry for them all. */
  private noResource: ResourceEntry | undefined = undefined;
  private lastResource: unknown = undefined;
  private lastEntry: ResourceEntry | undefined = undefined;
  /** The entry of services first seen after the cap was reached: it never interns a name. */
  private readonly overflowService: ServiceEntry = { service: OVERFLOW_NAME, byName: new Map() };
  readonly overflowId: number;
  readonly anomalies: InternAnomalies = { missingResource: 0, invalidKind: 0, truncatedName: 0, invalidName: 0 };
  /** Called once for every new series, with its id (never for the overflow series). */
  onNewSeries: ((id: number, key: SeriesKey) => void) | undefined;

  constructor(readonly maxOperations: number) {
    this.overflowId = OVERFLOW_ID;
    this.keys.push({ service: OVERFLOW_NAME, name: OVERFLOW_NAME, kind: 'internal' });
  }

  /** Number of ids in use, the overflow series included. */
  get size(): number {
    return this.keys.length;
  }

  keyOf(id: number): SeriesKey | undefined {
    return this.keys[id];
  }

  /** All keys, indexed by id. */
  allKeys(): readonly SeriesKey[] {
    return this.keys;
  }

  /** The series id of a span; O(1) on the common path. */
  idFor(resource: unknown, name: unknown, kind: unknown): number {
    let resourceEntry = this.lastEntry;
    if (resource !== this.lastResource || resourceEntry === undefined) {
      resourceEntry = this.resourceEntry(resource);
      this.lastResource = resource;
      this.lastEntry = resourceEntry;
    }
    // every span of such a resource counts, not only the first of a run
    if (resourceEntry.missingService) this.anomalies.missingResource++;
    if (resourceEntry.truncatedService) this.anomalies.truncatedName++;
    const entry = resourceEntry.service;
    const perKind = entry.byName.get(name);
    // an integer from 0 to 4; anything else (2.5 too) is an invalid kind, counted
    const k = typeof kind === 'number' && (kind | 0) === kind && kind >= 0 && kind <= 4 ? kind : -1;
    if (perKind !== undefined && k >= 0) {
      const id = perKind[k];
      if (id >= 0) return id;
    }
    return this.intern(entry, name, k);
  }

  private resourceEntry(resource: unknown): ResourceEntry {
    if (resource === null || typeof resource !== 'object') {
      this.noResource ??= { service: this.entryForService(UNKNOWN_SERVICE), missingService: true, truncatedService: false };
      return this.noResource;
    }
    let entry = this.byResource.get(resource);
    if (entry === undefined) {
      const pending = asyncAttributesPending(resource);
      const service = pending ? settledServiceNameOf(resource) : serviceNameOf(resource);
      const truncatedService = service !== undefined && service.length > MAX_NAME_LENGTH;
      entry = {
        service: this.entryForService(service === undefined ? UNKNOWN_SERVICE : truncated(service)),
        missingService: service === undefined,
        truncatedService,
      };
      this.byResource.set(resource, entry);
      if (pending) this.readAgainWhenSettled(resource);
    }
    return entry;
  }

  /**
   * A resource with attributes still pending (an async resource detector, whose
   * `service.name` may be among them): its spans go under what is settled now,
   * and once the SDK's `waitForAsyncAttributes()` resolves (as
   * BatchSpanProcessor, this asks for it), the next span reads it again.
   */
  private readAgainWhenSettled(resource: object): void {
    const forget = (): void => {
      this.byResource.delete(resource);
      if (this.lastResource === resource) this.lastEntry = undefined;
    };
    try {
      const settled = (resource as { waitForAsyncAttributes?: () => unknown }).waitForAsyncAttributes?.();
      if (isPromiseLike(settled)) settled.then(forget, forget);
    } catch {
      // a resource that cannot wait keeps the service it has now
    }
  }

  /** The entry of `service`; once the cap is reached, a new service gets the shared entry whose names all go to the overflow series. */
  private entryForService(service: string): ServiceEntry {
    let entry = this.byService.get(service);
    if (entry === undefined) {
      // every service seen would be kept otherwise (one per tenant, say), beyond what maxOperations bounds
      if (this.keys.length > this.maxOperations) return this.overflowService;
      // kept for good: a copy of its own, not a slice of a larger string
      const own = ownCopy(service);
      entry = { service: own, byName: new Map() };
      this.byService.set(own, entry);
    }
    return entry;
  }

  /** The slow path: a name or kind seen for the first time, or a repaired one. */
  private intern(entry: ServiceEntry, rawName: unknown, k: number): number {
    let kindIndex = k;
    if (kindIndex < 0) {
      this.anomalies.invalidKind++;
      kindIndex = 0;
    }
    let name: string;
    if (typeof rawName !== 'string') {
      this.anomalies.invalidName++;
      name = safeString(rawName);
    } else if (rawName.length > MAX_NAME_LENGTH) {
      this.anomalies.truncatedName++;
      name = truncated(rawName);
    } else {
      name = rawName;
    }
    let perKind = entry.byName.get(name);
    if (perKind !== undefined && perKind[kindIndex] >= 0) return perKind[kindIndex];
    if (this.keys.length > this.maxOperations) return this.overflowId;
    // kept for good (in the map and in the series' key, also when the name is known
    // under another kind): a copy of its own, not a slice of some large string
    name = ownCopy(name);
    if (perKind === undefined) {
      perKind = new Int32Array(5).fill(-1);
      entry.byName.set(name, perKind);
    }
    const id = this.keys.length;
    perKind[kindIndex] = id;
    const key: SeriesKey = { service: entry.service, name, kind: SPAN_KIND_NAMES[kindIndex] };
    this.keys.push(key);
    this.onNewSeries?.(id, key);
    return id;
  }
}

/** Whether the resource (an SDK `Resource`) still waits for async attributes. */
function asyncAttributesPending(resource: object): boolean {
  try {
    return (resource as { asyncAttributesPending?: unknown }).asyncAttributesPending === true;
  } catch {
    return false;
  }
}

/**
 * `service.name` among a pending resource's settled attributes, read as the
 * SDK's `attributes` getter reads them (the first settled value set), without
 * that getter, which logs an error while attributes are pending.
 */
function settledServiceNameOf(resource: object): string | undefined {
  try {
    const raw = (resource as { getRawAttributes?: () => unknown }).getRawAttributes?.();
    if (!Array.isArray(raw)) return serviceNameOf(resource);
    for (const pair of raw) {
      if (!Array.isArray(pair) || pair[0] !== 'service.name') continue;
      const value: unknown = pair[1];
      if (value == null || isPromiseLike(value)) continue;
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    }
  } catch {
    // as a resource without attributes
  }
  return undefined;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** The resource's `service.name` (untruncated), or undefined when it has none usable. */
function serviceNameOf(resource: object): string | undefined {
  try {
    const attributes = (resource as { attributes?: Record<string, unknown> }).attributes;
    const value = attributes?.['service.name'];
    if (typeof value === 'string' && value.length > 0) return value;
  } catch {
    // a resource whose attributes getter throws is treated as having none
  }
  return undefined;
}

/** A string that shares no storage with `text`: in V8 a slice or concatenation may keep its whole parent alive. */
export function ownCopy(text: string): string {
  return text.length <= 12 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

/** `text` cut to MAX_NAME_LENGTH, as its own copy when cut (the interned name outlives the span). */
function truncated(text: string): string {
  return text.length > MAX_NAME_LENGTH ? ownCopy(text.slice(0, MAX_NAME_LENGTH)) : text;
}

function safeString(value: unknown): string {
  try {
    return truncated(String(value));
  } catch {
    return '(invalid name)';
  }
}
