import type { ExporterStatus } from '../report';
import type { ExportConfig } from './config';

/** What the export worker starts with (its `workerData`). */
export interface WorkerInit {
  config: ExportConfig;
}

/** Main thread → export worker. */
export type ToWorker =
  | { t: 'batch'; seq: number; buf: ArrayBuffer }
  | { t: 'status'; id: number }
  /** Deliver until `deadlineAt` (epoch ms, minus a margin), then spool the rest. */
  | { t: 'shutdown'; id: number; deadlineAt: number }
  | { t: 'exported'; id: number; ok: boolean; error?: string };

export interface WorkerStatus {
  exporters: ExporterStatus[];
  dropped: Record<string, number>;
}

/** Export worker → main thread. */
export type FromWorker =
  | { t: 'ack'; seq: number }
  | { t: 'status'; id: number; status: WorkerStatus }
  | { t: 'shutdown'; id: number; status: WorkerStatus }
  /** Run the user's exporter `index` on spans [from, to) of the batch. */
  | { t: 'export'; id: number; index: number; buf: ArrayBuffer; from: number; to: number };
