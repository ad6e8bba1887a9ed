'use strict';
/**
 * Recording and percentile extraction: spanmeter's batch path (native and JS)
 * against hdr-histogram-js (JS 64-bit and WebAssembly), in one run.
 */
const hdr = require('hdr-histogram-js');
const { loadBackend } = require('../dist/backend/load');
const { interleaved, median, fmt, ratio, table, timeLoop, lognormalUs } = require('./lib');

const BATCH = 4096;
const SERIES = 100;
const HIGHEST = 3_600_000_000;

/** Lognormal latencies in µs (median 20 ms), fixed seed. */
function values(n) {
  const draw = lognormalUs(99);
  return Float64Array.from({ length: n }, draw);
}

module.exports = async function run({ quick = false, log = console.log } = {}) {
  await hdr.initWebAssembly();
  const POOL = BATCH * 64;
  const durations = values(POOL);
  const ids = Uint32Array.from({ length: POOL }, (_, i) => i % SERIES);
  const flags = Uint8Array.from({ length: POOL }, (_, i) => (i % 50 === 0 ? 1 : 0));
  const rounded = Float64Array.from(durations, Math.round);
  const build = (useWebAssembly) =>
    hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, bitBucketSize: 64, useWebAssembly });
  const hJs = build(false);
  const hWasm = build(true);
  // The same job as spanmeter's set: every value into its own series' histogram.
  const hWasmPerSeries = Array.from({ length: SERIES }, () => build(true));
  const backends = ['native', 'js'].flatMap((kind) => {
    try {
      return [loadBackend(kind)];
    } catch {
      log(`  (${kind} back end not available, left out)`);
      return [];
    }
  });
  const createSet = (b) => b.createSet({ significantDigits: 3, highestTrackableUs: HIGHEST });
  const sets = backends.map((b) => ({ kind: b.kind, set: createSet(b) }));
  // The job hdr-histogram-js does in the single-histogram rows: every value into one series.
  const zeros = new Uint32Array(POOL);
  const nativeOne = backends.filter((b) => b.kind === 'native').map((b) => createSet(b));
  let offset = 0;
  const next = () => {
    offset = (offset + BATCH) % POOL;
    return offset;
  };
  const cases = [
    {
      name: 'hdr-histogram-js recordValue (JS, 64-bit)',
      perOp: BATCH,
      fn: () => {
        const o = next();
        for (let i = o; i < o + BATCH; i++) hJs.recordValue(rounded[i]);
      },
    },
    {
      name: 'hdr-histogram-js recordValue (WebAssembly)',
      perOp: BATCH,
      fn: () => {
        const o = next();
        for (let i = o; i < o + BATCH; i++) hWasm.recordValue(rounded[i]);
      },
    },
    {
      name: `hdr-histogram-js recordValue (WebAssembly, one histogram per series, ${SERIES} series)`,
      perOp: BATCH,
      fn: () => {
        const o = next();
        for (let i = o; i < o + BATCH; i++) hWasmPerSeries[ids[i]].recordValue(rounded[i]);
      },
    },
    ...sets.map(({ kind, set }) => ({
      name: `spanmeter ${kind} batch record (${SERIES} series, lifetime + windows)`,
      perOp: BATCH,
      fn: () => {
        const o = next();
        set.record(ids.subarray(o, o + BATCH), durations.subarray(o, o + BATCH), flags.subarray(o, o + BATCH), BATCH, 1_767_225_600_000);
      },
    })),
    ...nativeOne.map((set) => ({
      name: 'spanmeter native batch record (one series, lifetime + windows)',
      perOp: BATCH,
      fn: () => {
        const o = next();
        set.record(zeros.subarray(o, o + BATCH), durations.subarray(o, o + BATCH), flags.subarray(o, o + BATCH), BATCH, 1_767_225_600_000);
      },
    })),
  ];
  const rounds = quick ? 3 : 7;
  const costs = await interleaved(cases, { rounds, maxTime: quick ? 0.3 : 1.5, log });
  const med = Object.fromEntries(Object.entries(costs).map(([k, v]) => [k, median(v)]));
  const wasmNs = med['hdr-histogram-js recordValue (WebAssembly)'];
  const perSeriesName = cases.find((c) => c.name.includes('one histogram per series')).name;
  const nativeName = cases.find((c) => c.name.startsWith('spanmeter native') && c.name.includes(`${SERIES} series`))?.name;
  const nativeOneName = cases.find((c) => c.name.startsWith('spanmeter native') && c.name.includes('one series'))?.name;

  // Percentile extraction: what stats() does per series, off the event loop, versus
  // hdr-histogram-js asked for the same five percentiles of one histogram.
  const percentiles = [50, 90, 95, 99, 99.9];
  const hdrPercentileUs = timeLoop(() => percentiles.forEach((p) => hJs.getValueAtPercentile(p)), quick ? 200 : 1000) / 1000;
  const extraction = backends.map((b, i) => {
    const set = sets[i].set;
    const snapshotUs = timeLoop(() => set.snapshot(1_767_225_600_000), quick ? 5 : 20) / 1000;
    const snapshot = set.snapshot(1_767_225_600_000);
    const summarizeUs = timeLoop(() => b.summarize(snapshot, percentiles, [50, 99], true), quick ? 2 : 5) / 1000;
    const summarizeNoEncodeUs = timeLoop(() => b.summarize(snapshot, percentiles, [50, 99], false), quick ? 2 : 5) / 1000;
    return { kind: b.kind, snapshotUs, summarizeUs, summarizeNoEncodeUs, bytes: snapshot.byteLength };
  });
  hWasm.destroy();
  for (const h of hWasmPerSeries) h.destroy();

  // Thin series: many operations with a few values far apart (light traffic),
  // whose histograms span far more buckets than they hold.
  const thin = thinSeries(backends, percentiles, quick);

  const rows = cases.map((c) => [c.name, fmt(med[c.name]), fmt(1e3 / med[c.name], 1), ratio(wasmNs, med[c.name])]);
  const markdown = [
    `Values recorded, median of ${rounds} interleaved rounds (benchmark.js), ${BATCH} values per operation; lognormal latencies, median 20 ms.`,
    'spanmeter records each value into its series\' current 10 s slice, plus count, errors, sum, min and max (the lifetime and the four windows are built from sealed slices when one closes); hdr-histogram-js records into one histogram.',
    '',
    table(['recorder', 'ns per value', 'M values/s', 'speed-up vs hdr-histogram-js WASM'], rows),
    '',
    nativeName
      ? `- Native batch recording is **${ratio(wasmNs, med[nativeName])}** faster per value than hdr-histogram-js in WebAssembly mode recording into one histogram (target: at least 5×) — ${wasmNs / med[nativeName] >= 5 ? 'met' : 'NOT met'}. ` +
        `Against hdr-histogram-js WebAssembly doing the same job (one histogram per series, no windows) it is ${ratio(med[perSeriesName], med[nativeName])}; ` +
        `recording into one series, as hdr-histogram-js does in its single-histogram row, it is ${ratio(wasmNs, med[nativeOneName])} (${fmt(med[nativeOneName])} ns per value). ` +
        'The verdict stays on the strictest pairing (100 series against one histogram).'

      : '- Native back end not available in this run.',
    '',
    `Percentile extraction (p50, p90, p95, p99, p99.9):`,
    '',
    table(
      ['what', 'time', 'where'],
      [
        ['hdr-histogram-js getValueAtPercentile ×5, one histogram', `${fmt(hdrPercentileUs, 1)} µs`, 'caller\'s thread'],
        ...extraction.flatMap((e) => [
          [`spanmeter ${e.kind} snapshot of ${SERIES} series (${(e.bytes / 1024).toFixed(0)} KiB)`, `${fmt(e.snapshotUs, 0)} µs (${fmt(e.snapshotUs / SERIES, 1)} µs/series)`, 'event loop'],
          [`spanmeter ${e.kind} summarize: percentiles of lifetime + 4 windows + V2 encoding`, `${fmt(e.summarizeUs / SERIES, 1)} µs/series`, 'worker thread'],
          [`spanmeter ${e.kind} summarize without the V2 encoding`, `${fmt(e.summarizeNoEncodeUs / SERIES, 1)} µs/series`, 'worker thread'],
        ]),
      ],
    ),
    '',
    `Summaries of ${THIN_SERIES.toLocaleString('en-US')} thin series, each of two values far apart (1 µs and 250 ms: a light operation's spread, no buckets between), as \`stats()\` asks for them: 5 percentiles of the lifetime, 2 of each window, the V2 string (worker thread). The reference keeps one hdr-histogram-js histogram per series (built beforehand) and asks each for the 5 percentiles and its V2 string; at 5 digits one such histogram takes 16 MiB, so there is no 5-digit reference.`,
    '',
    table(
      ['what', '3 digits', '5 digits', 'vs the reference (3 digits)'],
      [
        ['hdr-histogram-js: 5 percentiles and V2 string per histogram', `${fmt(thin.referenceMs, 1)} ms`, '—', '1.00×'],
        ...thin.rows.map((r) => [`spanmeter ${r.kind} summarize`, `${fmt(r.ms[3], 1)} ms`, `${fmt(r.ms[5], 1)} ms`, ratio(r.ms[3], thin.referenceMs)]),
      ],
    ),
  ].join('\n');
  return { title: 'Histogram recording and percentile extraction', markdown, figures: { recordNs: med, hdrPercentileUs, extraction, thin } };
};

const THIN_SERIES = 1000;

/** Summary time (ms) of THIN_SERIES two-value series at 3 and 5 digits, per back end, and the hdr-histogram-js reference at 3 digits. */
function thinSeries(backends, percentiles, quick) {
  const n = 2 * THIN_SERIES;
  const ids = Uint32Array.from({ length: n }, (_, k) => k >> 1);
  const values = Float64Array.from({ length: n }, (_, k) => (k & 1 ? 250_000 : 1));
  const rows = backends.map((b) => {
    const ms = {};
    for (const digits of [3, 5]) {
      const set = b.createSet({ significantDigits: digits, highestTrackableUs: HIGHEST });
      set.record(ids, values, new Uint8Array(n), n, 1_767_225_600_000);
      const snapshot = set.snapshot(1_767_225_600_000);
      ms[digits] = timeLoop(() => b.summarize(snapshot, percentiles, [50, 99], true), quick ? 1 : 3) / 1e6;
    }
    return { kind: b.kind, ms };
  });
  const histograms = Array.from({ length: THIN_SERIES }, () => {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, bitBucketSize: 64, useWebAssembly: false });
    h.recordValue(1);
    h.recordValue(250_000);
    return h;
  });
  const referenceMs =
    timeLoop(
      () => {
        for (const h of histograms) {
          for (const p of percentiles) h.getValueAtPercentile(p);
          hdr.encodeIntoCompressedBase64(h);
        }
      },
      quick ? 1 : 3,
    ) / 1e6;
  return { rows, referenceMs };
}
