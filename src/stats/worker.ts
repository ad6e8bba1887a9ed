/**
 * The piscina worker: turns a histogram-set snapshot into the numbers of the
 * report's operations, off the event loop. It loads the same back end the processor used.
 */
import { loadBackend } from '../backend/load';
import type { SnapshotSource } from '../backend/snapshot-source';
import type { BackendKind } from '../backend/types';
import { REPORT_PERCENTILES, toRows, WINDOW_PERCENTILES, type SummaryRows } from './operations';

/** SLO and alert evaluation (`pool.run(task, { name: 'evaluate' })`). */
export { evaluate } from '../slo/evaluate-task';

export interface SummarizeTask {
  backend: BackendKind;
  snapshot: SnapshotSource;
}

/** Percentiles, windows and V2 strings of every series, packed for the event loop (`toOperations` names them). */
export default function summarize(task: SummarizeTask): SummaryRows {
  const backend = loadBackend(task.backend);
  return toRows(backend.summarize(task.snapshot, REPORT_PERCENTILES, WINDOW_PERCENTILES, true));
}
