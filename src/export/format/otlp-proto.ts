import type { AttrValue, DecodedAttr, DecodedSpan } from '../decoder';
import { groupSpans } from './group';
import { ProtobufWriter } from './protobuf-writer';

const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_IS_REMOTE = 0x200;

/**
 * Encodes spans as an OTLP `ExportTraceServiceRequest` (protobuf), field numbers
 * of opentelemetry/proto/trace/v1/trace.proto.
 */
export function encodeOtlpProto(bytes: Uint8Array, spans: readonly DecodedSpan[], writer = new ProtobufWriter(Math.max(4096, bytes.byteLength * 2))): Buffer {
  for (const group of groupSpans(spans)) {
    writer.begin(1); // resource_spans
    const resource = group.resource;
    writer.begin(1); // resource
    if (resource !== undefined) {
      attributes(writer, 1, resource.attributes);
      if (resource.droppedAttributesCount > 0) {
        writer.tag(2, 0);
        writer.varint(resource.droppedAttributesCount);
      }
    }
    writer.end();
    for (const scopeGroup of group.scopes) {
      writer.begin(2); // scope_spans
      const scope = scopeGroup.scope;
      writer.begin(1); // scope
      if (scope !== undefined) {
        writer.string(1, scope.name);
        writer.string(2, scope.version);
      }
      writer.end();
      for (const span of scopeGroup.spans) writeSpan(writer, bytes, span);
      writer.string(3, scope?.schemaUrl);
      writer.end();
    }
    writer.string(3, resource?.schemaUrl);
    writer.end();
  }
  return writer.finish();
}

function writeSpan(w: ProtobufWriter, bytes: Uint8Array, span: DecodedSpan): void {
  w.begin(2); // spans
  w.bytes(1, bytes, span.traceIdAt, 16);
  w.bytes(2, bytes, span.spanIdAt, 8);
  w.string(3, span.traceState);
  if (span.parentIdAt >= 0) w.bytes(4, bytes, span.parentIdAt, 8);
  w.string(5, span.name);
  w.tag(6, 0);
  w.varint(span.kind + 1); // OTLP SpanKind = API SpanKind + 1 (0 is UNSPECIFIED)
  w.tag(7, 1);
  w.fixed64Nanos(span.startSec, span.startNs);
  w.tag(8, 1);
  w.fixed64Nanos(span.endSec, span.endNs);
  attributes(w, 9, span.attributes);
  if (span.droppedAttributesCount > 0) {
    w.tag(10, 0);
    w.varint(span.droppedAttributesCount);
  }
  for (const event of span.events) {
    w.begin(11);
    w.tag(1, 1);
    w.fixed64Nanos(event.sec, event.ns);
    w.string(2, event.name);
    attributes(w, 3, event.attributes);
    if (event.droppedAttributesCount > 0) {
      w.tag(4, 0);
      w.varint(event.droppedAttributesCount);
    }
    w.end();
  }
  if (span.droppedEventsCount > 0) {
    w.tag(12, 0);
    w.varint(span.droppedEventsCount);
  }
  for (const link of span.links) {
    w.begin(13);
    w.bytes(1, bytes, link.traceIdAt, 16);
    w.bytes(2, bytes, link.spanIdAt, 8);
    w.string(3, link.traceState);
    attributes(w, 4, link.attributes);
    if (link.droppedAttributesCount > 0) {
      w.tag(5, 0);
      w.varint(link.droppedAttributesCount);
    }
    w.tag(6, 5);
    w.fixed32(link.traceFlags | SPAN_FLAGS_HAS_IS_REMOTE | (link.isRemote ? SPAN_FLAGS_IS_REMOTE : 0));
    w.end();
  }
  if (span.droppedLinksCount > 0) {
    w.tag(14, 0);
    w.varint(span.droppedLinksCount);
  }
  w.begin(15); // status
  w.string(2, span.statusMessage);
  if (span.statusCode !== 0) {
    w.tag(3, 0);
    w.varint(span.statusCode);
  }
  w.end();
  w.tag(16, 5);
  w.fixed32(span.traceFlags | SPAN_FLAGS_HAS_IS_REMOTE | (span.parentIsRemote ? SPAN_FLAGS_IS_REMOTE : 0));
  w.end();
}

function attributes(w: ProtobufWriter, field: number, attrs: readonly DecodedAttr[]): void {
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs[i];
    w.begin(field); // KeyValue
    w.string(1, attr.key);
    w.begin(2); // AnyValue
    anyValue(w, attr.value);
    w.end();
    w.end();
  }
}

function anyValue(w: ProtobufWriter, value: AttrValue): void {
  switch (typeof value) {
    case 'string':
      w.string(1, value);
      return;
    case 'boolean':
      w.tag(2, 0);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value)) {
        w.tag(3, 0);
        w.int64(value);
      } else {
        w.tag(4, 1);
        w.double(value);
      }
      return;
    default:
      break;
  }
  if (Array.isArray(value)) {
    w.begin(5); // array_value
    for (const item of value) {
      w.begin(1);
      anyValue(w, item);
      w.end();
    }
    w.end();
  }
  // null: an empty AnyValue
}

/**
 * Reads `partial_success.rejected_spans` and `error_message` from an OTLP
 * `ExportTraceServiceResponse`; undefined when absent or unreadable.
 */
export function readPartialSuccess(body: Uint8Array): { rejectedSpans: number; errorMessage: string } | undefined {
  try {
    const outer = fields(body, 0, body.length);
    const partial = outer.find((f) => f.field === 1 && f.wireType === 2);
    if (partial === undefined) return undefined;
    let rejectedSpans = 0;
    let errorMessage = '';
    for (const f of fields(body, partial.start, partial.end)) {
      if (f.field === 1 && f.wireType === 0) rejectedSpans = f.value;
      if (f.field === 2 && f.wireType === 2) errorMessage = Buffer.from(body.subarray(f.start, f.end)).toString('utf8');
    }
    return { rejectedSpans, errorMessage };
  } catch {
    return undefined;
  }
}

interface Field {
  field: number;
  wireType: number;
  value: number;
  start: number;
  end: number;
}

function fields(buf: Uint8Array, from: number, to: number): Field[] {
  const out: Field[] = [];
  let pos = from;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= to) throw new Error('truncated');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  };
  while (pos < to) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) out.push({ field, wireType, value: varint(), start: pos, end: pos });
    else if (wireType === 2) {
      const len = varint();
      if (pos + len > to) throw new Error('truncated');
      out.push({ field, wireType, value: len, start: pos, end: pos + len });
      pos += len;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error('unsupported wire type');
  }
  return out;
}
