import type { AttrValue, DecodedAttr, DecodedSpan } from '../decoder';
import { toHex } from '../wire';
import { groupSpans } from './group';

/** A 64-bit nanosecond time as the decimal string OTLP/JSON uses. */
export function nanosString(sec: number, ns: number): string {
  if (sec <= 0) return String(ns);
  return `${sec}${String(ns).padStart(9, '0')}`;
}

/**
 * Encodes spans as an OTLP/JSON `ExportTraceServiceRequest` (the protobuf JSON
 * mapping with hex trace and span ids, as the OTLP specification requires).
 */
export function encodeOtlpJson(bytes: Uint8Array, spans: readonly DecodedSpan[]): string {
  const resourceSpans = groupSpans(spans).map((group) => ({
    resource: group.resource === undefined ? {} : { attributes: keyValues(group.resource.attributes), droppedAttributesCount: group.resource.droppedAttributesCount },
    scopeSpans: group.scopes.map((sg) => ({
      scope: sg.scope === undefined ? {} : { name: sg.scope.name, ...(sg.scope.version !== undefined ? { version: sg.scope.version } : {}) },
      spans: sg.spans.map((span) => jsonSpan(bytes, span)),
      ...(sg.scope?.schemaUrl !== undefined ? { schemaUrl: sg.scope.schemaUrl } : {}),
    })),
    ...(group.resource?.schemaUrl !== undefined ? { schemaUrl: group.resource.schemaUrl } : {}),
  }));
  return JSON.stringify({ resourceSpans });
}

function jsonSpan(bytes: Uint8Array, span: DecodedSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {
    traceId: toHex(bytes, span.traceIdAt, 16),
    spanId: toHex(bytes, span.spanIdAt, 8),
  };
  if (span.traceState !== undefined) out.traceState = span.traceState;
  if (span.parentIdAt >= 0) out.parentSpanId = toHex(bytes, span.parentIdAt, 8);
  out.flags = span.traceFlags | 0x100 | (span.parentIsRemote ? 0x200 : 0);
  out.name = span.name;
  out.kind = span.kind + 1;
  out.startTimeUnixNano = nanosString(span.startSec, span.startNs);
  out.endTimeUnixNano = nanosString(span.endSec, span.endNs);
  out.attributes = keyValues(span.attributes);
  out.droppedAttributesCount = span.droppedAttributesCount;
  out.events = span.events.map((e) => ({
    timeUnixNano: nanosString(e.sec, e.ns),
    name: e.name,
    attributes: keyValues(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  }));
  out.droppedEventsCount = span.droppedEventsCount;
  out.links = span.links.map((l) => ({
    traceId: toHex(bytes, l.traceIdAt, 16),
    spanId: toHex(bytes, l.spanIdAt, 8),
    ...(l.traceState !== undefined ? { traceState: l.traceState } : {}),
    attributes: keyValues(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
    flags: l.traceFlags | 0x100 | (l.isRemote ? 0x200 : 0),
  }));
  out.droppedLinksCount = span.droppedLinksCount;
  out.status = span.statusMessage !== undefined ? { code: span.statusCode, message: span.statusMessage } : { code: span.statusCode };
  return out;
}

function keyValues(attrs: readonly DecodedAttr[]): { key: string; value: Record<string, unknown> }[] {
  return attrs.map((a) => ({ key: a.key, value: anyValue(a.value) }));
}

function anyValue(value: AttrValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return {};
}
