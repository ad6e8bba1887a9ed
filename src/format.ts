import type { StatsReport } from './report';

/** Options of {@link formatStatsTable}. */
export interface FormatOptions {
  /** At most this many operations (by count). Default 20. */
  limit?: number;
}

/**
 * A name as one line of text: the application's span names may hold line
 * breaks, tabs or other control characters, which would split a row or
 * forge one. They are shown escaped (`\n`, `\t`, `\u001b`).
 */
function printable(name: string): string {
  return name.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Renders a report's operations as a plain-text table (count, errors, p50…p99.9,
 * max in milliseconds), for printing at exit or in examples.
 */
export function formatStatsTable(report: StatsReport, options: FormatOptions = {}): string {
  // a count of rows (Infinity: all): a negative or fractional limit took rows from the end
  const asked = typeof options.limit === 'number' && !Number.isNaN(options.limit) ? options.limit : 20;
  const limit = asked === Infinity ? Infinity : Math.max(0, Math.floor(asked));
  const header = ['service', 'operation', 'kind', 'count', 'err%', 'p50', 'p90', 'p99', 'p99.9', 'max', '1m p99'];
  // three significant digits; by the rounded value, so that 99.96 is "100", not "100.0"
  const ms = (v: number): string => (Number(v.toFixed(1)) >= 100 ? v.toFixed(0) : Number(v.toFixed(2)) >= 10 ? v.toFixed(1) : v.toFixed(2));
  // a few errors among many spans are not "0.0", nor a few successes "100.0"
  const errPercent = (rate: number): string => (rate > 0 && rate * 100 < 0.05 ? '<0.1' : rate < 1 && rate * 100 >= 99.95 ? '>99.9' : (rate * 100).toFixed(1));
  const rows = report.operations.slice(0, limit).map((op) => [
    printable(op.service),
    printable(op.name),
    op.kind,
    String(op.count),
    errPercent(op.errorRate),
    ms(op.latencyMs.p50),
    ms(op.latencyMs.p90),
    ms(op.latencyMs.p99),
    ms(op.latencyMs.p999),
    ms(op.latencyMs.max),
    // an empty window has no p99: its 0 in the report is not a latency of 0 ms
    op.windows && op.windows['1m'].count > 0 ? ms(op.windows['1m'].p99) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = (i: number): boolean => i >= 3;
  const line = (cells: string[]): string => cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (report.operations.length > limit) out.push(`… ${report.operations.length - limit} more operations`);
  const dropped = Object.entries(report.totals.dropped);
  out.push(
    `${report.totals.spans} spans, ${report.totals.errors} errors, ${report.totals.operations} operations, backend ${report.backend}` +
      (report.totals.overflowSpans ? `, ${report.totals.overflowSpans} in the overflow series` : '') +
      (dropped.length ? `, dropped: ${dropped.map(([k, v]) => `${k}=${v}`).join(' ')}` : ', nothing dropped') +
      '. Latencies in ms.',
  );
  // a report printed at exit must not hide that a section is missing
  for (const missing of report.incomplete ?? []) out.push(`Not in this report: ${missing.section} (${missing.code ?? 'error'}: ${missing.error.replace(/\s+/g, ' ')})`);
  return out.join('\n');
}
