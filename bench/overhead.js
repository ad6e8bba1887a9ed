'use strict';
/**
 * Event-loop cost of span start+end: bare SDK, + BatchSpanProcessor with a no-op
 * exporter, + SpanMeterProcessor (stats only), + a processor that does nothing
 * (the SDK's own cost of dispatching to one), measured side by side.
 *
 * Two measurements:
 * 1. Switched (the verdict): one provider per process holds BatchSpanProcessor
 *    and SpanMeterProcessor behind switches, and each run turns one or neither
 *    on. Within a process the SDK is compiled once for all states, so the
 *    difference between states is the processor's own work; it is stable from
 *    process to process (±50 ns), where the next measurement is not.
 * 2. Separate processes, against the bare SDK and a processor that does
 *    nothing (the SDK's cost of calling one at all):
 * - Each configuration runs in processes of its own (bench/overhead-child.js),
 *   one provider per process as in a real service. In one shared process the
 *   four providers run the same SDK functions, whose call sites then see every
 *   processor class, and V8 compiles them for the mix: every processor's cost
 *   came out inflated.
 * - Eight processes per configuration: identical processes differ by up to
 *   ±150 ns per span (V8 compiles the SDK's span path a little differently in
 *   each, and memory lands elsewhere), so a configuration's cost in a round is
 *   the mean over its processes: the cost a service can expect, not one draw.
 * - Many short rounds (15,360 spans per process), interleaved: one process runs
 *   at a time, the order rotates every round, and the added cost of a processor
 *   is the median over rounds of (its cost - the bare SDK's cost in the same
 *   round). The shared machine has fast and slow phases lasting seconds; a round
 *   takes well under one.
 * - Spans end in chunks of 256 with one turn of the event loop between chunks,
 *   so that deferred work (BatchSpanProcessor's exports) happens and is measured.
 * - Cost = CPU time of the main thread per span, from CLOCK_THREAD_CPUTIME_ID.
 *   (Linux's /proc/thread-self/schedstat, used before, advances in 4 ms ticks:
 *   a step of 260 ns per span over one run, which is what its medians measured.)
 * benchmark.js is not used here: its synchronous mode never lets
 * BatchSpanProcessor export, so it measures the queue-full drop path, and its
 * deferred mode adds timer overhead per operation.
 */
const { fork } = require('node:child_process');
const path = require('node:path');
const { median, fmt, ratio, table } = require('./lib');

const CONFIGS = [
  { key: 'bare', name: 'bare SDK' },
  { key: 'bsp', name: 'BatchSpanProcessor (no-op exporter)' },
  { key: 'spanmeter', name: 'SpanMeterProcessor' },
  { key: 'noop', name: 'a processor that does nothing' },
];

/** A child process running one configuration; `ask` sends a message and resolves with the reply. */
function startChild(key) {
  const child = fork(path.join(__dirname, 'overhead-child.js'), [key], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ask = (message) =>
    new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`overhead-child ${key} exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (reply) => {
        child.off('exit', onExit);
        resolve(reply);
      });
      child.send(message);
    });
  return { key, child, ask, exited };
}

module.exports = async function overhead({ quick = false, log = console.log } = {}) {
  // Identical processes differ by up to ±150 ns per span (V8's compilation and
  // memory placement differ in each); what decides is the number of processes.
  const perConfig = quick ? 3 : 8;
  const rounds = quick ? 21 : 61;
  const spans = quick ? 7_680 : 15_360;
  const warmUp = quick ? 25_000 : 100_000;
  const children = CONFIGS.flatMap((c, ci) => Array.from({ length: perConfig }, () => ({ ci, ...startChild(c.key) })));
  try {
    // warm-up: let every process reach optimized code
    for (const k of children) await k.ask({ spans: warmUp });
    // costs[ci][round] = mean over the configuration's processes; perProcess[k][round]
    const costs = CONFIGS.map(() => []);
    const perProcess = children.map(() => []);
    for (let round = 0; round < rounds; round++) {
      const sums = CONFIGS.map(() => 0);
      for (let j = 0; j < children.length; j++) {
        const k = (j + round) % children.length;
        const { ns } = await children[k].ask({ spans });
        perProcess[k].push(ns);
        sums[children[k].ci] += ns / perConfig;
      }
      sums.forEach((v, ci) => costs[ci].push(v));
      if ((round + 1) % 50 === 0 || round + 1 === rounds) {
        log(`  round ${round + 1}/${rounds}: ${CONFIGS.map((c, i) => `${c.name} ${fmt(costs[i][round])} ns`).join(', ')}`);
      }
    }
    const finals = [];
    for (const k of children) finals.push(await k.ask({ end: true }));
    await Promise.all(children.map((k) => k.exited));
    const switched = await switchedInOneProvider({ quick, log, spans, warmUp });
    const separate = report({ costs, perProcess, children, finals, rounds, spans, perConfig });
    return {
      title: 'Overhead: span start+end',
      markdown: `${switched.markdown}\n\n${separate.markdown}`,
      figures: { switched: switched.figures, ...separate.figures },
    };
  } finally {
    for (const k of children) if (k.child.exitCode === null) k.child.kill();
  }
};

const STATES = [
  { key: 'none', name: 'all off (the SDK with four idle processors)' },
  { key: 'bsp', name: 'BatchSpanProcessor (no-op exporter) on' },
  { key: 'spanmeter', name: 'SpanMeterProcessor on' },
  { key: 'spanmeter_js', name: 'SpanMeterProcessor on, JS fallback (an install without the native addon)' },
  { key: 'noop', name: 'a processor that does nothing, on' },
];

/**
 * The processors' own work, measured where no process-to-process difference
 * can hide it: one provider holds BatchSpanProcessor and SpanMeterProcessor
 * (native, and a second one on the JS fallback) and a processor that does
 * nothing behind switches, each run turns on one or none, and the added cost
 * is the median over rounds of (cost with it
 * on - cost with all off) in the same process. Three such processes; a state's
 * cost in a round is their mean.
 */
async function switchedInOneProvider({ quick, log, spans, warmUp }) {
  const processes = 3;
  const rounds = quick ? 21 : 101;
  const children = Array.from({ length: processes }, () => startChild('switch'));
  try {
    for (const k of children) for (const s of STATES) await k.ask({ spans: warmUp, state: s.key });
    const costs = STATES.map(() => []);
    const perProcess = children.map(() => STATES.map(() => []));
    for (let round = 0; round < rounds; round++) {
      const sums = STATES.map(() => 0);
      for (let j = 0; j < children.length; j++) {
        const p = (j + round) % children.length;
        for (let m = 0; m < STATES.length; m++) {
          const si = (m + round) % STATES.length;
          const { ns } = await children[p].ask({ spans, state: STATES[si].key });
          perProcess[p][si].push(ns);
          sums[si] += ns / processes;
        }
      }
      sums.forEach((v, si) => costs[si].push(v));
      if ((round + 1) % 25 === 0 || round + 1 === rounds) {
        log(`  switched round ${round + 1}/${rounds}: ${STATES.map((s, i) => `${s.key} ${fmt(costs[i][round])} ns`).join(', ')}`);
      }
    }
    const finals = [];
    for (const k of children) finals.push(await k.ask({ end: true }));
    await Promise.all(children.map((k) => k.exited));
    const medians = costs.map(median);
    const added = costs.map((list) => median(list.map((v, round) => v - costs[0][round])));
    const eachProcess = STATES.map((_, si) => perProcess.map((own) => median(own[si].map((v, round) => v - own[0][round]))));
    const baseNs = medians[0];
    const [bspAdd, meterAdd, meterJsAdd, floorAdd] = [added[1], added[2], added[3], added[4]];
    const recorded = finals.reduce((s, f) => s + (f.recorded ?? 0) + (f.recordedJs ?? 0), 0);
    const meterSaw = finals.reduce((s, f) => s + f.seen.spanmeter + f.seen.spanmeter_js, 0);
    const rows = STATES.map((s, i) => [
      i === 2 ? `${s.name} (${finals[0].backend})` : s.name,
      fmt(medians[i]),
      i === 0 ? '—' : fmt(added[i]),
      i === 0 ? '—' : `${fmt((added[i] / baseNs) * 100)}%`,
      i === 0 ? '—' : eachProcess[i].map((v) => fmt(v, 0)).join(', '),
    ]);
    const markdown = [
      `**Each processor's own work, switched on and off in one provider.** ${processes} processes, each with one provider holding the processors behind switches; ${rounds} rounds, each running ${spans.toLocaleString('en')} spans per state per process, the order rotating. "added" is the median over rounds of (state - all off) in the same round, the cost a state has in a round being the mean over the processes. Within one process the SDK's code is compiled once for every state, so the difference is the processor's own work, whatever V8 made of the SDK in that process.`,
      '',
      table(['state', 'ns per span (median)', 'added ns', 'added vs all off', 'added ns, each process'], rows),
      '',
      `- SpanMeterProcessor's work adds **${fmt((meterAdd / baseNs) * 100)}%** to the SDK's span start+end (target: at most 10%) — ${meterAdd / baseNs <= 0.1 ? 'met' : 'NOT met'}.`,
      `- It is **${ratio(meterAdd, bspAdd)}** of what BatchSpanProcessor's adds (target: at most 0.10×) — ${meterAdd / bspAdd <= 0.1 ? 'met' : 'NOT met'}.`,
      `- On the JS fallback it adds ${fmt((meterJsAdd / baseNs) * 100)}% (${ratio(meterJsAdd, bspAdd)} BatchSpanProcessor's addition).`,
      `- A processor that does nothing, switched on, adds ${fmt(floorAdd)} ns: the SDK calling one more processor's onStart and onEnd, and what is left of the switch itself (each switch has a class of its own, so its calls stay monomorphic; when the three shared one class, this floor was 40-60 ns and inflated every row). It is part of every "added" figure above.`,
      `- Every span ended while a SpanMeterProcessor (native or JS) was on was recorded by it: ${recorded.toLocaleString('en')} of ${meterSaw.toLocaleString('en')}.`,
    ].join('\n');
    return {
      markdown,
      figures: { baseNs, bspAddNs: bspAdd, spanmeterAddNs: meterAdd, spanmeterJsAddNs: meterJsAdd, floorAddNs: floorAdd, medians, eachProcess, addedVsBase: meterAdd / baseNs, addedVsBsp: meterAdd / bspAdd },
    };
  } finally {
    for (const k of children) if (k.child.exitCode === null) k.child.kill();
  }
}

function standardDeviation(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
}

function report({ costs, perProcess, children, finals, rounds, spans, perConfig }) {
  const medians = costs.map(median);
  const added = costs.map((list) => median(list.map((v, round) => v - costs[0][round])));
  // each process on its own against the bare SDK's mean: the spread of V8's compilations
  const processAdded = children.map((k, i) => median(perProcess[i].map((v, round) => v - costs[0][round])));
  const own = (ci) => processAdded.filter((_, i) => children[i].ci === ci);
  const spread = CONFIGS.map((_, ci) => `${fmt(Math.min(...own(ci)), 0)} to ${fmt(Math.max(...own(ci)), 0)}`);
  // standard error of a configuration's mean over its processes, and of its difference to the bare SDK
  const se = CONFIGS.map((_, ci) => standardDeviation(own(ci)) / Math.sqrt(perConfig));
  const seAdded = se.map((s) => Math.sqrt(s * s + se[0] * se[0]));
  const bareNs = medians[0];
  const [bspAdd, meterAdd, noopAdd] = [added[1], added[2], added[3]];
  const sum = (ci, field) => finals.reduce((s, f, i) => s + (children[i].ci === ci ? f[field] ?? 0 : 0), 0);
  const meterDropped = finals.filter((f, i) => children[i].ci === 2).map((f) => f.dropped ?? {});
  const droppedAny = meterDropped.some((d) => Object.keys(d).length > 0);
  const backend = finals.find((f, i) => children[i].ci === 2)?.backend;
  const rows = CONFIGS.map((c, i) => [
    i === 2 ? `${c.name} (${backend})` : c.name,
    fmt(medians[i]),
    fmt(1e6 / medians[i], 0),
    i === 0 ? '—' : `${fmt(added[i])} ± ${fmt(seAdded[i], 0)}`,
    i === 0 ? '—' : `${fmt((added[i] / bareNs) * 100)}% ± ${fmt((seAdded[i] / bareNs) * 100)}%`,
    i === 0 ? '—' : spread[i],
  ]);
  const markdown = [
    `**Each configuration in processes of its own, against the bare SDK.** Span start+end, ${finals[0].clock} per span. Each configuration runs in ${perConfig} processes of its own (one provider each, as in a service); ${rounds} interleaved rounds of ${spans.toLocaleString('en')} spans per process, in chunks of 256 with an event-loop turn between chunks. A configuration's cost in a round is the mean over its processes; "added" is the median over rounds of its difference to the bare SDK in the same round.`,
    '',
    table(['configuration', 'ns per span (median)', 'k spans/s', 'added ns ± s.e.', 'added vs bare', 'added ns, each process alone'], rows),
    '',
    `- SpanMeterProcessor adds ${fmt((meterAdd / bareNs) * 100)}% (± ${fmt((seAdded[2] / bareNs) * 100)}%, one standard error over processes) to the bare SDK's cost, ${ratio(meterAdd, bspAdd)} BatchSpanProcessor's addition.`,
    `- Of these, ${fmt(noopAdd)} ns is what the SDK adds for any processor, one that does nothing; above that floor SpanMeterProcessor adds ${fmt(meterAdd - noopAdd)} ns and BatchSpanProcessor ${fmt(bspAdd - noopAdd)} ns.`,
    `- The last column is each process measured alone: identical processes differ by that much (V8 compiles the SDK's span path a little differently in each, and memory lands elsewhere); "±" is the standard error that leaves on the mean over ${perConfig} processes.`,
    `- Every span was recorded: ${sum(2, 'recorded').toLocaleString('en')} spans in stats() of ${sum(2, 'ended').toLocaleString('en')} ended, ${droppedAny ? JSON.stringify(meterDropped) : 'none dropped'}.`,
    `- BatchSpanProcessor exported ${sum(1, 'exported').toLocaleString('en')} of ${sum(1, 'ended').toLocaleString('en')} spans ended (it drops when its queue is full).`,
  ].join('\n');
  return {
    markdown,
    figures: { bareNs, bspAddNs: bspAdd, spanmeterAddNs: meterAdd, noopAddNs: noopAdd, standardErrorNs: seAdded, addedVsBare: meterAdd / bareNs, addedVsBsp: meterAdd / bspAdd, medians, processAdded, costs },
  };
}
