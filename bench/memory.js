'use strict';
/**
 * Memory per operation series (lifetime histogram + every rolling window), as the
 * back ends account for it, after two hours of traffic (every ring full: the
 * 1h window's reaches its steady size after 75 minutes), at the default precision.
 */
const hdr = require('hdr-histogram-js');
const { loadBackend } = require('../dist/backend/load');
const { fmt, median, table, timeLoop, lognormalUs } = require('./lib');

const HIGHEST = 3_600_000_000;
const SLICE_MS = 10_000;
const BATCH = 2048;
/** Hours of traffic before the figures: every ring full. */
const HOURS = 2;

/**
 * Feeds `series` series with `perSlice` values every 10 s for `hours`; returns
 * bytes per series and what stats() then costs per series: the snapshot on
 * the event loop, the summary (percentiles of the lifetime and four windows,
 * and the V2 string) on a worker thread. Also times, per series, the batch
 * that opens each slice (one value per series): it seals every series'
 * previous slice and merges it upward: on the event loop for the JS back end
 * and the native one with `sealInline`; the native set's own sealer thread
 * otherwise, whose time per slice is reported too.
 */
function load(backend, series, perSlice, hours, { timed = false, quick = false, sealInline = false, sigma = 1 } = {}) {
  const set = backend.createSet({ significantDigits: 3, highestTrackableUs: HIGHEST, sealInline });
  const draw = lognormalUs(5, 20_000, sigma);
  const n = series * perSlice;
  const ids = new Uint32Array(n);
  const durations = new Float64Array(n);
  const flags = new Uint8Array(n);
  const start = Date.UTC(2026, 0, 1);
  const slices = (hours * 3_600_000) / SLICE_MS;
  const rotationUs = { '10 s': [], '1 min': [], '5 min': [], '15 min': [] };
  for (let slice = 0; slice < slices; slice++) {
    for (let i = 0; i < n; i++) {
      ids[i] = i % series;
      durations[i] = draw();
    }
    const at = start + slice * SLICE_MS + 1;
    const opening = process.hrtime.bigint();
    set.record(ids, durations, flags, series, at);
    const us = Number(process.hrtime.bigint() - opening) / 1000 / series;
    if (slice > 0) rotationUs[slice % 90 === 0 ? '15 min' : slice % 30 === 0 ? '5 min' : slice % 6 === 0 ? '1 min' : '10 s'].push(us);
    // the rest in the processor's batches (2,048 spans): the JS back end seals
    // deferred, a budget at the end of each batch
    for (let from = series; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      set.record(ids.subarray(from, to), durations.subarray(from, to), flags.subarray(from, to), to - from, at);
    }
  }
  // measured with the last slice's values in the open slice: at the next
  // boundary a set may have just given the open slices' memory back, which
  // it takes again with the next values (until 2026-11-27 the figure was
  // taken there, after the snapshot below, and left the open slice out)
  // the steady state: two hours of slices came in a moment here, and the native sealer
  // thread is still behind them (memoryBytes counts its queue since 2026-11-27); in real
  // time it seals a boundary's slices long before the next
  set.sealingStats();
  const bytes = set.memoryBytes() / series;
  const now = start + slices * SLICE_MS;
  const snapshot = set.snapshot(now);
  if (!timed) return { bytes };
  const snapshotUs = timeLoop(() => set.snapshot(now), quick ? 3 : 10) / 1000 / series;
  const summarizeUs = timeLoop(() => backend.summarize(snapshot, [50, 90, 95, 99, 99.9], [50, 99], true), quick ? 1 : 3) / 1000 / series;
  const tickets = set.snapshotTicket !== undefined;
  // native: the event loop's part of a ticket (the sealer thread writes the
  // rest; redeemed here, untimed, before the next)
  let ticketUs;
  for (let r = 0; tickets && r < (quick ? 3 : 10); r++) {
    const started = process.hrtime.bigint();
    const ticket = set.snapshotTicket(now);
    ticketUs = Math.min(ticketUs ?? Infinity, Number(process.hrtime.bigint() - started) / 1000 / series);
    backend.summarize({ ticket }, [50], [50], false);
  }
  // right after a 10 s boundary the snapshot is what advances the series:
  // each one's full slice is queued for sealing, and a synchronous snapshot
  // waits until it is sealed; alternately with a ticket (native)
  const boundaryUs = { sync: [], ticket: [] };
  let at = now;
  for (let k = 0; k < (quick ? 4 : 16); k++) {
    for (let i = 0; i < n; i++) durations[i] = draw();
    for (let from = 0; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      set.record(ids.subarray(from, to), durations.subarray(from, to), flags.subarray(from, to), to - from, at + 1);
    }
    at += SLICE_MS;
    const mode = tickets && k % 2 === 1 ? 'ticket' : 'sync';
    const started = process.hrtime.bigint();
    const result = mode === 'ticket' ? set.snapshotTicket(at + 1) : set.snapshot(at + 1);
    boundaryUs[mode].push(Number(process.hrtime.bigint() - started) / 1000 / series);
    if (mode === 'ticket') backend.summarize({ ticket: result }, [50], [50], false);
  }
  const rotation = Object.fromEntries(Object.entries(rotationUs).map(([k, v]) => [k, median(v)]));
  // slices sealed and the time spent on them, on the sealer thread or deferred over batches
  const sealing = set.sealingStats();
  const sealerUsPerSlice = sealing.mode !== 'inline' ? (sealing.ms * 1000) / sealing.slices : undefined;
  const boundary = { sync: median(boundaryUs.sync), ticket: tickets ? median(boundaryUs.ticket) : undefined };
  return { bytes, snapshotUs, ticketUs, boundary, summarizeUs, snapshotBytes: snapshot.byteLength / series, rotation, sealerUsPerSlice, steps: sealing.steps };
}

module.exports = async function run({ quick = false, log = console.log } = {}) {
  const rows = [];
  const statsRows = [];
  const rotationRows = [];
  const figures = {};
  for (const kind of ['native', 'js']) {
    let backend;
    try {
      backend = loadBackend(kind);
    } catch {
      log(`  (${kind} back end not available, left out)`);
      continue;
    }
    const heavySeries = 20;
    const heavyRun = load(backend, heavySeries, quick ? 1000 : 10_000, HOURS, { timed: true, quick });
    const heavy = heavyRun.bytes;
    // narrower latency distributions fill fewer buckets
    const [heavyHalf, heavyQuarter] = [0.5, 0.25].map((sigma) => load(backend, heavySeries, quick ? 1000 : 10_000, HOURS, { quick, sigma }).bytes);
    const light = load(backend, 200, 10, HOURS).bytes;
    const idle = load(backend, 200, 1, 0.01).bytes;
    figures[kind] = {
      heavy,
      heavySigma05: heavyHalf,
      heavySigma025: heavyQuarter,
      light,
      idle,
      heavyStats: {
        snapshotUs: heavyRun.snapshotUs,
        ticketUs: heavyRun.ticketUs,
        boundarySyncUs: heavyRun.boundary.sync,
        boundaryTicketUs: heavyRun.boundary.ticket,
        summarizeUs: heavyRun.summarizeUs,
        snapshotBytes: heavyRun.snapshotBytes,
      },
      rotationUs: heavyRun.rotation,
    };
    const rotationRow = (label, run) => [
      label,
      ...Object.values(run.rotation).map((us) => `${fmt(us, 1)} µs`),
      run.sealerUsPerSlice === undefined ? '—' : `${fmt(run.sealerUsPerSlice, 0)} µs`,
    ];
    if (kind === 'native') {
      // the same load, sealing on the event loop, for the side-by-side figure
      const inlineRun = load(backend, heavySeries, quick ? 1000 : 10_000, 1, { timed: true, quick, sealInline: true });
      rotationRows.push(rotationRow('native, sealer thread (default)', heavyRun));
      rotationRows.push(rotationRow('native, sealing inline', inlineRun));
      figures[kind].rotationInlineUs = inlineRun.rotation;
      figures[kind].sealerUsPerSlice = heavyRun.sealerUsPerSlice;
      log(`  native: opening a slice costs the event loop ${fmt(heavyRun.rotation['10 s'], 1)} µs per heavy series (inline: ${fmt(inlineRun.rotation['10 s'], 1)} µs); the sealer thread spends ${fmt(heavyRun.sealerUsPerSlice, 0)} µs per slice`);
    } else {
      rotationRows.push(rotationRow('js, deferred over the next batches', heavyRun));
      figures[kind].sealingUsPerSlice = heavyRun.sealerUsPerSlice;
      figures[kind].sealingStepsMs = heavyRun.steps;
      log(`  js: opening a slice costs the event loop ${fmt(heavyRun.rotation['10 s'], 1)} µs per heavy series; sealing then takes ${fmt(heavyRun.sealerUsPerSlice, 0)} µs per slice in the following batches, a step of ${fmt(heavyRun.steps.p50, 2)} ms median, ${fmt(heavyRun.steps.p99, 2)} ms p99 per batch`);
    }
    rows.push([kind, `${fmt(heavy / 1024)} KiB`, `${fmt(heavyHalf / 1024)} KiB`, `${fmt(heavyQuarter / 1024)} KiB`, `${fmt(light / 1024)} KiB`, `${fmt(idle / 1024)} KiB`]);
    const us = (v) => (v === undefined ? '—' : `${fmt(v)} µs`);
    statsRows.push([
      kind,
      `${fmt(heavyRun.snapshotBytes / 1024)} KiB`,
      us(heavyRun.snapshotUs),
      us(heavyRun.ticketUs),
      us(heavyRun.boundary.sync),
      us(heavyRun.boundary.ticket),
      `${fmt(heavyRun.summarizeUs, 0)} µs`,
    ]);
    log(`  ${kind}: heavy ${fmt(heavy / 1024)} KiB (σ 0.5: ${fmt(heavyHalf / 1024)}, σ 0.25: ${fmt(heavyQuarter / 1024)}), light ${fmt(light / 1024)} KiB, idle ${fmt(idle / 1024)} KiB per series`);
    log(
      `  ${kind}: stats() of a heavy series: snapshot ${us(heavyRun.snapshotUs)} (ticket ${us(heavyRun.ticketUs)}), right after a boundary ${us(heavyRun.boundary.sync)} (ticket ${us(heavyRun.boundary.ticket)}), summary ${fmt(heavyRun.summarizeUs, 0)} µs`,
    );
  }
  const reference = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
  const refBytes = reference.estimatedFootprintInBytes;
  const markdown = [
    'Bytes per series (lifetime histogram, current slice, and the sealed slices of the 1m, 5m, 15m and 1h windows), as each back end accounts for its heap, after two hours of traffic (the rings of every window full), with the last 10 s slice\'s values in the open slice (until 2026-11-27 this was measured at the next boundary, when the open slices could have just been given back: 6-11 KiB less per busy series); 3 significant digits, 1 µs to 1 h. Latencies are lognormal around a 20 ms median: σ = 1 puts p99 at 10× the median, σ = 0.5 at 3.2×, σ = 0.25 at 1.8×; the wider the spread, the more buckets a slice fills.',
    '',
    table(
      ['back end', `heavy: ${quick ? '1,000' : '10,000'} spans per 10 s, lognormal σ = 1`, 'heavy, σ = 0.5', 'heavy, σ = 0.25', 'light: 10 spans per 10 s, σ = 1', 'one span in 36 s'],
      rows,
    ),
    '',
    `For comparison: one hdr-histogram-js histogram over the same range and precision (64-bit counts) takes ${fmt(refBytes / 1024)} KiB; a lifetime histogram plus one per window would take ${fmt((5 * refBytes) / 1024)} KiB per series.`,
    'Target: at most 64 KiB per series at the default precision.',
    '',
    'What `stats()` costs per heavy series after those two hours. A snapshot copies every stored slice and encodes the open one (best of several); `stats()` on the native back end takes a ticket instead: the event loop only advances the series and encodes their open slices, and the set\'s sealer thread copies the rest. Right after a 10 s boundary (median of several) the snapshot is what advances the series, so each one\'s full slice is queued for sealing: a snapshot waits until it is sealed, a ticket does not. The summary merges the slices into the lifetime and the four windows, takes their percentiles and writes the lifetime\'s V2 string (on a worker thread).',
    '',
    table(
      ['back end', 'snapshot bytes per series', 'snapshot, event loop', 'ticket, event loop', 'after a boundary: snapshot', 'after a boundary: ticket', 'summary, worker thread'],
      statsRows,
    ),
    '',
    'What opening a heavy series\' next slice costs the event loop, per series (median over the two hours, by the coarsest slice that closes with it): once per 10 s, in the first batch that reaches the series after the boundary; with many busy series, that batch pays for all of them.',
    `The native set takes the full slice\'s counters out of its pool there and hands them to a sealer thread of its own, which encodes the slice and merges it into the rings and accumulators (last column: its mean time per slice, sealings of every level included). Sealing inline does all that in the batch. The JS back end takes the counters out there too, and seals a budget of queued slices at the end of each batch (the opening one included), so the work is spread over the next batches of 2,048 spans (last column: the mean per slice, on the event loop). A batch's step took ${fmt(figures.js?.sealingStepsMs?.p50 ?? NaN, 2)} ms median, ${fmt(figures.js?.sealingStepsMs?.p99 ?? NaN, 2)} ms p99 and ${fmt(figures.js?.sealingStepsMs?.max ?? NaN, 1)} ms at most (over the last 4,096 steps; garbage collection and compilation that land in a step are counted). Heavy load: 20 series.`,
    '',
    table(['back end', 'at a 10 s boundary', '1 min', '5 min', '15 min', 'sealer thread per slice'], rotationRows),
  ].join('\n');
  return { title: 'Memory per operation series', markdown, figures: { ...figures, hdrHistogramJsBytes: refBytes } };
};
