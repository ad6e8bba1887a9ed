import { isIP } from 'node:net';
import type { AttrValue, DecodedAttr, DecodedSpan } from '../decoder';
import { isZero, toHex } from '../wire';

/** Zipkin service name when a span's resource has no `service.name` (the SDK default). */
export const DEFAULT_SERVICE_NAME = 'unknown_service';

const KINDS: (string | undefined)[] = [undefined, 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** Attributes that name the remote endpoint, by the specification's ranking. */
const REMOTE_NAME_KEYS = ['peer.service', 'server.address', 'net.peer.name'];
const REMOTE_ADDRESS_KEYS: [string, string][] = [
  ['network.peer.address', 'network.peer.port'],
  ['server.socket.domain', ''],
  ['server.socket.address', 'server.socket.port'],
  ['net.sock.peer.name', ''],
  ['net.sock.peer.addr', 'net.sock.peer.port'],
  ['peer.hostname', ''],
  ['peer.address', ''],
  ['db.name', ''],
];

interface ZipkinEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

/**
 * Encodes spans as a Zipkin v2 JSON list, with the OpenTelemetry-to-Zipkin
 * mapping of the OTel specification: kind (INTERNAL omitted), times in whole
 * microseconds, span and resource attributes as string tags (arrays as JSON lists), status as
 * `otel.status_code` and `error`, the scope as `otel.scope.name`/`version`,
 * dropped counts as `otel.dropped_*_count`, `service.name` as the local
 * endpoint, a ranked remote endpoint for CLIENT and PRODUCER spans, and events
 * as annotations (`"name": {attributes}` when they have attributes).
 */
export function encodeZipkinJson(bytes: Uint8Array, spans: readonly DecodedSpan[]): string {
  return JSON.stringify(spans.map((span) => zipkinSpan(bytes, span)));
}

export function zipkinSpan(bytes: Uint8Array, span: DecodedSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {
    traceId: toHex(bytes, span.traceIdAt, 16),
    id: toHex(bytes, span.spanIdAt, 8),
  };
  if (span.parentIdAt >= 0 && !isZero(bytes, span.parentIdAt, 8)) out.parentId = toHex(bytes, span.parentIdAt, 8);
  out.name = span.name;
  const kind = KINDS[span.kind];
  if (kind !== undefined) out.kind = kind;
  const start = micros(span.startSec, span.startNs);
  out.timestamp = start;
  out.duration = Math.max(1, micros(span.endSec, span.endNs) - start); // Zipkin rounds durations below 1 µs up
  out.localEndpoint = { serviceName: span.resource?.serviceName ?? DEFAULT_SERVICE_NAME };
  if (kind === 'CLIENT' || kind === 'PRODUCER') {
    const remote = remoteEndpoint(span.attributes);
    if (remote !== undefined) out.remoteEndpoint = remote;
  }
  if (span.events.length > 0) {
    out.annotations = span.events.map((e) => ({
      timestamp: micros(e.sec, e.ns),
      value: e.attributes.length === 0 ? e.name : `${JSON.stringify(e.name)}: ${JSON.stringify(attributeObject(e.attributes))}`,
    }));
  }
  const tags: Record<string, string> = {};
  // Resource attributes other than service.name (e.g. service.namespace) are tags too; span attributes win.
  for (const attr of span.resource?.attributes ?? []) if (attr.key !== 'service.name') tags[attr.key] = tagValue(attr.value);
  for (const attr of span.attributes) {
    if (attr.key === 'error') continue; // set from the status only (the specification)
    tags[attr.key] = tagValue(attr.value);
  }
  if (span.scope !== undefined) {
    tags['otel.scope.name'] = span.scope.name;
    if (span.scope.version !== undefined) tags['otel.scope.version'] = span.scope.version;
  }
  if (span.statusCode === 1) tags['otel.status_code'] = 'OK';
  if (span.statusCode === 2) {
    tags['otel.status_code'] = 'ERROR';
    tags.error = span.statusMessage ?? '';
  }
  if (span.droppedAttributesCount > 0) tags['otel.dropped_attributes_count'] = String(span.droppedAttributesCount);
  if (span.droppedEventsCount > 0) tags['otel.dropped_events_count'] = String(span.droppedEventsCount);
  if (span.droppedLinksCount > 0) tags['otel.dropped_links_count'] = String(span.droppedLinksCount);
  if (Object.keys(tags).length > 0) out.tags = tags;
  return out;
}

/** Whole microseconds of an OTel time (1234 ns is 1 µs). */
function micros(sec: number, ns: number): number {
  return sec * 1_000_000 + Math.floor(ns / 1000);
}

function tagValue(value: AttrValue): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

function attributeObject(attrs: readonly DecodedAttr[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of attrs) out[a.key] = a.value;
  return out;
}

function remoteEndpoint(attrs: readonly DecodedAttr[]): ZipkinEndpoint | undefined {
  const get = (key: string): AttrValue | undefined => attrs.find((a) => a.key === key)?.value;
  for (const key of REMOTE_NAME_KEYS) {
    const v = get(key);
    if (typeof v === 'string' && v !== '') return { serviceName: v };
  }
  for (const [addressKey, portKey] of REMOTE_ADDRESS_KEYS) {
    const v = get(addressKey);
    if (typeof v !== 'string' || v === '') continue;
    const endpoint: ZipkinEndpoint = {};
    const family = isIP(v);
    if (family === 4) endpoint.ipv4 = v;
    else if (family === 6) endpoint.ipv6 = v;
    else endpoint.serviceName = v;
    const port = portKey === '' ? undefined : get(portKey);
    if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536) endpoint.port = port;
    return endpoint;
  }
  return undefined;
}
