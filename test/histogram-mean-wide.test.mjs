// Review: the standalone Histogram (createHistogram / decodeHistogram) reports a
// different `mean` on the JS fallback than on the native back end for values in
// the top sub-bucket below 2^53 (every clamped value when highestTrackableValue
// is 2^53 - 1): hdr-histogram-js's medianEquivalentValue loses precision there.
// The native value is HdrHistogram's lowestEquivalent + size/2.
import { createHistogram, decodeHistogram } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';

const TOP = Number.MAX_SAFE_INTEGER; // 2^53 - 1

eachBackend('mean is lowestEquivalent + half the bucket for a value at the top of 2^53 - 1', (t, backend) => {
  const h = createHistogram({ backend, significantDigits: 3, highestTrackableValue: TOP });
  h.record(1e300); // clamped to 2^53 - 1
  t.is(h.clampedCount, 1);
  // 3 digits: sub-bucket half-magnitude 10, so 2^53 - 1 lies in bucket 42: [2^53 - 2^42, 2^53)
  const lowest = 2 ** 53 - 2 ** 42;
  const median = lowest + 2 ** 41;
  t.is(h.min, lowest);
  t.is(h.mean, median, 'HdrHistogram mean of one value = its bucket\'s median equivalent');
  t.is(decodeHistogram(h.encode(), { backend }).mean, median, 'and after a V2 round trip');
});
