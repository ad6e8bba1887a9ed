/**
 * How a histogram-set snapshot reaches a worker thread. The native set writes
 * it off the event loop and hands out a ticket, which the worker redeems in
 * the addon (waiting for the bytes and summarizing them where they are); the
 * JS set writes the bytes on the event loop, and they are transferred.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { HistogramSet } from './types';

/** A snapshot on its way to a worker: its bytes, or a native ticket (docs/internals.md, "Snapshots off the event loop"). */
export type SnapshotSource = Uint8Array | { readonly ticket: number };

/** The snapshot of `set` at `nowMs`, for a worker: a ticket where the set writes it off the event loop, else the bytes. */
export function snapshotForWorker(set: HistogramSet, nowMs: number): SnapshotSource {
  return set.snapshotTicket !== undefined ? { ticket: set.snapshotTicket(nowMs) } : set.snapshot(nowMs);
}

/**
 * Event-loop turns at most that `sealBeforeSnapshot` takes; the snapshot
 * seals whatever is left at once (batches recorded meanwhile can queue more).
 */
const MAX_SEALING_TURNS = 10_000;

/**
 * Call before `snapshotForWorker(set, nowMs)` where the snapshot need not be
 * taken in the calling turn (the trend sample; not `stats()`, whose report
 * holds exactly the spans ended before its call). The JS set advances every
 * series to `nowMs` and seals the slices queued (by that and by the batches
 * before), one budget per event-loop turn as its batches do: right after a
 * 10 s boundary, sealing every busy series' slice inside the snapshot held
 * the event loop ~0.7 ms per series in one turn. Resolves at once for the
 * native set (its sealer thread does this work).
 */
export async function sealBeforeSnapshot(set: HistogramSet, nowMs: number): Promise<void> {
  await startSealing(set, nowMs);
}

/**
 * `sealBeforeSnapshot`, synchronous while nothing is left to seal after the
 * first budget: then it returns undefined, and a snapshot taken next is in
 * the calling turn still; otherwise a promise of the remaining turns.
 */
export function startSealing(set: HistogramSet, nowMs: number): Promise<void> | undefined {
  if (set.snapshotTicket !== undefined || set.advanceTo === undefined || set.sealStep === undefined) return undefined;
  set.advanceTo(nowMs);
  if (!set.sealStep()) return undefined;
  const step = set.sealStep.bind(set);
  return (async () => {
    for (let turn = 1; turn < MAX_SEALING_TURNS; turn++) {
      await new Promise(setImmediate);
      if (!step()) return;
    }
  })();
}

/** What to transfer (not copy) with a task that carries `source`: the bytes' whole ArrayBuffer, when it is theirs alone. */
export function transferListOf(source: SnapshotSource): TransferListItem[] | undefined {
  if (!(source instanceof Uint8Array)) return undefined;
  const buffer = source.buffer;
  if (buffer instanceof ArrayBuffer && source.byteOffset === 0 && source.byteLength === buffer.byteLength) return [buffer];
  return undefined;
}
