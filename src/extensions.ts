import type { Backend, HistogramSet } from './backend/types';
import { createExportPipeline } from './export/create';
import type { SpanMeterConfig } from './config/sections';
import type { ProcessorExtension } from './extension';
import { buildSloExtension } from './slo/extension';
import type { SpanMeterOptions } from './processor';
import type { SeriesTable } from './series-table';
import type { LazyPool } from './stats/pool';

/** What an extension may use of the processor. */
export interface ExtensionContext {
  /** Epoch milliseconds; injectable for tests. */
  clock: () => number;
  /** The processor's lazy piscina pool (worker file: src/stats/worker.ts; pick a task with `name`). */
  pool: LazyPool;
  /** Series ids -> (service, name, kind). */
  table: SeriesTable;
  backend: Backend;
  /** The processor's histogram set (trend samples snapshot it, off the hot path). */
  set?: HistogramSet;
}

/**
 * Builds the parts beyond latency statistics from the validated configuration and
 * the processor's options, in the order their hooks run.
 */
export function buildExtensions(config: SpanMeterConfig, options: SpanMeterOptions, context: ExtensionContext): ProcessorExtension[] {
  const extensions: ProcessorExtension[] = [...(options.extensions ?? [])];
  // SLOs, alert rules, notifiers and trends (src/slo, src/alerts, src/notify, src/trends).
  const slo = buildSloExtension(config, context, { onAlert: options.onAlert, set: context.set });
  if (slo !== undefined) extensions.push(slo);
  // The export pipeline (src/export): sampled spans leave the process with failover.
  const exportPipeline = createExportPipeline(config.export, options.exporters);
  if (exportPipeline !== undefined) extensions.push(exportPipeline);
  return extensions;
}
