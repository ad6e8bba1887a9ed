/**
 * Errors grouped per operation by exception type and message. Only ERROR spans
 * are looked at, and only their first `exception` event; the number of groups is
 * capped, and errors that would open a group beyond the cap are counted instead.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ErrorConfig } from './types';
import type { ErrorAnalysis, OperationErrors, OperationStats } from '../report';
import { ownCopy, type SeriesKey } from '../series-table';

interface Group {
  seriesId: number;
  type: string;
  message: string;
  count: number;
  lastSeenMs: number;
}

/** Events scanned per span for an `exception` event. */
const MAX_EVENTS_SCANNED = 32;

export class ErrorGroups {
  private readonly groups = new Map<string, Group>();
  /** Error spans not grouped because the cap was reached. */
  dropped = 0;

  constructor(private readonly config: ErrorConfig) {}

  /** Call for ERROR spans only. */
  record(span: ReadableSpan, seriesId: number, nowMs: number): void {
    let type = '(none)';
    let message: unknown;
    try {
      message = span.status.message;
      const events = span.events;
      const n = Math.min(events?.length ?? 0, MAX_EVENTS_SCANNED);
      for (let i = 0; i < n; i++) {
        const event = events[i];
        if (event == null || event.name !== 'exception') continue;
        const attributes = event.attributes ?? {};
        if (typeof attributes['exception.type'] === 'string') type = attributes['exception.type'];
        if (typeof attributes['exception.message'] === 'string' && attributes['exception.message'] !== '') message = attributes['exception.message'];
        break;
      }
    } catch {
      // an unreadable status or event: the span is still grouped, by what was read
    }
    // Both are grouped as they are shown: truncated (and a long type is not kept whole in the key).
    const max = this.config.maxMessageLength;
    const text = typeof message === 'string' ? message.slice(0, max) : '';
    if (type.length > max) type = type.slice(0, max);
    const key = `${seriesId}\u0000${type}\u0000${text}`;
    const group = this.groups.get(key);
    if (group !== undefined) {
      group.count++;
      group.lastSeenMs = nowMs;
    } else if (this.groups.size < this.config.maxGroups) {
      // Own copies: a slice of a long message (and a key built from one) keeps the whole message alive in V8.
      this.groups.set(ownCopy(key), { seriesId, type: ownCopy(type), message: ownCopy(text), count: 1, lastSeenMs: nowMs });
    } else {
      this.dropped++;
    }
  }

  /** Operations with errors, most errors first, each with its top groups. */
  /** `keys` by series id; `ids[i]` is the series id of `operations[i]`. */
  report(keys: readonly SeriesKey[], operations: readonly OperationStats[], ids: readonly number[]): ErrorAnalysis {
    const bySeries = new Map<number, Group[]>();
    for (const group of this.groups.values()) {
      const list = bySeries.get(group.seriesId);
      if (list === undefined) bySeries.set(group.seriesId, [group]);
      else list.push(group);
    }
    const errorsOf = new Map<number, number>();
    operations.forEach((op, i) => errorsOf.set(ids[i], op.errors));
    const out: OperationErrors[] = [];
    for (const [seriesId, groups] of bySeries) {
      const key = keys[seriesId];
      if (key === undefined) continue;
      groups.sort((a, b) => b.count - a.count || b.lastSeenMs - a.lastSeenMs);
      const grouped = groups.reduce((n, g) => n + g.count, 0);
      out.push({
        service: key.service,
        name: key.name,
        kind: key.kind,
        errors: Math.max(grouped, errorsOf.get(seriesId) ?? 0),
        groups: groups.slice(0, this.config.top).map((g) => ({ type: g.type, message: g.message, count: g.count, lastSeen: new Date(g.lastSeenMs).toISOString() })),
      });
    }
    // Operations with errors but no group: every error came after max_groups was reached.
    operations.forEach((op, i) => {
      if (op.errors > 0 && !bySeries.has(ids[i])) out.push({ service: op.service, name: op.name, kind: op.kind, errors: op.errors, groups: [] });
    });
    out.sort((a, b) => b.errors - a.errors || a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
    return { operations: out, droppedGroups: this.dropped };
  }
}
