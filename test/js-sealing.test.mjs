// The JS back end seals full slices deferred: the batch that opens a slice only
// takes the full ones out of the pool, and each batch seals a budget of them.
import test from 'ava';
import { rng, normal } from './helpers/spans.mjs';

const { loadBackend } = await import('../dist/backend/load.js');
const OPTIONS = { significantDigits: 3, highestTrackableUs: 3_600_000_000 };
const SERIES = 20;

/** `n` spread latencies (lognormal, σ = 1) round-robin over the series. */
function batch(random, n, first = 0) {
  const ids = new Uint32Array(n);
  const durations = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = (first + i) % SERIES;
    durations[i] = Math.exp(Math.log(20_000) + normal(random));
  }
  return { ids, durations, flags: new Uint8Array(n).fill(0) };
}

function record(set, b, now) {
  set.record(b.ids, b.durations, b.flags, b.ids.length, now);
}

test('the batch that opens a slice seals few full slices; the next batches seal the rest, with the same snapshots', (t) => {
  const deferred = loadBackend('js').createSet(OPTIONS);
  const eager = loadBackend('js').createSet(OPTIONS);
  const random = rng(3);
  let now = Date.UTC(2026, 0, 1);
  for (let slice = 0; slice < 4; slice++) {
    for (let k = 0; k < 40; k++) {
      const b = batch(random, 2048, k);
      record(deferred, b, now);
      record(eager, b, now);
      eager.sealingStats(); // seals everything queued: sealing in place
    }
    now += 10_000;
    const opening = batch(random, SERIES);
    record(deferred, opening, now);
    record(eager, opening, now);
    eager.sealingStats();
    if (slice > 0) {
      // 20 busy series' slices became full: the opening batch sealed a few
      t.true(deferred.pendingSeals >= SERIES / 2 && deferred.pendingSeals < SERIES, `${deferred.pendingSeals} pending after the opening batch`);
    }
    let batches = 0;
    while (deferred.pendingSeals > 0 && batches < 40) {
      const b = batch(random, 2048, batches);
      record(deferred, b, now);
      record(eager, b, now);
      eager.sealingStats();
      batches++;
    }
    t.is(deferred.pendingSeals, 0, 'the following batches sealed every full slice');
    t.true(batches <= 12, `${batches} batches to seal ${SERIES} slices`);
    t.true(Buffer.from(deferred.snapshot(now)).equals(Buffer.from(eager.snapshot(now))), `snapshot after slice ${slice}`);
  }
  const stats = deferred.sealingStats();
  t.is(stats.mode, 'deferred');
  t.is(stats.slices, 4 * SERIES);
});

test('with one huge batch per slice the queue stays bounded', (t) => {
  const set = loadBackend('js').createSet(OPTIONS);
  const random = rng(4);
  const b = batch(random, 60_000);
  let now = Date.UTC(2026, 0, 1);
  const pending = [];
  for (let slice = 0; slice < 120; slice++) {
    record(set, b, now);
    pending.push(set.pendingSeals);
    now += 10_000;
  }
  // 20 full slices a batch, never sealed in full by that batch: without the
  // backlog share the queue would grow by ~18 per slice (> 2,000 here)
  t.true(Math.max(...pending.slice(60)) <= Math.max(...pending.slice(0, 60)) + 2, `pending: ${pending.slice(-5)}`);
  t.true(Math.max(...pending) < 400, `at most ${Math.max(...pending)} pending`);
  set.snapshot(now); // seals the last slices too
  t.is(set.pendingSeals, 0);
  t.is(set.sealingStats().slices, 120 * SERIES);
});

test('before a snapshot, the slices a boundary fills are sealed one budget per event-loop turn, with the same snapshot', async (t) => {
  const { sealBeforeSnapshot } = await import('../dist/backend/snapshot-source.js');
  const staged = loadBackend('js').createSet(OPTIONS);
  const direct = loadBackend('js').createSet(OPTIONS);
  const random = rng(5);
  const start = Date.UTC(2026, 0, 1);
  const b = batch(random, 40_000);
  for (const set of [staged, direct]) record(set, b, start);
  // past the boundary, nothing recorded since: every series' slice is full but not yet queued
  const later = start + 10_000;
  let turns = 0;
  const pendingPerTurn = [];
  let done = false;
  const sealing = sealBeforeSnapshot(staged, later).then(() => (done = true));
  // in the calling turn: advanced, a budget sealed, the rest left for the turns that follow
  t.true(staged.pendingSeals > 0 && staged.pendingSeals < SERIES, `${staged.pendingSeals} pending after the first step`);
  while (!done) {
    await new Promise(setImmediate);
    turns++;
    pendingPerTurn.push(staged.pendingSeals);
  }
  await sealing;
  t.is(staged.pendingSeals, 0);
  t.true(turns >= 3, `sealed over ${turns} turns (${pendingPerTurn})`);
  t.true(pendingPerTurn.every((p, i) => i === 0 || p <= pendingPerTurn[i - 1]), `${pendingPerTurn}`);
  t.deepEqual(staged.snapshot(later), direct.snapshot(later));
});
