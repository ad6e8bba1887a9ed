// The benchmarks' latency generator (bench/lib.js): the LCG it names, computed
// exactly, and values as spread as a lognormal is. Computed in doubles, the LCG
// fell into a cycle of a few thousand values, and the histogram and memory
// figures were measured on far narrower series than they said.
import test from 'ava';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { lognormalUs } = require('../bench/lib.js');

test('lognormalUs draws from the exact LCG (seed * 1103515245 + 12345) mod 2^31', (t) => {
  let s = 7n;
  const uniform = () => Number((s = (s * 1103515245n + 12345n) % 2n ** 31n)) / 2 ** 31;
  const draw = lognormalUs(7, 1000, 0.5);
  for (let i = 0; i < 20_000; i++) {
    const u = 1 - uniform();
    const expected = Math.exp(Math.log(1000) + 0.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform()));
    const got = draw();
    if (got !== expected) return t.fail(`value ${i}: ${got} instead of ${expected}`);
  }
  t.pass();
});

test('lognormalUs values are spread as a lognormal: log-sd sigma, many distinct values', (t) => {
  const draw = lognormalUs(5);
  const n = 200_000;
  const distinct = new Set();
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const v = draw();
    distinct.add(Math.round(v));
    const l = Math.log(v / 20_000);
    sum += l;
    sumSq += l * l;
  }
  const sd = Math.sqrt(sumSq / n - (sum / n) ** 2);
  t.true(Math.abs(sum / n) < 0.01, `mean of log ${sum / n}`);
  t.true(Math.abs(sd - 1) < 0.01, `sd of log ${sd}`);
  // 200,000 draws over ~5 decades of µs: most are distinct (the broken generator gave ~5,000)
  t.true(distinct.size > 50_000, `${distinct.size} distinct values`);
});
