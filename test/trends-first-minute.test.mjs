// docs/slo-and-alerts.md, "Window trends": "A previous window counts only once a
// whole window has passed since the start, so a restart is never compared with its first
// minutes". For the 1m window, a 60 s slack (src/trends/samples.ts) let the
// sample taken at the first evaluation, 10 s after start, serve as the "previous minute":
// steady traffic then showed a 6x rise in count.
import test from 'ava';
import { sloHarness } from './helpers/slo.mjs';

test('steady traffic: the 1m trend is not compared with the first 10 seconds after start', async (t) => {
  const h = sloHarness({});
  // 10 spans every 10 s (1 span/s), evaluated every 10 s as the timer would, until 00:01:30
  for (let i = 0; i < 9; i++) await h.tick(10_000, () => h.traffic(10, 0, { durationMs: 10 }));
  const { windows } = (await h.processor.stats()).trends[0];
  const w = windows['1m'];
  t.is(w.count, 60);
  // the sample after the 00:00 boundary was taken at 00:00:10, 10 s after start: not a whole minute
  t.true(w.previous === undefined || w.previous.count === 60, `previous minute ${JSON.stringify(w.previous)}, change ${JSON.stringify(w.change)}`);
  await h.close();
});
