import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AlertEvent, StatsReport } from './report';
import type { SeriesKey } from './series-table';

/**
 * A part of the processor beyond latency statistics (SLOs and alerts, export).
 * The processor calls these hooks; every hook must survive any input without
 * throwing into the application, and `onSpanEnd` must be O(1).
 */
export interface ProcessorExtension {
  /** A short name, used in error counters. */
  readonly name: string;
  /** A new series was interned. */
  onNewSeries?(id: number, key: SeriesKey): void;
  /** Hot path: called for every ended span, after its series id is known (0xffffffff for a span not recorded: its duration was unusable). */
  onSpanEnd?(span: ReadableSpan, seriesId: number): void;
  /** Hot path: called for recorded ended spans whose status is ERROR only (after `onSpanEnd`). */
  onErrorSpanEnd?(span: ReadableSpan, seriesId: number): void;
  /**
   * A batch of spans is being recorded (the arrays are only valid during the call;
   * flag bit 0 = error). Runs on the event loop: keep it a tight loop.
   */
  onBatch?(seriesIds: Uint32Array, durationsUs: Float64Array, flags: Uint8Array, len: number, nowMs: number): void;
  forceFlush?(): Promise<void>;
  /** Runs one evaluation at the current clock and resolves with the alert transitions it made. */
  evaluateNow?(): Promise<AlertEvent[]>;
  /** Called once; must finish (or give up) within `deadlineMs`. */
  shutdown?(deadlineMs: number): Promise<void>;
  /**
   * Adds this extension's sections (slos, alerts, exporters, dropped counts) to
   * a report. `operationIds[i]` is the series id of `report.operations[i]`.
   */
  contribute?(report: StatsReport, operationIds: readonly number[]): Promise<void> | void;
}
