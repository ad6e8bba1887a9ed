// A standalone histogram (createHistogram / decodeHistogram) takes untyped input as
// the processor does: a value that is not a number is counted, never thrown.
import { backendInfo, createHistogram, decodeHistogram } from 'spanmeter';
import { eachBackend } from './helpers/backends.mjs';

eachBackend('record() counts a value that is not a number as invalid, and throws nothing', (t, backend) => {
  const h = createHistogram({ backend });
  const notNumbers = ['12', undefined, null, {}, [], 5n, true, Symbol('x'), () => 1];
  for (const value of notNumbers) t.notThrows(() => h.record(value), String(typeof value));
  t.is(h.invalidCount, notNumbers.length);
  t.is(h.count, 0);
  h.record(1_000);
  t.is(h.count, 1);
  t.is(h.max, 1_000);
  // a decoded histogram takes the same
  const decoded = decodeHistogram(h.encode(), { backend });
  decoded.record(null);
  decoded.record('x');
  t.is(decoded.invalidCount, 2);
  t.is(decoded.count, 1);
});

eachBackend('recordBatch() names what it needs when values are not a Float64Array', (t, backend) => {
  const h = createHistogram({ backend });
  for (const [values, shown] of [[[1, 2], 'an array'], [new Float32Array(2), 'an object'], [null, 'null']]) {
    t.throws(() => h.recordBatch(values, 2), { instanceOf: TypeError, message: `spanmeter: recordBatch(values, len): values must be a Float64Array, got ${shown}` });
  }
  t.is(h.count, 0);
  h.recordBatch(Float64Array.from([1, 2, NaN, -1, 3]), 5);
  t.is(h.count, 3);
  t.is(h.invalidCount, 2);
});

eachBackend('valueAtPercentile() takes a number (NaN gives 0) and names a wrong argument', (t, backend) => {
  const h = createHistogram({ backend });
  h.record(1_000);
  t.is(h.valueAtPercentile(NaN), 0);
  t.is(h.valueAtPercentile(150), h.max);
  for (const [p, shown] of [['50', '"50"'], [undefined, 'undefined'], [null, 'null']]) {
    t.throws(() => h.valueAtPercentile(p), { instanceOf: TypeError, message: `spanmeter: valueAtPercentile(percentile): percentile must be a number, got ${shown}` });
  }
});

eachBackend('merge() takes a histogram of its own back end, decoded ones included, and names anything else', (t, backend) => {
  const other = backend === 'native' ? 'js' : 'native';
  const h = createHistogram({ backend });
  h.record(5);
  h.merge(decodeHistogram(h.encode(), { backend }));
  t.is(h.count, 2);
  // the other back end's histogram, where both are here (the JS tests also run without a native build)
  const wrongs = [5, null, {}, ...(backendInfo().nativeAvailable ? [createHistogram({ backend: other })] : [])];
  for (const wrong of wrongs) {
    t.throws(() => h.merge(wrong), { instanceOf: TypeError, message: 'spanmeter: can only merge histograms of the same back end' });
  }
  t.is(h.count, 2);
});

eachBackend('recordBatch() without len records every value (native threw napi\'s conversion error, JS recorded none)', (t, backend) => {
  const h = createHistogram({ backend });
  h.recordBatch(Float64Array.from([1, 2, 3]));
  t.is(h.count, 3);
});
