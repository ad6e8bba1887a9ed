'use strict';
/**
 * Runs the benchmark suites side by side and writes bench/RESULTS.md.
 * `node bench/run.js [--quick] [suite ...]` (suites: overhead, histogram, memory, stats, slo-eval, export).
 * Some suites only: bench/RESULTS.partial.md; --quick: bench/RESULTS.quick.md.
 */
const fs = require('node:fs');
const path = require('node:path');
const { machine } = require('./lib');

const ALL = ['overhead', 'histogram', 'memory', 'stats', 'slo-eval', 'export'];

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const selected = args.filter((a) => !a.startsWith('--'));
  // a misspelt suite ran nothing and still wrote an empty RESULTS.partial.md
  const unknown = selected.filter((name) => !ALL.includes(name));
  const unknownFlags = args.filter((a) => a.startsWith('--') && a !== '--quick');
  if (unknown.length > 0 || unknownFlags.length > 0) {
    console.error(`bench: unknown ${[...unknown, ...unknownFlags].map((a) => JSON.stringify(a)).join(', ')}; suites: ${ALL.join(', ')}; flag: --quick`);
    process.exit(2);
  }
  const suites = selected.length ? selected : ALL;
  const m = machine();
  const sections = [];
  const figures = {};
  for (const name of suites) {
    console.log(`\n## ${name}`);
    const result = await require(`./${name}.js`)({ quick, log: console.log });
    sections.push(`## ${result.title}\n\n${result.markdown}\n`);
    figures[name] = result.figures;
    console.log(result.markdown);
  }
  const doc = [
    '# spanmeter benchmark results',
    '',
    `Written by \`npm run bench\`${quick ? ' (quick mode: fewer rounds, figures are rough)' : ''} on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node.js ${m.node}; ${m.platform}.`,
    'Every figure below comes from one run, with the reference measured side by side in the same process.',
    '',
    ...sections,
  ].join('\n');
  // A run of some suites only leaves the full run's RESULTS.md as it is
  const out = path.join(__dirname, quick ? 'RESULTS.quick.md' : selected.length ? 'RESULTS.partial.md' : 'RESULTS.md');
  fs.writeFileSync(out, doc);
  fs.writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify({ machine: m, quick, figures }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
