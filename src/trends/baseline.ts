/**
 * Saved baselines for regression detection: a `stats()` report written to a JSON
 * file (`JSON.stringify(await processor.stats())`). Each operation's baseline is its
 * `windows['1h']` percentiles when that window had spans, else its lifetime ones.
 */
import * as fs from 'node:fs';

export interface BaselineEntry {
  service: string;
  name: string;
  kind: string;
  count: number;
  p50: number;
  p99: number;
}

/** The key trends use for an operation. */
export function operationKey(service: string, name: string, kind: string): string {
  return `${service}\u0000${name}\u0000${kind}`;
}

/** Reads a baseline file; returns the entries or a one-line problem. */
export function readBaselineFile(file: string): { entries: BaselineEntry[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return { problem: `cannot read the baseline file ${JSON.stringify(file)}: ${(error as Error).message.split('\n')[0]}` };
  }
  const operations = (parsed as { operations?: unknown } | null)?.operations;
  if (!Array.isArray(operations)) return { problem: `the baseline file ${JSON.stringify(file)} is not a saved stats() report (no "operations" list)` };
  const entries: BaselineEntry[] = [];
  for (const op of operations as Record<string, unknown>[]) {
    if (op === null || typeof op !== 'object' || typeof op.service !== 'string' || typeof op.name !== 'string' || typeof op.kind !== 'string') continue;
    const hour = (op.windows as Record<string, { count?: number; p50?: number; p99?: number }> | undefined)?.['1h'];
    const lifetime = op.latencyMs as { p50?: number; p99?: number } | undefined;
    const useHour = hour !== undefined && typeof hour.count === 'number' && hour.count > 0;
    const p50 = useHour ? hour.p50 : lifetime?.p50;
    const p99 = useHour ? hour.p99 : lifetime?.p99;
    const count = useHour ? hour.count : op.count;
    if (typeof p50 !== 'number' || typeof p99 !== 'number' || typeof count !== 'number') continue;
    // JSON can hold 1e999 (Infinity) and negative numbers: neither is a latency or a count.
    const invalid = Object.entries({ p50, p99, count }).find(([field, v]) => !(Number.isFinite(v) && v >= 0 && (field !== 'count' || Number.isInteger(v))));
    if (invalid !== undefined) {
      return { problem: `the baseline file ${JSON.stringify(file)} has an invalid ${invalid[0]} for ${op.service} ${JSON.stringify(op.name)} (${op.kind}): ${invalid[1]}` };
    }
    entries.push({ service: op.service, name: op.name, kind: op.kind, count, p50, p99 });
  }
  if (entries.length === 0 && operations.length > 0) {
    return { problem: `none of the ${operations.length} operations of the baseline file ${JSON.stringify(file)} has a service, name, kind, count and p50 and p99 latencies: it is not a saved stats() report` };
  }
  return { entries };
}
