import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { invalidOption } from '../errors';
import type { ExportConfig } from './config';
import { ExportPipeline } from './pipeline';

/**
 * The export pipeline for a processor, or undefined when export is off (no
 * enabled `export:` section and no `exporters` option). Throws a clear error
 * for an `exporters` option that is not a list of SpanExporters.
 */
export function createExportPipeline(config: ExportConfig, exporters: unknown): ExportPipeline | undefined {
  const list = checkExporters(exporters);
  if (!config.enabled && list.length === 0) return undefined;
  return new ExportPipeline(config, list);
}

/** The `exporters` option as a list; throws naming the option (or the element) when it is not a list of SpanExporters. */
export function checkExporters(exporters: unknown): SpanExporter[] {
  if (exporters !== undefined && !Array.isArray(exporters)) throw invalidOption('exporters', exporters, 'an array of SpanExporter instances');
  const list = (exporters ?? []) as unknown[];
  list.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof (e as SpanExporter).export !== 'function' || typeof (e as SpanExporter).shutdown !== 'function') {
      throw invalidOption(`exporters[${i}]`, e, 'a SpanExporter (an object with export() and shutdown())');
    }
  });
  return list as SpanExporter[];
}
