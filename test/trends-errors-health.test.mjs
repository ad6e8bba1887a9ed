// Error analysis (exception type and message per operation, capped) and the
// health score per service with the reasons that lowered it.
import test from 'ava';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MINUTE, SECOND, sloHarness } from './helpers/slo.mjs';

class CardDeclined extends Error {
  constructor(message) {
    super(message);
    this.name = 'CardDeclined';
  }
}

test('errors are grouped per operation by exception type and message, top N, most frequent first', async (t) => {
  const h = sloHarness({ trends: { error_analysis: { top: 2, max_message_length: 12 } } });
  await h.tick(SECOND, () => {
    for (let i = 0; i < 5; i++) h.span({ name: 'POST /pay', error: true, exception: new CardDeclined('insufficient funds') });
    for (let i = 0; i < 3; i++) h.span({ name: 'POST /pay', error: true, exception: new TypeError('x is undefined') });
    h.span({ name: 'POST /pay', error: true, exception: new RangeError('too big') });
    h.span({ name: 'POST /pay', error: true, statusMessage: 'upstream 503' }); // no exception event: the status message
    h.span({ name: 'POST /pay', exception: new TypeError('handled') }); // not an ERROR span: ignored
    h.span({ name: 'GET /cart', error: true, statusMessage: 'timeout' });
  });
  const { errorAnalysis } = await h.processor.stats();
  t.is(errorAnalysis.droppedGroups, 0);
  const [pay, cart] = errorAnalysis.operations;
  t.like(pay, { service: 'checkout', name: 'POST /pay', kind: 'server', errors: 10 });
  t.deepEqual(
    pay.groups.map((g) => [g.type, g.message, g.count]),
    [
      ['CardDeclined', 'insufficient', 5], // truncated to 12 characters
      ['TypeError', 'x is undefin', 3],
    ],
  );
  t.is(pay.groups[0].lastSeen, new Date(h.now).toISOString());
  t.deepEqual(
    cart.groups.map((g) => [g.type, g.message, g.count]),
    [['(none)', 'timeout', 1]],
  );
  await h.close();
});

test('the number of groups is capped; what the cap drops is counted', async (t) => {
  const h = sloHarness({ trends: { error_analysis: { max_groups: 3 } } });
  await h.tick(SECOND, () => {
    for (let i = 0; i < 10; i++) h.span({ error: true, exception: new Error(`failure ${i}`) });
    h.span({ error: true, exception: new Error('failure 0') }); // an existing group still counts
  });
  const { errorAnalysis } = await h.processor.stats();
  t.is(errorAnalysis.droppedGroups, 7);
  t.deepEqual(
    errorAnalysis.operations[0].groups.map((g) => [g.message, g.count]),
    [
      ['failure 0', 2],
      ['failure 1', 1],
      ['failure 2', 1],
    ],
  );
  t.is(errorAnalysis.operations[0].errors, 11, 'errors of the operation, grouped or not');
  await h.close();
});

test('health: 100 for a clean service; breached SLO, firing page and error rate lower it, with reasons', async (t) => {
  const h = sloHarness({
    slos: [{ name: 'checkout-availability', selector: { service: 'checkout' }, indicator: 'availability', objective: 99.9, alerting: { enabled: false } }],
    alerting: { rules: [{ name: 'CheckoutErrors', type: 'error_rate', selector: { service: 'checkout' }, window: '1m', above: 5, severity: 'page' }] },
  });
  // A second service on the same processor.
  const other = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'catalog' }), spanProcessors: [h.processor] });
  const catalog = other.getTracer('t');
  await h.tick(MINUTE, () => {
    h.traffic(100, 10); // 10% errors
    for (let i = 0; i < 20; i++) catalog.startSpan('GET /items').end();
  });
  const { health } = await h.processor.stats();
  const byService = Object.fromEntries(health.map((s) => [s.service, s]));
  t.deepEqual(byService.catalog, { service: 'catalog', score: 100, status: 'healthy', reasons: [] });
  const checkout = byService.checkout;
  t.deepEqual(
    checkout.reasons.map((r) => [r.kind, r.subject, r.penalty]),
    [
      ['slo_breached', 'checkout-availability', 30],
      ['error_rate', '5m', 30],
      ['alert_firing', 'CheckoutErrors', 25],
    ],
  );
  t.is(checkout.score, 15);
  t.is(checkout.status, 'unhealthy');
  t.is(checkout.reasons[1].detail, '10% of 100 spans failed over 5m');
  t.is(health[0].service, 'checkout', 'lowest score first');
  await h.close();
  await other.shutdown();
});
