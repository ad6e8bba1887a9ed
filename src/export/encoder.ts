import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  BATCH_VERSION,
  HEX_PAIR,
  SPAN_HAS_PARENT,
  SPAN_HAS_TRACE_STATE,
  SPAN_PARENT_REMOTE,
  VAL_ARRAY,
  VAL_FALSE,
  VAL_NULL,
  VAL_NUMBER,
  VAL_STRING,
  VAL_TRUE,
} from './wire';

/** Strings longer than this are written inline and not interned. */
const MAX_INTERNED_LENGTH = 256;
/** Distinct strings remembered across batches before the table starts over. */
const MAX_SLOTS = 8192;
/** Span attributes whose position gets a one-entry cache (key and value). */
const POSITIONS = 64;

/** Thrown (and caught inside `add`) when a span does not fit into the buffer. */
const FULL = { full: true };

/** What `add` did with a span. */
export const ADDED = 0;
/** The span did not fit behind the spans already in the batch: take the batch and add it again. */
export const BATCH_FULL = 1;
/** The span alone is larger than the biggest batch: it cannot be exported. */
export const SPAN_TOO_LARGE = 2;
/** The span could not be read (a throwing getter, a malformed field). */
export const SPAN_INVALID = 3;
export type AddResult = typeof ADDED | typeof BATCH_FULL | typeof SPAN_TOO_LARGE | typeof SPAN_INVALID;

interface ParentLike {
  spanId?: string;
  isRemote?: boolean;
}

/**
 * Encodes ended spans, one pass each, into the binary batch form of `wire.ts`.
 * Strings that repeat within a batch (span names, attribute keys and short
 * values), resources and scopes are written once per batch. Nothing per span is
 * allocated beyond what V8 does for the Map look-ups.
 */
export class SpanEncoder {
  private buf: Buffer;
  private view: DataView;
  private pos = BATCH_HEADER_BYTES;
  private limit: number;
  private spanCount = 0;
  /**
   * Interning without clearing a Map per batch: a string keeps its slot across
   * batches; the slot holds the string's id and the batch generation it was
   * defined in, so a string from an earlier batch is simply defined again.
   */
  private readonly slots = new Map<string, number>();
  private slotGen = new Uint32Array(1024);
  private slotId = new Int32Array(1024);
  private gen = 1;
  private nextString = 0;
  /**
   * One-entry caches per span-attribute position: spans of one instrumentation
   * repeat their keys (and often values) in the same order, so most look-ups are
   * one identity comparison instead of a Map probe.
   */
  private readonly keyAt: (string | undefined)[] = new Array(POSITIONS).fill(undefined);
  private readonly keyGen = new Uint32Array(POSITIONS);
  private readonly keyId = new Int32Array(POSITIONS);
  private readonly valueAt: (string | undefined)[] = new Array(POSITIONS).fill(undefined);
  private readonly valueGen = new Uint32Array(POSITIONS);
  private readonly valueId = new Int32Array(POSITIONS);
  private readonly resources = new Map<unknown, number>();
  private readonly scopes = new Map<unknown, number>();
  private nextResource = 0;
  private nextScope = 0;
  private lastResource: unknown = undefined;
  private lastResourceId = -1;
  private lastScope: unknown = undefined;
  private lastScopeId = -1;
  /** Where the last trace id and parent id were written in this batch (-1: not in this batch). */
  private lastTraceId: string | undefined = undefined;
  private lastTraceAt = -1;
  private lastParentId: string | undefined = undefined;
  private lastParentAt = -1;

  /**
   * @param capacity the most bytes one batch can take (header included)
   * @param maxSpanBytes a span that takes more than this is not encoded
   */
  constructor(
    readonly capacity: number,
    readonly maxSpanBytes: number = capacity,
  ) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.limit = capacity;
  }

  /** Spans in the open batch. */
  get spans(): number {
    return this.spanCount;
  }

  /** Bytes of the open batch, header included. */
  get bytes(): number {
    return this.pos;
  }

  /** Appends one span to the open batch. Never throws. */
  add(span: ReadableSpan): AddResult {
    const start = this.pos;
    const savedString = this.nextString;
    const savedResources = this.nextResource;
    const savedScopes = this.nextScope;
    try {
      this.writeSpan(span);
      if (this.pos - start > this.maxSpanBytes) {
        this.pos = start;
        this.rollback(savedString, savedResources, savedScopes);
        return SPAN_TOO_LARGE;
      }
      this.spanCount++;
      return ADDED;
    } catch (error) {
      this.pos = start;
      if (error === FULL) {
        if (this.spanCount > 0) return BATCH_FULL;
        this.reset();
        return SPAN_TOO_LARGE;
      }
      this.rollback(savedString, savedResources, savedScopes);
      return SPAN_INVALID;
    }
  }

  /**
   * Forgets what a failed span defined: its bytes are gone, so the ids it took
   * are free again, and whatever this batch defined before is defined anew when
   * used next (a new generation; the format allows a string to be defined twice).
   */
  private rollback(savedString: number, savedResources: number, savedScopes: number): void {
    this.nextString = savedString;
    this.nextResource = savedResources;
    this.nextScope = savedScopes;
    this.gen++;
    this.resources.clear();
    this.scopes.clear();
    this.lastResourceId = -1;
    this.lastScopeId = -1;
    this.lastTraceAt = -1;
    this.lastParentAt = -1;
  }

  /**
   * Closes the open batch and returns its bytes in a new ArrayBuffer of exactly
   * that size (to be transferred to the worker); undefined when it is empty.
   */
  take(nowMs: number): ArrayBuffer | undefined {
    if (this.spanCount === 0) return undefined;
    const view = this.view;
    view.setUint32(0, BATCH_MAGIC, true);
    view.setUint8(4, BATCH_VERSION);
    view.setUint8(5, 0);
    view.setUint16(6, 0, true);
    view.setUint32(8, this.spanCount, true);
    view.setUint32(12, 0, true);
    view.setFloat64(16, nowMs, true);
    // allocUnsafeSlow: an ArrayBuffer of its own, not zero-filled (we overwrite it all).
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.reset();
    return out.buffer as ArrayBuffer;
  }

  private reset(): void {
    this.pos = BATCH_HEADER_BYTES;
    this.spanCount = 0;
    this.lastTraceAt = -1;
    this.lastParentAt = -1;
    this.resetInterning();
  }

  private resetInterning(): void {
    this.gen++;
    this.nextString = 0;
    this.resources.clear();
    this.scopes.clear();
    this.nextResource = 0;
    this.nextScope = 0;
    this.lastResource = undefined;
    this.lastResourceId = -1;
    this.lastScope = undefined;
    this.lastScopeId = -1;
  }

  private writeSpan(span: ReadableSpan): void {
    this.writeResource(span.resource);
    this.writeScope(span.instrumentationScope);
    const ctx = span.spanContext();
    this.ensure(64);
    // Spans of one trace share the trace id string: copy the bytes written last time.
    const traceId = ctx.traceId;
    if (traceId === this.lastTraceId && this.lastTraceAt >= 0) {
      this.buf.copyWithin(this.pos, this.lastTraceAt, this.lastTraceAt + 16);
      this.pos += 16;
    } else {
      this.lastTraceAt = this.pos;
      this.lastTraceId = traceId;
      this.hex(traceId, 16);
    }
    this.hex(ctx.spanId, 8);
    const parent = (span.parentSpanContext ?? undefined) as ParentLike | undefined;
    const parentId = parent?.spanId ?? (span as unknown as { parentSpanId?: string }).parentSpanId;
    // A trace state that cannot serialize is left out, as a missing one.
    const rawTraceState = ctx.traceState;
    const traceState = rawTraceState != null && typeof rawTraceState.serialize === 'function' ? rawTraceState : undefined;
    let flags = 0;
    if (typeof parentId === 'string' && parentId.length === 16) flags |= SPAN_HAS_PARENT;
    if (parent?.isRemote === true) flags |= SPAN_PARENT_REMOTE;
    if (traceState !== undefined) flags |= SPAN_HAS_TRACE_STATE;
    this.buf[this.pos++] = flags;
    if ((flags & SPAN_HAS_PARENT) !== 0) {
      // Siblings share their parent's id string.
      if (parentId === this.lastParentId && this.lastParentAt >= 0) {
        this.buf.copyWithin(this.pos, this.lastParentAt, this.lastParentAt + 8);
        this.pos += 8;
      } else {
        this.lastParentAt = this.pos;
        this.lastParentId = parentId;
        this.hex(parentId as string, 8);
      }
    }
    this.buf[this.pos++] = ctx.traceFlags & 0xff;
    if (traceState !== undefined) this.str(traceState.serialize());
    this.str(span.name);
    this.ensure(24);
    this.buf[this.pos++] = span.kind & 0xff;
    this.time(span.startTime);
    this.time(span.endTime);
    // A missing status is UNSET.
    const status = span.status;
    const message = status != null ? status.message : undefined;
    this.buf[this.pos++] = (status != null ? status.code : 0) & 0xff;
    this.str(message === '' || message == null ? undefined : message);
    this.spanAttrs(span.attributes);
    this.count32(span.droppedAttributesCount);
    // Events and links that are not objects are skipped (their counts are written after them).
    const events = span.events;
    const eventCount = events != null ? Math.min(events.length | 0, 0xffff) : 0;
    this.ensure(8);
    let countAt = this.pos;
    let written = 0;
    this.pos += 2;
    for (let i = 0; i < eventCount; i++) {
      const event = events[i];
      if (event === null || typeof event !== 'object') continue;
      this.str(event.name);
      this.ensure(8);
      this.time(event.time);
      this.attrs(event.attributes);
      this.count32(event.droppedAttributesCount);
      written++;
    }
    this.view.setUint16(countAt, written, true);
    this.count32(span.droppedEventsCount);
    const links = span.links;
    const linkCount = links != null ? Math.min(links.length | 0, 0xffff) : 0;
    this.ensure(8);
    countAt = this.pos;
    written = 0;
    this.pos += 2;
    for (let i = 0; i < linkCount; i++) {
      const link = links[i];
      const lc = link != null && typeof link === 'object' ? link.context : undefined;
      if (lc === null || typeof lc !== 'object') continue;
      this.ensure(32);
      this.hex(lc.traceId, 16);
      this.hex(lc.spanId, 8);
      this.buf[this.pos++] = lc.traceFlags & 0xff;
      this.buf[this.pos++] = lc.isRemote === true ? 1 : 0;
      const linkState = lc.traceState;
      this.str(linkState != null && typeof linkState.serialize === 'function' ? linkState.serialize() : undefined);
      this.attrs(link.attributes);
      this.count32(link.droppedAttributesCount);
      written++;
    }
    this.view.setUint16(countAt, written, true);
    this.count32(span.droppedLinksCount);
  }

  private writeResource(resource: unknown): void {
    if (resource === this.lastResource && this.lastResourceId >= 0) {
      this.ensure(5);
      this.varint(this.lastResourceId + 2);
      return;
    }
    const id = this.ref(resource, this.resources, (r) => {
      const res = r as { attributes?: Record<string, unknown>; schemaUrl?: string };
      this.attrs(res.attributes);
      this.varint(0);
      this.str(typeof res.schemaUrl === 'string' && res.schemaUrl !== '' ? res.schemaUrl : undefined);
    });
    this.lastResource = resource;
    this.lastResourceId = id;
  }

  private writeScope(scope: unknown): void {
    if (scope === this.lastScope && this.lastScopeId >= 0) {
      this.ensure(5);
      this.varint(this.lastScopeId + 2);
      return;
    }
    const id = this.ref(scope, this.scopes, (sc) => {
      const s = sc as { name?: string; version?: string; schemaUrl?: string };
      this.str(typeof s.name === 'string' ? s.name : '');
      this.str(typeof s.version === 'string' && s.version !== '' ? s.version : undefined);
      this.str(typeof s.schemaUrl === 'string' && s.schemaUrl !== '' ? s.schemaUrl : undefined);
    });
    this.lastScope = scope;
    this.lastScopeId = id;
  }

  /** A resource or scope reference: 0 none, 1 + its definition the first time in a batch, id + 2 after. */
  private ref(object: unknown, table: Map<unknown, number>, define: (object: object) => void): number {
    this.ensure(5);
    if (object === null || typeof object !== 'object') {
      this.buf[this.pos++] = 0;
      return -1;
    }
    let id = table.get(object);
    if (id !== undefined) {
      this.varint(id + 2);
      return id;
    }
    id = table === this.resources ? this.nextResource++ : this.nextScope++;
    table.set(object, id);
    this.buf[this.pos++] = 1;
    define(object);
    return id;
  }

  private attrs(attributes: Record<string, unknown> | undefined): void {
    this.ensure(4);
    const countAt = this.pos;
    this.pos += 2;
    let count = 0;
    if (attributes !== undefined && attributes !== null) {
      for (const key in attributes) {
        const value = attributes[key];
        if (value === undefined) continue;
        if (count === 0xffff) break; // the count is a u16; the SDK's limits keep real spans far below
        this.str(key);
        this.value(value, true);
        count++;
      }
    }
    this.view.setUint16(countAt, count, true);
  }

  private value(value: unknown, nested: boolean): void {
    this.ensure(10);
    switch (typeof value) {
      case 'string':
        this.buf[this.pos++] = VAL_STRING;
        this.str(value);
        return;
      case 'number':
        this.buf[this.pos++] = VAL_NUMBER;
        this.view.setFloat64(this.pos, value, true);
        this.pos += 8;
        return;
      case 'boolean':
        this.buf[this.pos++] = value ? VAL_TRUE : VAL_FALSE;
        return;
      default:
        break;
    }
    if (nested && Array.isArray(value)) {
      this.buf[this.pos++] = VAL_ARRAY;
      const n = Math.min(value.length, 0xffff);
      this.view.setUint16(this.pos, n, true);
      this.pos += 2;
      for (let i = 0; i < n; i++) this.value(value[i], false);
      return;
    }
    this.buf[this.pos++] = VAL_NULL;
  }

  /** A string reference: interned, or defined inline. Returns the string's id (-1 when absent). */
  private str(s: string | undefined | null): number {
    if (s === undefined || s === null) {
      this.ensure(1);
      this.buf[this.pos++] = 0;
      return -1;
    }
    if (typeof s !== 'string') s = String(s);
    const len = s.length;
    if (len > MAX_INTERNED_LENGTH) {
      this.inline(s, len);
      return this.nextString++;
    }
    let slot = this.slots.get(s);
    if (slot !== undefined && this.slotGen[slot] === this.gen) {
      const id = this.slotId[slot];
      this.ensure(5);
      this.varint(id * 2 + 2);
      return id;
    }
    if (slot === undefined) slot = this.newSlot(s);
    const id = this.nextString++;
    this.slotGen[slot] = this.gen;
    this.slotId[slot] = id;
    this.inline(s, len);
    return id;
  }

  private newSlot(s: string): number {
    let slot = this.slots.size;
    if (slot >= MAX_SLOTS) {
      // Ids live in the slots only for the generation that set them: starting over is safe.
      this.slots.clear();
      slot = 0;
    }
    if (slot >= this.slotGen.length) {
      const gen = new Uint32Array(this.slotGen.length * 2);
      gen.set(this.slotGen);
      this.slotGen = gen;
      const id = new Int32Array(this.slotId.length * 2);
      id.set(this.slotId);
      this.slotId = id;
    }
    this.slots.set(s, slot);
    return slot;
  }

  /** Span attributes, with the per-position caches in front of the string table. */
  private spanAttrs(attributes: Record<string, unknown> | undefined): void {
    this.ensure(4);
    const countAt = this.pos;
    this.pos += 2;
    let count = 0;
    if (attributes !== undefined && attributes !== null) {
      const gen = this.gen;
      for (const key in attributes) {
        const value = attributes[key];
        if (value === undefined) continue;
        if (count === 0xffff) break; // as in attrs()
        const j = count++;
        if (j >= POSITIONS) {
          this.str(key);
          this.value(value, true);
          continue;
        }
        if (this.keyAt[j] === key && this.keyGen[j] === gen) {
          this.ensure(5);
          this.varint(this.keyId[j] * 2 + 2);
        } else {
          this.keyId[j] = this.str(key);
          this.keyAt[j] = key;
          this.keyGen[j] = gen;
        }
        if (typeof value === 'string') {
          this.ensure(6);
          this.buf[this.pos++] = VAL_STRING;
          if (this.valueAt[j] === value && this.valueGen[j] === gen) {
            this.varint(this.valueId[j] * 2 + 2);
          } else {
            // Values are mostly unique (paths, ids): defined inline, remembered here only.
            this.valueAt[j] = value;
            this.valueGen[j] = gen;
            this.valueId[j] = this.nextString++;
            this.inline(value, value.length);
          }
        } else {
          this.value(value, true);
        }
      }
    }
    this.view.setUint16(countAt, count, true);
  }

  private inline(s: string, len: number): void {
    this.ensure(len * 3 + 10);
    const buf = this.buf;
    const header = len * 2 + 1;
    const headerSize = varintSize(header);
    let p = this.pos + headerSize;
    let i = 0;
    if (len <= 48) {
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === len) {
        this.varint(header);
        this.pos = p;
        return;
      }
    }
    // Long or non-ASCII: let the native encoder write, then fix the length prefix.
    const reserve = varintSize(len * 6 + 1);
    const written = buf.write(s, this.pos + reserve, len * 3, 'utf8');
    const actual = written * 2 + 1;
    const size = varintSize(actual);
    if (size !== reserve) buf.copyWithin(this.pos + size, this.pos + reserve, this.pos + reserve + written);
    this.varint(actual);
    this.pos += written;
  }

  private hex(id: string, bytes: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (typeof id !== 'string' || id.length !== bytes * 2) {
      buf.fill(0, p, p + bytes);
    } else {
      for (let i = 0; i < bytes; i++) {
        buf[p + i] = HEX_PAIR[((id.charCodeAt(2 * i) & 0x7f) << 7) | (id.charCodeAt(2 * i + 1) & 0x7f)];
      }
    }
    p += bytes;
    this.pos = p;
  }

  private time(t: readonly number[] | undefined): void {
    let sec = 0;
    let ns = 0;
    if (t !== undefined && t !== null) {
      sec = t[0];
      ns = t[1];
    }
    const view = this.view;
    view.setUint32(this.pos, sec > 0 ? sec : 0, true);
    view.setUint32(this.pos + 4, ns > 0 ? ns : 0, true);
    this.pos += 8;
  }

  /** A count that the formats carry as uint32: anything else becomes 0, larger ones saturate. */
  private count32(value: unknown): void {
    this.varint(typeof value === 'number' && value > 0 ? Math.min(Math.floor(value), 0xffffffff) : 0);
  }

  private varint(value: number): void {
    let v = value > 0 ? value : 0;
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = v >= 0x80000000 ? Math.floor(v / 128) : v >>> 7;
    }
    buf[this.pos++] = v;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.limit) throw FULL;
  }
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}
