import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { DecodedAttr, DecodedBatch, DecodedResource, DecodedSpan } from './decoder';
import { toHex } from './wire';

/**
 * ReadableSpans rebuilt from a decoded batch, for a user's SpanExporter (which
 * runs on the main thread). They carry every field the encoder kept; the
 * resource is a minimal Resource with the same attributes and schema URL.
 */
export function toReadableSpans(batch: DecodedBatch, from = 0, to = batch.spans.length): ReadableSpan[] {
  const resources = new Map<DecodedResource | undefined, ResourceLike>();
  const out: ReadableSpan[] = [];
  for (let i = from; i < to; i++) {
    const span = batch.spans[i];
    let resource = resources.get(span.resource);
    if (resource === undefined) {
      resource = makeResource(span.resource);
      resources.set(span.resource, resource);
    }
    out.push(readable(batch.bytes, span, resource));
  }
  return out;
}

function readable(bytes: Uint8Array, span: DecodedSpan, resource: ResourceLike): ReadableSpan {
  const traceId = toHex(bytes, span.traceIdAt, 16);
  const context: SpanContext = { traceId, spanId: toHex(bytes, span.spanIdAt, 8), traceFlags: span.traceFlags, isRemote: false };
  if (span.traceState !== undefined) context.traceState = new TraceState(span.traceState);
  const startTime: HrTime = [span.startSec, span.startNs];
  const endTime: HrTime = [span.endSec, span.endNs];
  let durSec = span.endSec - span.startSec;
  let durNs = span.endNs - span.startNs;
  if (durNs < 0) {
    durSec -= 1;
    durNs += 1e9;
  }
  const events: TimedEvent[] = span.events.map((e) => ({ name: e.name, time: [e.sec, e.ns], attributes: attributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount }));
  const links: Link[] = span.links.map((l) => ({
    context: {
      traceId: toHex(bytes, l.traceIdAt, 16),
      spanId: toHex(bytes, l.spanIdAt, 8),
      traceFlags: l.traceFlags,
      isRemote: l.isRemote,
      ...(l.traceState !== undefined ? { traceState: new TraceState(l.traceState) } : {}),
    },
    attributes: attributes(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
  }));
  const result = {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext: span.parentIdAt >= 0 ? { traceId, spanId: toHex(bytes, span.parentIdAt, 8), traceFlags: span.traceFlags, isRemote: span.parentIsRemote } : undefined,
    startTime,
    endTime,
    status: span.statusMessage !== undefined ? { code: span.statusCode, message: span.statusMessage } : { code: span.statusCode },
    attributes: attributes(span.attributes),
    links,
    events,
    duration: [durSec, durNs] as HrTime,
    ended: true,
    resource,
    instrumentationScope: span.scope === undefined ? { name: '' } : { name: span.scope.name, version: span.scope.version, schemaUrl: span.scope.schemaUrl },
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
  return result as unknown as ReadableSpan;
}

function attributes(list: readonly DecodedAttr[]): Attributes {
  const out: Attributes = {};
  for (const a of list) out[a.key] = a.value as Attributes[string];
  return out;
}

interface ResourceLike {
  readonly attributes: Attributes;
  readonly asyncAttributesPending: boolean;
  readonly schemaUrl?: string;
  waitForAsyncAttributes(): Promise<void>;
  getRawAttributes(): [string, unknown][];
  merge(other: ResourceLike | null): ResourceLike;
}

function makeResource(decoded: DecodedResource | undefined): ResourceLike {
  return resourceFrom(decoded === undefined ? {} : attributes(decoded.attributes), decoded?.schemaUrl);
}

function resourceFrom(attrs: Attributes, schemaUrl: string | undefined): ResourceLike {
  return {
    attributes: attrs,
    asyncAttributesPending: false,
    ...(schemaUrl !== undefined ? { schemaUrl } : {}),
    waitForAsyncAttributes: async () => {},
    getRawAttributes: () => Object.entries(attrs),
    merge(other) {
      if (other === null) return this;
      return resourceFrom({ ...attrs, ...other.attributes }, other.schemaUrl ?? schemaUrl);
    },
  };
}
