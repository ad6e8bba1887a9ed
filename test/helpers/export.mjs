// Receivers and helpers for the export tests: a real OTLP receiver in a child
// process (@elastic/mockotlpserver), loopback HTTP receivers for Zipkin JSON and
// for fault injection, temporary directories, and polling.
import { fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanMeterProcessor } from 'spanmeter';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.join(here, '..', 'fixtures');
const DIST = path.join(here, '..', '..', 'dist');

/** Polls `predicate` until it is truthy; throws with `what` after `timeoutMs`. */
export async function waitUntil(predicate, { timeoutMs = 20_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh temporary directory, removed by `t.teardown`. */
export function tempDir(t, prefix = 'spanmeter-export-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every span of a normalized OTLP request, with its resource and scope. */
export function otlpSpans(trace) {
  const out = [];
  for (const rs of trace.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) out.push({ span, resource: rs.resource, scope: ss.scope });
    }
  }
  return out;
}

/**
 * Starts @elastic/mockotlpserver in a child process on `port` (0: any). The
 * returned receiver collects spans by span id (`received`, a Map id -> count).
 */
export async function startOtlpReceiver({ port = 0 } = {}) {
  const child = fork(path.join(FIXTURES, 'otlp-receiver.cjs'), [String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const receiver = {
    child,
    url: '',
    endpoint: '',
    port: 0,
    requests: [],
    spans: [],
    received: new Map(),
    alive: true,
    /** SIGKILL: the receiver dies at once, with requests in flight. */
    kill() {
      if (!receiver.alive) return Promise.resolve();
      receiver.alive = false;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return exited;
    },
    /** Resets every connection and closes the port at once, after reporting what it acknowledged. */
    crash() {
      if (!receiver.alive) return Promise.resolve();
      receiver.alive = false;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'crash' });
      return exited;
    },
    close() {
      return receiver.kill();
    },
  };
  child.on('exit', () => {
    receiver.alive = false;
  });
  child.on('message', (message) => {
    if (message.type !== 'trace') return;
    receiver.requests.push(message);
    for (const item of otlpSpans(message.trace)) {
      receiver.spans.push(item);
      receiver.received.set(item.span.spanId, (receiver.received.get(item.span.spanId) ?? 0) + 1);
    }
  });
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the OTLP receiver exited (${code}) before listening`)));
    child.on('message', (message) => {
      if (message.type === 'listening') resolve(message.url);
      if (message.type === 'error') reject(new Error(message.message));
    });
  });
  receiver.url = url;
  receiver.port = Number(new URL(url).port);
  receiver.endpoint = new URL('/v1/traces', url).href;
  return receiver;
}

/**
 * A loopback HTTP receiver on `port` (0: any). `handler(req, body, res, accept)` answers (default: 200/202);
 * bodies are gunzipped when gzip-encoded. Zipkin JSON lists are parsed into
 * `zipkinSpans`; `received` counts span ids (Zipkin `id`).
 */
export async function startHttpReceiver(handler, { port = 0 } = {}) {
  const receiver = { requests: [], zipkinSpans: [], received: new Map(), sockets: new Set(), url: '', port: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      const request = { method: req.method, url: req.url, headers: req.headers, body };
      receiver.requests.push(request);
      const accept = () => {
        if ((req.headers['content-type'] ?? '').startsWith('application/json') && req.url.includes('/api/v2/spans')) {
          for (const span of JSON.parse(body.toString('utf8'))) {
            receiver.zipkinSpans.push(span);
            receiver.received.set(span.id, (receiver.received.get(span.id) ?? 0) + 1);
          }
        }
      };
      if (handler) {
        handler(req, body, res, accept, request);
      } else {
        accept();
        res.writeHead(req.url.includes('/api/v2/spans') ? 202 : 200).end();
      }
    });
  });
  server.on('connection', (socket) => {
    receiver.sockets.add(socket);
    socket.on('close', () => receiver.sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.port = server.address().port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  receiver.close = () =>
    new Promise((resolve) => {
      for (const s of receiver.sockets) s.destroy();
      server.close(() => resolve());
    });
  receiver.server = server;
  return receiver;
}

/** The span ids a test ended, to compare with what arrived. */
export function spanIds(spans) {
  return spans.map((s) => s.spanContext().spanId);
}

/** A loopback port with nothing listening on it (yet). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The spool's entry in `stats().exporters`. */
export const spoolOf = (report) => report.exporters.find((e) => e.type === 'spool');

/** The export's drop counts in a report (reasons starting with `export_`). */
export const exportDrops = (report) => Object.fromEntries(Object.entries(report.totals.dropped).filter(([k]) => k.startsWith('export_')));

/** Export settings for the spool and failover tests: quick retries, short circuit-breaker waits, small batches. */
export const FAST_EXPORT = {
  retry: { initial_backoff: '10ms', max_backoff: '50ms', failure_threshold: 2 },
  circuit_breaker: { open_duration: '200ms', max_open_duration: '400ms' },
  batch: { max_spans: 50, delay: '10ms' },
};

/** A provider around `processor` whose `emit(n)` ends n spans named 'op' (attribute i counts up); `ids` are their span ids. */
export function emitter(processor) {
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('export-tests');
  let i = 0;
  const ids = [];
  return {
    provider,
    ids,
    emit(n) {
      for (let k = 0; k < n; k++) {
        const span = tracer.startSpan('op', { attributes: { i: i++ } });
        ids.push(span.spanContext().spanId);
        span.end();
      }
    },
  };
}

/** A live child process (killed at teardown); resolves with its pid and its identity as it sees it (`processIdentity()`). */
export async function liveProcess(t) {
  const code = `process.stdout.write(process.pid + ':' + require(${JSON.stringify(path.join(DIST, 'export', 'process-identity.js'))}).processIdentity() + '\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  const [pid, identity] = line.split(':');
  return { pid: Number(pid), identity };
}

/**
 * A processor exporting Zipkin JSON to `receiver` with a spool in a temporary
 * directory, quick retries and a circuit that opens at the first failure;
 * `breaker`, `batch`, `concurrency` and `spool` settings replace the defaults.
 */
export function zipkinSpoolingProcessor(t, receiver, { breaker = { open_duration: '300ms', max_open_duration: '400ms' }, batch = { max_spans: 50, delay: '10ms' }, concurrency = 1, spool = {} } = {}) {
  return new SpanMeterProcessor({
    config: {
      export: {
        targets: [{ type: 'zipkin', endpoint: `${receiver.url}/api/v2/spans` }],
        retry: { initial_backoff: '10ms', max_backoff: '50ms', failure_threshold: 1 },
        circuit_breaker: breaker,
        batch,
        concurrency,
        spool: { dir: tempDir(t), ...spool },
      },
    },
  });
}

