'use strict';
/**
 * Event-loop cost of span start+end: bare SDK, + BatchSpanProcessor with a no-op
 * exporter, + SpanMeterProcessor (stats only), + a processor that does nothing
 * (the SDK's own cost of dispatching to one), measured side by side.
 *
 * Method:
 * - Each configuration runs in processes of its own (bench/overhead-child.js),
 *   one provider per process as in a real service. In one shared process the
 *   four providers run the same SDK functions, whose call sites then see every
 *   processor class, and V8 compiles them for the mix: every processor's cost
 *   came out inflated.
 * - Several processes per configuration: how V8 happens to compile the SDK
 *   differs from one process to the next by up to a few hundred ns per span,
 *   even for identical processes. A configuration's cost in a round is the mean
 *   over its processes, so that no single compilation decides.
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
  const perConfig = quick ? 2 : 3;
  const rounds = quick ? 41 : 201;
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
    return report({ costs, perProcess, children, finals, rounds, spans, perConfig });
  } finally {
    for (const k of children) if (k.child.exitCode === null) k.child.kill();
  }
};

function report({ costs, perProcess, children, finals, rounds, spans, perConfig }) {
  const medians = costs.map(median);
  const added = costs.map((list) => median(list.map((v, round) => v - costs[0][round])));
  // each process on its own against the bare SDK's mean: the spread of V8's compilations
  const processAdded = children.map((k, i) => median(perProcess[i].map((v, round) => v - costs[0][round])));
  const spread = CONFIGS.map((_, ci) => {
    const own = processAdded.filter((_, i) => children[i].ci === ci);
    return `${fmt(Math.min(...own), 0)} to ${fmt(Math.max(...own), 0)}`;
  });
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
    i === 0 ? '—' : fmt(added[i]),
    i === 0 ? '—' : `${fmt((added[i] / bareNs) * 100)}%`,
    i === 0 ? '—' : spread[i],
  ]);
  const markdown = [
    `Span start+end, ${finals[0].clock} per span. Each configuration runs in ${perConfig} processes of its own (one provider each, as in a service); ${rounds} interleaved rounds of ${spans.toLocaleString('en')} spans per process, in chunks of 256 with an event-loop turn between chunks. A configuration's cost in a round is the mean over its processes; "added" is the median over rounds of its difference to the bare SDK in the same round.`,
    '',
    table(['configuration', 'ns per span (median)', 'k spans/s', 'added ns', 'added vs bare', 'added ns, each process alone'], rows),
    '',
    `- SpanMeterProcessor adds **${fmt((meterAdd / bareNs) * 100)}%** to the bare SDK's cost (target: at most 10%) — ${meterAdd / bareNs <= 0.1 ? 'met' : 'NOT met'}.`,
    `- SpanMeterProcessor's added cost is **${ratio(meterAdd, bspAdd)}** BatchSpanProcessor's (target: at most 0.10×) — ${meterAdd / bspAdd <= 0.1 ? 'met' : 'NOT met'}.`,
    `- Of these, ${fmt(noopAdd)} ns is what the SDK adds for any processor, one that does nothing; above that floor SpanMeterProcessor adds ${fmt(meterAdd - noopAdd)} ns and BatchSpanProcessor ${fmt(bspAdd - noopAdd)} ns.`,
    `- The last column is each process measured alone: identical processes differ by that much, because V8 compiles the SDK's span path a little differently in each.`,
    `- Every span was recorded: ${sum(2, 'recorded').toLocaleString('en')} spans in stats() of ${sum(2, 'ended').toLocaleString('en')} ended, ${droppedAny ? JSON.stringify(meterDropped) : 'none dropped'}.`,
    `- BatchSpanProcessor exported ${sum(1, 'exported').toLocaleString('en')} of ${sum(1, 'ended').toLocaleString('en')} spans ended (it drops when its queue is full).`,
  ].join('\n');
  return {
    title: 'Overhead: span start+end',
    markdown,
    figures: { bareNs, bspAddNs: bspAdd, spanmeterAddNs: meterAdd, noopAddNs: noopAdd, addedVsBare: meterAdd / bareNs, addedVsBsp: meterAdd / bspAdd, medians, processAdded, costs },
  };
}
