// docs/slo-and-alerts.md: "At shutdown, notifiers get up to 5 s to deliver what is
// queued; the rest is counted as dropped". An onAlert promise still pending at that
// deadline stayed `pending` for good, counted nowhere.
import test from 'ava';
import { sloHarness } from './helpers/slo.mjs';

test('an onAlert promise still pending at the shutdown deadline is counted as dropped', async (t) => {
  let calls = 0;
  const h = sloHarness(
    { alerting: { rules: [{ name: 'Err', type: 'error_rate', selector: { service: 'checkout' }, window: '5m', above: 10, min_events: 1 }] } },
    {
      onAlert: () => {
        calls++;
        return new Promise(() => {}); // never settles
      },
    },
  );
  const transitions = await h.tick(10_000, () => h.traffic(20, 20));
  t.deepEqual(transitions.map((e) => e.to), ['firing']);
  t.is(calls, 1);
  t.like((await h.processor.stats()).notifiers[0], { type: 'callback', pending: 1, dropped: 0 });
  await h.close(); // waits up to 5 s for it
  t.like((await h.processor.stats()).notifiers[0], { type: 'callback', sent: 0, failed: 0, pending: 0, dropped: 1 });
});
