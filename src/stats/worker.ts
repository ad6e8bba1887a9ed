/**
 * The piscina worker: turns a histogram-set snapshot into report operations off
 * the event loop. It loads the same back end the processor used.
 */
import { loadBackend } from '../backend/load';
import type { SnapshotSource } from '../backend/snapshot-source';
import type { BackendKind } from '../backend/types';
import type { OperationStats } from '../report';
import type { SeriesKey } from '../series-table';
import { REPORT_PERCENTILES, toOperations, WINDOW_PERCENTILES } from './operations';

/** SLO and alert evaluation (`pool.run(task, { name: 'evaluate' })`). */
export { evaluate } from '../slo/evaluate-task';

export interface SummarizeTask {
  backend: BackendKind;
  snapshot: SnapshotSource;
  keys: readonly SeriesKey[];
}

export default function summarize(task: SummarizeTask): OperationStats[] {
  const backend = loadBackend(task.backend);
  const summaries = backend.summarize(task.snapshot, REPORT_PERCENTILES, WINDOW_PERCENTILES, true);
  return toOperations(summaries, task.keys);
}
