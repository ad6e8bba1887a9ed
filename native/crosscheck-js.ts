// Byte-for-byte comparison of the native set against the JS back end
// (src/backend/js), on random batches with bad values, clocks going back and
// long gaps:   npx tsx native/crosscheck-js.ts [rounds]
// Snapshots must be identical; summaries must be equal except `histogram`,
// which is compared by decoding (deflate output differs between back ends).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { JsHistogramSet } from '../src/backend/js/histogram-set';
import { summarizeSnapshotJs } from '../src/backend/js/summarize';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require(path.join(__dirname, 'index.js'));

let seed = 12345;
/** mulberry32 */
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function lognormal(median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return median * Math.exp(sigma * z);
}

const rounds = Number(process.argv[2] ?? 400);
const PS = [0, 1, 50, 90, 99, 99.9, 100];
for (const [digits, highest] of [[3, 3_600_000_000], [2, 100_000], [1, 1000], [5, 3_600_000_000]]) {
  const opts = { significantDigits: digits, highestTrackableUs: highest };
  const js = new JsHistogramSet(opts);
  const rs = new native.NativeHistogramSet(opts);
  let now = 1_700_000_000_000 + Math.floor(rand() * 1e6);
  let snaps = 0;
  for (let r = 0; r < rounds; r++) {
    const jump = rand();
    if (jump < 0.8) now += Math.floor(rand() * 20_000);
    else if (jump < 0.9) now += Math.floor(rand() * 4_000_000);
    else now -= Math.floor(rand() * 1_000_000);
    if (rand() < 0.15) {
      const a = js.snapshot(now);
      const b: Buffer = rs.snapshot(now);
      assert.deepEqual(Buffer.from(b), Buffer.from(a), `snapshot bytes differ at round ${r} (d=${digits})`);
      const sa = summarizeSnapshotJs(a, PS, PS, true);
      const sb = native.summarizeSnapshot(b, PS, PS, true);
      assert.equal(sb.length, sa.length);
      for (let i = 0; i < sa.length; i++) {
        const { histogram: ha, ...ra } = sa[i];
        const { histogram: hb, ...rb } = sb[i];
        assert.deepEqual(rb, ra, `summary differs at round ${r}`);
        const da = hdr.decodeFromCompressedBase64(ha);
        const db = hdr.decodeFromCompressedBase64(hb);
        assert.equal(db.totalCount, da.totalCount);
        assert.deepEqual(PS.map((p) => db.getValueAtPercentile(p)), PS.map((p) => da.getValueAtPercentile(p)));
      }
      assert.equal(rs.seriesCount, js.seriesCount);
      assert.equal(rs.invalidCount, js.invalidCount);
      assert.equal(rs.clampedCount, js.clampedCount);
      snaps++;
      continue;
    }
    const n = Math.floor(rand() * 3000);
    const ids = new Uint32Array(n);
    const vals = new Float64Array(n);
    const flags = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = rand() < 0.001 ? (1 << 20) + 3 : Math.floor(rand() * rand() * 40);
      const k = rand();
      vals[i] =
        k < 0.002 ? NaN : k < 0.004 ? -1 : k < 0.006 ? Infinity : k < 0.01 ? highest * 3 : k < 0.02 ? rand() * 3 : lognormal(highest / 5000, 1.2);
      flags[i] = rand() < 0.1 ? 1 : rand() < 0.05 ? 2 : 0;
    }
    const len = rand() < 0.1 ? n + 5 : n;
    js.record(ids, vals, flags, len, now);
    rs.record(ids, vals, flags, len, now);
  }
  console.log(`d=${digits} highest=${highest}: ${snaps} snapshots identical, ${js.seriesCount} series`);
}
console.log('crosscheck-js ok');
