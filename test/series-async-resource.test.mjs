// Review: a resource whose service.name is an async attribute (an async resource
// detector) is read once, before it settles, and cached for good: every span
// of that provider stays under unknown_service, also after the attribute settled.
import { SpanMeterProcessor, UNKNOWN_SERVICE } from 'spanmeter';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { eachBackend } from './helpers/backends.mjs';
import { endSpan } from './helpers/spans.mjs';

eachBackend('spans ended after an async service.name settled are recorded under that service', async (t, backend) => {
  let settle;
  const serviceName = new Promise((resolve) => (settle = resolve));
  const resource = resourceFromAttributes({ 'service.name': serviceName });
  const processor = new SpanMeterProcessor({ backend });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('review');
  // one span while the detector is still running (startup traffic)
  endSpan(tracer, 'early', 1e6);
  await processor.forceFlush();
  settle('checkout');
  await resource.waitForAsyncAttributes();
  t.is(resource.attributes['service.name'], 'checkout', 'the SDK resource now has its service.name');
  endSpan(tracer, 'late', 1e6);
  const report = await processor.stats();
  const late = report.operations.find((op) => op.name === 'late');
  t.truthy(late);
  t.is(late.service, 'checkout', `a span ended after the attribute settled is under ${late.service}`);
  t.not(late.service, UNKNOWN_SERVICE);
  t.is(report.diagnostics.missingResource, 1, 'only the span ended before it settled lacked a service.name');
  await provider.shutdown();
});

eachBackend('a resource with a settled service.name and other attributes pending is read without the SDK\'s error', async (t, backend) => {
  const { diag, DiagLogLevel } = await import('@opentelemetry/api');
  const errors = [];
  const log = (message) => errors.push(message);
  diag.setLogger({ error: log, warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.ERROR);
  t.teardown(() => diag.disable());
  let settle;
  const hostId = new Promise((resolve) => (settle = resolve));
  const resource = resourceFromAttributes({ 'service.name': 'cart', 'host.id': hostId });
  const processor = new SpanMeterProcessor({ backend });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  endSpan(provider.getTracer('review'), 'add', 1e6);
  const report = await processor.stats();
  t.deepEqual(report.operations.map((op) => [op.service, op.name]), [['cart', 'add']]);
  t.is(report.diagnostics.missingResource, 0);
  // the SDK logs this when its `attributes` getter is read while attributes are pending
  t.deepEqual(errors, []);
  settle('h-1');
  await provider.shutdown();
});
