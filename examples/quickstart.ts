/**
 * spanmeter quickstart: an HTTP server on loopback, instrumented with OpenTelemetry,
 * a short load against it, and the stats() report printed as a table.
 *
 *   npm run example
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanMeterProcessor, formatStatsTable } from 'spanmeter';

// 1. Register the processor in the OTel setup you already have.
const processor = new SpanMeterProcessor();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop' }),
  spanProcessors: [processor],
});
provider.register();
const tracer = trace.getTracer('quickstart');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake database call: a CLIENT span of 1-6 ms, now and then 40 ms. */
async function queryDatabase(sql: string): Promise<void> {
  await tracer.startActiveSpan(sql, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, async (span) => {
    await sleep(Math.random() < 0.02 ? 40 : 1 + Math.random() * 5);
    span.end();
  });
}

// 2. A small HTTP server: one SERVER span per request, named after its route.
const routes: Record<string, () => Promise<number>> = {
  'GET /products': async () => {
    await queryDatabase('SELECT products');
    return 200;
  },
  'POST /checkout': async () => {
    await queryDatabase('SELECT cart');
    await queryDatabase('INSERT order');
    return Math.random() < 0.05 ? 500 : 201;
  },
};

const server = http.createServer((req, res) => {
  const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
  const handler = routes[route];
  tracer.startActiveSpan(route, { kind: SpanKind.SERVER, attributes: { 'http.route': route } }, async (span) => {
    const status = handler ? await handler() : 404;
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    res.writeHead(status).end();
  });
});

async function main(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  // 3. A short load: 2,000 requests, 16 at a time, each with a CLIENT span.
  const request = (method: string, path: string) =>
    tracer.startActiveSpan(`${method} ${path}`, { kind: SpanKind.CLIENT }, (span) =>
      new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 500) >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            resolve();
          });
        });
        req.end();
      }),
    );
  let sent = 0;
  const worker = async () => {
    while (sent < 2000) {
      sent++;
      await context.with(context.active(), () => (sent % 3 === 0 ? request('POST', '/checkout') : request('GET', '/products')));
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 16 }, worker));
  console.log(`2000 requests in ${Date.now() - started} ms\n`);

  // 4. The report: exact percentiles per (service, span name, span kind).
  const report = await processor.stats();
  console.log(formatStatsTable(report));

  agent.destroy();
  server.close();
  await provider.shutdown();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
