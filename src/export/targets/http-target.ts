import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { HttpTargetConfig } from '../config';
import { readPartialSuccess } from '../format/otlp-response';
import { transcodeOtlp } from '../format/otlp-transcode';
import { encodeZipkinJson } from '../format/zipkin';
import type { HttpClient } from '../http';
import type { Payload, SendResult, Target } from './types';

const gzip = promisify(zlib.gzip);
const PROTOBUF = /^\s*application\/(x-)?protobuf\s*(;|$)/i;

/**
 * OTLP/HTTP protobuf (`otlp`, and `jaeger` through Jaeger's OTLP endpoint) or
 * Zipkin v2 JSON (`zipkin`) over HTTP with keep-alive and optional gzip.
 */
export class HttpTarget implements Target {
  readonly name: string;
  readonly type: HttpTargetConfig['type'];
  readonly endpoint: string;
  private readonly url: URL;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: HttpTargetConfig,
    private readonly client: HttpClient,
  ) {
    this.name = config.name;
    this.type = config.type;
    this.endpoint = config.endpoint;
    this.url = new URL(config.endpoint);
    const contentType = config.type === 'zipkin' ? 'application/json' : 'application/x-protobuf';
    this.headers = { 'User-Agent': 'spanmeter', ...config.headers, 'Content-Type': contentType };
    if (config.compression === 'gzip') this.headers['Content-Encoding'] = 'gzip';
  }

  async send(payload: Payload): Promise<SendResult> {
    let raw: Buffer;
    try {
      raw = this.type === 'zipkin' ? Buffer.from(encodeZipkinJson(payload.bytes, payload.decode().slice(payload.from, payload.to))) : transcodeOtlp(payload.bytes, payload.from, payload.to);
    } catch (error) {
      return { ok: false, kind: 'bad', error: (error as Error).message, ambiguous: false, notSent: true };
    }
    if (raw.byteLength > this.config.maxRequestBytes) {
      return { ok: false, kind: 'too_large', error: `request of ${raw.byteLength} bytes is over max_request_size (${this.config.maxRequestBytes})`, ambiguous: false, notSent: true };
    }
    const body = this.config.compression === 'gzip' ? await gzip(raw, { level: 1 }) : raw;
    const res = await this.client.post(this.url, this.headers, body, this.config.timeoutMs);
    if (res.status === 0) return { ok: false, kind: 'retryable', error: res.error ?? 'no response', ambiguous: res.ambiguous };
    const status = res.status;
    if (status >= 200 && status < 300) {
      // Only a protobuf answer is an ExportTraceServiceResponse: another body (a proxy's page) may parse as one by chance.
      if (this.type !== 'zipkin' && res.body.byteLength > 0 && PROTOBUF.test(res.contentType ?? '')) {
        const partial = readPartialSuccess(res.body);
        if (partial !== undefined && (partial.rejectedSpans > 0 || partial.errorMessage !== '')) {
          return { ok: true, rejectedSpans: partial.rejectedSpans, message: partial.errorMessage };
        }
      }
      return { ok: true };
    }
    const error = `HTTP ${status}${describeBody(res.body)}`;
    if (status === 413) return { ok: false, kind: 'too_large', error, ambiguous: false };
    // 502 and 504 come from a gateway in front of the receiver, which may have stored the batch: sending it again may duplicate it
    if (status === 408 || status === 429 || status >= 500) return { ok: false, kind: 'retryable', error, retryAfterMs: res.retryAfterMs, ambiguous: status === 502 || status === 504 };
    return { ok: false, kind: 'bad', error, ambiguous: false };
  }

  async close(): Promise<void> {}
}

function describeBody(body: Buffer): string {
  if (body.byteLength === 0) return '';
  const text = body.subarray(0, 200).toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim();
  return text === '' ? '' : `: ${text}`;
}
