// The native set's sealer queue is bounded: slices that came faster than the
// sealer thread sealed them (a replayed or simulated clock, or more busy series
// than it seals in 10 s) piled up without end (817 MB in 300 batches of 2,000
// series); the recording thread now waits once the queue passes three times one
// boundary's slices and 64 MiB. And memoryBytes counts the slices queued.
import test from 'ava';
import { backendInfo } from 'spanmeter';

const { loadBackend } = await import('../dist/backend/load.js');

// Native only: without a native build (outside CI) skipped with a message; in CI they must run.
const nativeTest =
  backendInfo().nativeAvailable || process.env.CI
    ? test.serial
    : (title) => test.skip(`${title} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});

function run(sealInline) {
  const set = loadBackend('native').createSet({ significantDigits: 3, highestTrackableUs: 3_600_000_000, sealInline });
  const series = 2000;
  const n = 200_000;
  const ids = new Uint32Array(n);
  const durations = new Float64Array(n);
  const flags = new Uint8Array(n);
  let x = 1;
  for (let i = 0; i < n; i++) {
    ids[i] = i % series;
    x = (x * 48271) % 2147483647;
    durations[i] = 15_000 * Math.exp(3 * (x / 2147483647 - 0.5));
  }
  let rssAt100 = 0;
  for (let b = 0; b <= 400; b++) {
    set.record(ids, durations, flags, n, b * 10_000);
    if (b === 100) rssAt100 = process.memoryUsage().rss;
  }
  const grown = process.memoryUsage().rss - rssAt100;
  const reported = set.memoryBytes();
  const t0 = performance.now();
  set.sealingStats();
  const backlogMs = performance.now() - t0;
  return { grownMB: Math.round(grown / 1e6), reportedMB: Math.round(reported / 1e6), backlogMs: Math.round(backlogMs) };
}

nativeTest('native sealer thread: memory stays bounded when slices arrive faster than they are sealed', (t) => {
  const thread = run(false);
  t.true(thread.grownMB < 150, `RSS grew ${thread.grownMB} MB over 300 batches (memoryBytes says ${thread.reportedMB} MB); draining the queue took ${thread.backlogMs} ms`);
});

nativeTest('native memoryBytes right after a 10 s boundary counts the slices queued for the sealer', (t) => {
  const set = loadBackend('native').createSet({ significantDigits: 3, highestTrackableUs: 3_600_000_000 });
  const n = 1_000_000;
  const ids = new Uint32Array(n);
  const durations = new Float64Array(n);
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = i % 50_000;
    durations[i] = Math.exp(5 + ((i * 7919) % 1000) / 125);
  }
  set.record(ids, durations, flags, n, 0);
  const before = set.memoryBytes();
  set.record(ids, durations, flags, 1, 10_000); // opens the next slice: 50,000 full slices queued
  const atOnce = set.memoryBytes();
  // their pages moved from the series to the queue: before, they were counted nowhere (0.56x)
  t.true(atOnce >= 0.75 * before, `memoryBytes ${before} before the boundary, ${atOnce} right after it`);
});
