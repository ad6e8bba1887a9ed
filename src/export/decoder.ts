import { ByteReader } from './byte-reader';
import {
  SPAN_HAS_PARENT,
  SPAN_HAS_TRACE_STATE,
  SPAN_PARENT_REMOTE,
  VAL_ARRAY,
  VAL_FALSE,
  VAL_NULL,
  VAL_NUMBER,
  VAL_STRING,
  VAL_TRUE,
  readBatchHeader,
} from './wire';

/** An attribute value as the OTel API allows it. */
export type AttrValue = string | number | boolean | null | (string | number | boolean | null)[];

export interface DecodedAttr {
  key: string;
  value: AttrValue;
}

export interface DecodedResource {
  attributes: DecodedAttr[];
  droppedAttributesCount: number;
  schemaUrl: string | undefined;
  /** `service.name`, or undefined. */
  serviceName: string | undefined;
}

export interface DecodedScope {
  name: string;
  version: string | undefined;
  schemaUrl: string | undefined;
}

export interface DecodedEvent {
  name: string;
  sec: number;
  ns: number;
  attributes: DecodedAttr[];
  droppedAttributesCount: number;
}

export interface DecodedLink {
  /** Offsets of the 16 trace-id and 8 span-id bytes in the batch. */
  traceIdAt: number;
  spanIdAt: number;
  traceFlags: number;
  isRemote: boolean;
  traceState: string | undefined;
  attributes: DecodedAttr[];
  droppedAttributesCount: number;
}

/**
 * One span of a batch. Ids are not copied: `traceIdAt`, `spanIdAt` and
 * `parentIdAt` (-1 when absent) are offsets into `DecodedBatch.bytes`.
 */
export interface DecodedSpan {
  resource: DecodedResource | undefined;
  scope: DecodedScope | undefined;
  traceIdAt: number;
  spanIdAt: number;
  parentIdAt: number;
  parentIsRemote: boolean;
  traceFlags: number;
  traceState: string | undefined;
  name: string;
  /** The OTel API SpanKind (0 internal … 4 consumer). */
  kind: number;
  startSec: number;
  startNs: number;
  endSec: number;
  endNs: number;
  statusCode: number;
  statusMessage: string | undefined;
  attributes: DecodedAttr[];
  droppedAttributesCount: number;
  events: DecodedEvent[];
  droppedEventsCount: number;
  links: DecodedLink[];
  droppedLinksCount: number;
}

export interface DecodedBatch {
  bytes: Uint8Array;
  createdMs: number;
  spans: DecodedSpan[];
}

const utf8 = new TextDecoder('utf-8');

/**
 * Reads a batch written by `SpanEncoder`. Throws an Error whose message starts
 * with `spanmeter: bad batch:` when the bytes are not a well-formed batch.
 */
export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  const header = readBatchHeader(bytes);
  if (header === undefined) throw new Error('spanmeter: bad batch: wrong magic or version');
  const reader = new Reader(bytes);
  const spans: DecodedSpan[] = new Array(header.spanCount);
  try {
    for (let i = 0; i < header.spanCount; i++) spans[i] = reader.span();
  } catch (error) {
    throw new Error(`spanmeter: bad batch: ${(error as Error).message} at byte ${reader.pos}`);
  }
  return { bytes, createdMs: header.createdMs, spans };
}

class Reader extends ByteReader {
  private readonly strings: string[] = [];
  private readonly resources: DecodedResource[] = [];
  private readonly scopes: DecodedScope[] = [];

  constructor(bytes: Uint8Array) {
    super(bytes);
  }

  span(): DecodedSpan {
    const resource = this.resource();
    const scope = this.scope();
    const traceIdAt = this.skip(16);
    const spanIdAt = this.skip(8);
    const flags = this.u8();
    const parentIdAt = (flags & SPAN_HAS_PARENT) !== 0 ? this.skip(8) : -1;
    const traceFlags = this.u8();
    const traceState = (flags & SPAN_HAS_TRACE_STATE) !== 0 ? this.str() : undefined;
    const name = this.str() ?? '';
    const kind = this.u8();
    const startSec = this.u32();
    const startNs = this.u32();
    const endSec = this.u32();
    const endNs = this.u32();
    const statusCode = this.u8();
    const statusMessage = this.str();
    const attributes = this.attrs();
    const droppedAttributesCount = this.varint();
    const eventCount = this.u16();
    const events: DecodedEvent[] = new Array(eventCount);
    for (let i = 0; i < eventCount; i++) {
      const eventName = this.str() ?? '';
      const sec = this.u32();
      const ns = this.u32();
      events[i] = { name: eventName, sec, ns, attributes: this.attrs(), droppedAttributesCount: this.varint() };
    }
    const droppedEventsCount = this.varint();
    const linkCount = this.u16();
    const links: DecodedLink[] = new Array(linkCount);
    for (let i = 0; i < linkCount; i++) {
      const linkTrace = this.skip(16);
      const linkSpan = this.skip(8);
      const linkFlags = this.u8();
      const isRemote = this.u8() === 1;
      const linkState = this.str();
      links[i] = { traceIdAt: linkTrace, spanIdAt: linkSpan, traceFlags: linkFlags, isRemote, traceState: linkState, attributes: this.attrs(), droppedAttributesCount: this.varint() };
    }
    const droppedLinksCount = this.varint();
    return {
      resource,
      scope,
      traceIdAt,
      spanIdAt,
      parentIdAt,
      parentIsRemote: (flags & SPAN_PARENT_REMOTE) !== 0,
      traceFlags,
      traceState,
      name,
      kind,
      startSec,
      startNs,
      endSec,
      endNs,
      statusCode,
      statusMessage,
      attributes,
      droppedAttributesCount,
      events,
      droppedEventsCount,
      links,
      droppedLinksCount,
    };
  }

  private resource(): DecodedResource | undefined {
    const ref = this.varint();
    if (ref === 0) return undefined;
    if (ref >= 2) return this.lookup(this.resources, ref - 2, 'resource');
    const attributes = this.attrs();
    const droppedAttributesCount = this.varint();
    const schemaUrl = this.str();
    const service = attributes.find((a) => a.key === 'service.name')?.value;
    const resource: DecodedResource = { attributes, droppedAttributesCount, schemaUrl, serviceName: typeof service === 'string' ? service : undefined };
    this.resources.push(resource);
    return resource;
  }

  private scope(): DecodedScope | undefined {
    const ref = this.varint();
    if (ref === 0) return undefined;
    if (ref >= 2) return this.lookup(this.scopes, ref - 2, 'scope');
    const scope: DecodedScope = { name: this.str() ?? '', version: this.str(), schemaUrl: this.str() };
    this.scopes.push(scope);
    return scope;
  }

  private lookup<T>(table: T[], index: number, what: string): T {
    const item = table[index];
    if (item === undefined) throw new Error(`unknown ${what} ${index}`);
    return item;
  }

  private attrs(): DecodedAttr[] {
    const count = this.u16();
    const out: DecodedAttr[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const key = this.str() ?? '';
      out[i] = { key, value: this.value(true) };
    }
    return out;
  }

  private value(nested: boolean): AttrValue {
    const tag = this.u8();
    switch (tag) {
      case VAL_NULL:
        return null;
      case VAL_STRING:
        return this.str() ?? '';
      case VAL_NUMBER:
        return this.f64();
      case VAL_TRUE:
        return true;
      case VAL_FALSE:
        return false;
      case VAL_ARRAY: {
        if (!nested) throw new Error('nested array');
        const n = this.u16();
        const out: (string | number | boolean | null)[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(false) as string | number | boolean | null;
        return out;
      }
      default:
        throw new Error(`unknown value tag ${tag}`);
    }
  }

  private str(): string | undefined {
    const v = this.varint();
    if (v === 0) return undefined;
    if (v % 2 === 0) return this.lookup(this.strings, v / 2 - 1, 'string');
    const len = (v - 1) / 2;
    this.need(len);
    const b = this.b;
    let s: string;
    if (len <= 32) {
      s = '';
      let ascii = true;
      for (let i = 0; i < len; i++) {
        const c = b[this.pos + i];
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        s += String.fromCharCode(c);
      }
      if (!ascii) s = utf8.decode(b.subarray(this.pos, this.pos + len));
    } else {
      s = utf8.decode(b.subarray(this.pos, this.pos + len));
    }
    this.pos += len;
    this.strings.push(s);
    return s;
  }
}
