'use strict';
/** Shared helpers of the benchmark suites: interleaved rounds, medians, formatting. */
const Benchmark = require('benchmark');
const os = require('node:os');

/** Median of numbers. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs every case once per round with benchmark.js, rotating the order each round
 * so that drift on a shared machine hits every case alike. A case is either
 * synchronous (`fn()` is one operation) or deferred (`deferred: true`,
 * `fn(deferred)` resolves it; `perOp` operations each). Returns, per case, the
 * per-round costs in nanoseconds per operation.
 */
async function interleaved(cases, { rounds, maxTime, log = () => {} }) {
  const costs = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]);
    for (const c of order) {
      const bench = new Benchmark(c.name, {
        fn: c.fn,
        defer: Boolean(c.deferred),
        maxTime,
        minSamples: 5,
        async: true,
      });
      await new Promise((resolve) => {
        bench.on('complete', resolve);
        bench.run({ async: true });
      });
      if (bench.error) throw bench.error;
      const ns = 1e9 / bench.hz / (c.perOp ?? 1);
      costs[c.name].push(ns);
      log(`  round ${round + 1}/${rounds} ${c.name}: ${ns.toFixed(1)} ns/op ±${bench.stats.rme.toFixed(1)}%`);
    }
  }
  return costs;
}

/** Runs `fn` `iterations` times and returns ns per call, best of `repeats`. */
function timeLoop(fn, iterations, repeats = 5) {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    if (ns < best) best = ns;
  }
  return best;
}

/**
 * CPU time of the calling thread in ns, so that worker threads do not count:
 * `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` through the native addon. Not
 * Linux's /proc/thread-self/schedstat: it advances only at scheduler ticks
 * (4 ms), which over a run of 15,360 spans is a step of 260 ns per span.
 * Undefined without the native addon.
 */
const threadCpuNs = (() => {
  try {
    const { threadCpuTimeNs } = require('../native/index.js');
    if (typeof threadCpuTimeNs === 'function' && Number.isFinite(threadCpuTimeNs())) return threadCpuTimeNs;
  } catch {
    // no native addon: callers fall back to process CPU time
  }
  return () => undefined;
})();

/**
 * The CPU clock the suites read: the main thread's where the native addon
 * gives it, else the whole process' (worker threads included), both in ns.
 */
const cpuClock =
  threadCpuNs() !== undefined
    ? { read: threadCpuNs, what: 'main-thread CPU time (CLOCK_THREAD_CPUTIME_ID)', mainThreadOnly: true }
    : {
        read: () => {
          const u = process.cpuUsage();
          return (u.user + u.system) * 1000;
        },
        what: 'process CPU time (all threads: the native addon, which reads the main thread\'s, is not built)',
        mainThreadOnly: false,
      };

/**
 * Lognormal latencies in µs (median `medianUs`, log-sd `sigma`) from a fixed
 * seed, one per call. The uniform source is the LCG
 * `seed = (seed * 1103515245 + 12345) mod 2^31` (native/examples/record_bench.rs
 * uses the same), computed exactly: in doubles, `seed * 1103515245` passes 2^53
 * and loses its low bits, and the sequence fell into a cycle of a few thousand
 * values, which made every series look far narrower than a lognormal is.
 */
function lognormalUs(seed, medianUs = 20_000, sigma = 1) {
  let s = seed;
  const random = () => (s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 2 ** 31;
  const mu = Math.log(medianUs);
  return () => {
    const u = 1 - random();
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()));
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const ratio = (a, b) => (b === 0 ? 'n/a' : `${fmt(a / b, 2)}×`);

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

module.exports = { median, interleaved, timeLoop, threadCpuNs, cpuClock, lognormalUs, machine, fmt, ratio, table };
