import type { ExporterStatus } from '../report';
import type { ExportConfig } from './config';

/** Counters of one target, as the worker keeps them: the report's, with the last error's time in epoch ms. */
export type TargetCounters = Pick<
  ExporterStatus,
  'spansSent' | 'batchesSent' | 'spansFailed' | 'batchesFailed' | 'retries' | 'resentSpans' | 'badBatches' | 'rejectedSpans' | 'lastError'
> & {
  /** Epoch ms. */
  lastErrorAt?: number;
};

/** Counters of the spool, as the worker keeps them. */
export interface SpoolCounters {
  spooledSpans: number;
  spooledBatches: number;
  replayedSpans: number;
  expiredSpans: number;
}

/**
 * Everything the worker counts, since the pipeline started: the main thread
 * keeps the latest copy, so that a restarted worker continues from it.
 */
export interface WorkerCounters {
  dropped: Record<string, number>;
  /** In target order. */
  targets: TargetCounters[];
  spool: SpoolCounters;
  /**
   * Spans of batches not yet acknowledged that are settled already (parts
   * delivered, spooled or counted as dropped), by batch number: if the worker
   * dies, only the rest of each batch is lost with it. Not carried over.
   */
  settled?: [seq: number, spans: number][];
}

/** What the export worker starts with (its `workerData`). */
export interface WorkerInit {
  config: ExportConfig;
  /** The pipeline's spool lock token: the same for every worker it starts, so that a restarted one takes its own lock over. */
  spoolLockToken: string;
  /** The counters of the worker this one replaces (undefined for the first). */
  counters: WorkerCounters | undefined;
}

/** Main thread → export worker. */
export type ToWorker =
  | { t: 'batch'; seq: number; buf: ArrayBuffer }
  | { t: 'status'; id: number }
  /** Deliver until `deadlineAt` (epoch ms, minus a margin), then spool the rest. */
  | { t: 'shutdown'; id: number; deadlineAt: number }
  /** `bad`: the batch could not be read back, so it was not exported (not the exporter's failure). */
  | { t: 'exported'; id: number; ok: boolean; error?: string; bad?: boolean };

export interface WorkerStatus {
  exporters: ExporterStatus[];
  counters: WorkerCounters;
}

/** Export worker → main thread. */
export type FromWorker =
  | { t: 'ack'; seq: number }
  /** The worker's counters changed (sent before the ack of a batch they concern). */
  | { t: 'counters'; counters: WorkerCounters }
  /** `status` is undefined when the worker could not build it (the request is answered anyway). */
  | { t: 'status'; id: number; status: WorkerStatus | undefined }
  | { t: 'shutdown'; id: number; status: WorkerStatus | undefined }
  /** Run the user's exporter `index` on spans [from, to) of the batch. */
  | { t: 'export'; id: number; index: number; buf: ArrayBuffer; from: number; to: number };
