/**
 * What happens to spans still queued for export when the process ends without
 * `shutdown()`. spanmeter's timers and worker are unref'd, so a service whose
 * work is done simply exits:
 *
 * - when the event loop empties (`beforeExit`), every open pipeline with spans
 *   queued shuts down with the `exit_timeout` deadline, which keeps the process
 *   alive until they are delivered or spooled;
 * - at `exit` (also after `process.exit()`, where nothing asynchronous can run
 *   any more) spans that were neither are reported on stderr in one line, so
 *   that they are never lost silently.
 *
 * One pair of process listeners serves every pipeline.
 */

/** A pipeline as the exit hooks see it. */
export interface ExitAware {
  /** Shuts down with the exit deadline if spans are waiting; no-op otherwise. */
  shutDownAtExit(): void;
  /**
   * Spans ended that will not be exported if the process ends now: still
   * queued, and lost to a shutdown already (its deadline passed with no spool
   * to take them, or they ended after it).
   */
  unsettledSpans(): { queued: number; lostToShutdown: number };
}

const open = new Set<ExitAware>();
let installed = false;

/** Watches a pipeline until `unwatchExit`. */
export function watchExit(pipeline: ExitAware): void {
  open.add(pipeline);
  if (installed) return;
  installed = true;
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
}

/** Stops watching a pipeline (it has shut down). */
export function unwatchExit(pipeline: ExitAware): void {
  open.delete(pipeline);
}

function onBeforeExit(): void {
  for (const pipeline of open) {
    try {
      pipeline.shutDownAtExit();
    } catch {
      // never let spanmeter turn a clean exit into a crash
    }
  }
}

function onExit(): void {
  let queued = 0;
  let lost = 0;
  for (const pipeline of open) {
    try {
      const spans = pipeline.unsettledSpans();
      queued += spans.queued;
      lost += spans.lostToShutdown;
    } catch {
      // as above
    }
  }
  const were = (n: number): string => `${n} ended span${n === 1 ? ' was' : 's were'}`;
  if (queued > 0) {
    process.stderr.write(`spanmeter: ${were(queued)} not exported when the process exited; await provider.shutdown() (or processor.forceFlush()) before exiting\n`);
  }
  // the advice above would be wrong for these: the shutdown ran
  if (lost > 0) {
    process.stderr.write(
      `spanmeter: ${were(lost)} not exported: the export's shutdown could not deliver them by its deadline and had no spool to keep them, or they ended after it (stats().totals.dropped: export_shutdown_timeout, export_after_shutdown)\n`,
    );
  }
}
