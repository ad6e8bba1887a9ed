'use strict'
// Smoke and cross-check of the built addon (not part of the package tests):
//   node native/crosscheck.js
// Loads native/index.js in the main thread and in worker threads, transfers a
// snapshot to a worker, checks error paths, and checks that hdr-histogram-js
// and NativeHistogram read each other's V2 encodings to the same counts and
// percentiles.
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')

const native = require(path.join(__dirname, 'index.js'))
const { NativeHistogramSet, NativeHistogram, summarizeSnapshot } = native

if (!isMainThread) {
  // worker: load the module, summarize the transferred snapshot
  const snap = new Uint8Array(workerData.buffer)
  const sums = summarizeSnapshot(Buffer.from(snap.buffer, snap.byteOffset, snap.byteLength), [50, 99], [99], true)
  const h = new NativeHistogram(3, 3600000000)
  h.record(1234)
  parentPort.postMessage({ sums, p50: h.valueAtPercentile(50), asUint8: summarizeSnapshot(snap, [50], [], false).length })
  return
}

let hdr
try {
  hdr = require(require.resolve('hdr-histogram-js', { paths: [path.join(__dirname, '..')] }))
} catch {
  console.log('hdr-histogram-js not installed: skipping the cross-decoding checks')
}

function lognormal(median, sigma) {
  const z = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random())
  return median * Math.exp(sigma * z)
}

// ---- constructor validation
assert.throws(() => new NativeHistogramSet({ significantDigits: 0, highestTrackableUs: 3600000000 }), /significantDigits/)
assert.throws(() => new NativeHistogramSet({ significantDigits: 3, highestTrackableUs: 1 }), /highestTrackableUs/)
assert.throws(() => new NativeHistogram(6, 1000), /significantDigits/)
assert.throws(() => new NativeHistogram(3, 1000.5), /highestTrackableUs/)

// ---- set: record, snapshot, summarize
const set = new NativeHistogramSet({ significantDigits: 3, highestTrackableUs: 3600000000 })
const n = 4096
const ids = new Uint32Array(n)
const vals = new Float64Array(n)
const flags = new Uint8Array(n)
for (let i = 0; i < n; i++) {
  ids[i] = i % 10
  vals[i] = lognormal(20000, 0.5)
  flags[i] = i % 50 === 0 ? 1 : 0
}
vals[0] = NaN
vals[1] = -1
vals[2] = 1e13
ids[3] = 1 << 20
set.record(ids, vals, flags, n, 1_000_000)
set.record(ids, vals, flags, 10 * n, 1_005_000) // len beyond the arrays: read up to their length
set.record(ids.subarray(0, 5), vals, flags, n, 1_006_000) // shortest array wins
assert.equal(set.seriesCount, 10)
assert.equal(set.invalidCount, 2 * 3 + 3) // NaN, -1, bad id, twice, then once more
assert.equal(set.clampedCount, 3)
assert.ok(set.memoryBytes() > 0)
const snap = set.snapshot(1_010_000)
assert.ok(Buffer.isBuffer(snap))
assert.equal(snap.readUInt32LE(0), 0x31534d53)
const sums = summarizeSnapshot(snap, [0, 50, 99, 100], [50, 99], true)
assert.equal(sums.length, 10)
const total = sums.reduce((a, s) => a + s.count, 0)
assert.equal(total, 2 * (n - 3) + 5 - 3)
for (const s of sums) {
  assert.equal(s.windows.length, 4)
  assert.equal(s.windows[0].count, s.count)
  assert.equal(s.percentilesUs.length, 4)
  if (hdr) {
    const h = hdr.decodeFromCompressedBase64(s.histogram)
    assert.equal(h.totalCount, s.count)
    assert.deepEqual([0, 50, 99, 100].map((p) => h.getValueAtPercentile(p)), s.percentilesUs)
  }
}
assert.throws(() => summarizeSnapshot(snap.subarray(0, 40), [50], [], false), /^Error: spanmeter: bad snapshot: .* at byte \d+$/)
assert.throws(() => summarizeSnapshot(Buffer.from('nope'), [50], [], false), /spanmeter: bad snapshot:/)
set.reset()
assert.equal(set.seriesCount, 0)
assert.equal(set.invalidCount, 0)

// ---- standalone histogram vs hdr-histogram-js
const nh = new NativeHistogram(3, 3600000000)
const values = Array.from({ length: 20000 }, () => Math.round(lognormal(20000, 1)))
values.push(0, 1, 2047, 2048, 3600000000)
const batch = Float64Array.from(values)
nh.recordBatch(batch, batch.length)
nh.record(NaN)
nh.record(5e9)
assert.equal(nh.count, values.length + 1)
assert.equal(nh.invalidCount, 1)
assert.equal(nh.clampedCount, 1)
assert.equal(nh.min, 0)
if (hdr) {
  const jh = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3600000000, numberOfSignificantValueDigits: 3 })
  for (const v of values) jh.recordValue(v)
  jh.recordValue(3600000000)
  const ps = [0, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100]
  const want = ps.map((p) => jh.getValueAtPercentile(p))
  assert.deepEqual(ps.map((p) => nh.valueAtPercentile(p)), want)
  assert.equal(nh.mean, jh.mean)
  assert.equal(nh.max, jh.getValueAtPercentile(100))
  // ours -> js
  const fromNative = hdr.decodeFromCompressedBase64(nh.encode())
  assert.equal(fromNative.totalCount, nh.count)
  assert.deepEqual(ps.map((p) => fromNative.getValueAtPercentile(p)), want)
  // js -> ours
  const fromJs = NativeHistogram.decode(hdr.encodeIntoCompressedBase64(jh))
  assert.equal(fromJs.count, jh.totalCount)
  assert.deepEqual(ps.map((p) => fromJs.valueAtPercentile(p)), want)
  // a wider JS histogram merged into a narrower one: clamped and counted
  const wide = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e12, numberOfSignificantValueDigits: 2 })
  wide.recordValue(5)
  wide.recordValue(5e11)
  const narrow = new NativeHistogram(3, 1e6)
  narrow.merge(NativeHistogram.decode(hdr.encodeIntoCompressedBase64(wide)))
  assert.equal(narrow.count, 2)
  assert.equal(narrow.clampedCount, 1)
}
nh.merge(nh)
assert.equal(nh.count, 2 * (values.length + 1))
assert.throws(() => NativeHistogram.decode('not base64!'), /^Error: spanmeter: cannot decode histogram:/)
assert.throws(() => NativeHistogram.decode('SGVsbG8gd29ybGQ='), /^Error: spanmeter: cannot decode histogram:/)

// ---- worker threads: load in several threads, transfer a snapshot
set.record(ids, vals, flags, n, 2_000_000)
const shot = set.snapshot(2_000_000)
const expected = summarizeSnapshot(shot, [50, 99], [99], true)
const ab = shot.buffer.slice(shot.byteOffset, shot.byteOffset + shot.byteLength)
const copies = [ab.slice(0), ab.slice(0), ab]
const runs = copies.map(
  (copy) =>
    new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { buffer: copy }, transferList: [copy] })
      w.once('message', resolve)
      w.once('error', reject)
    }),
)
// the Buffer returned by snapshot() itself can be transferred
const direct = new Promise((resolve, reject) => {
  const w = new Worker(__filename, { workerData: { buffer: shot.buffer }, transferList: [shot.buffer] })
  w.once('message', resolve)
  w.once('error', reject)
})
Promise.all([...runs, direct]).then((results) => {
  for (const r of results) {
    assert.deepEqual(r.sums, expected)
    assert.equal(r.p50, 1234)
    assert.equal(r.asUint8, expected.length)
  }
  console.log('crosscheck ok')
})
