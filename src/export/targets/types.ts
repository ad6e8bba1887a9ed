import type { DecodedSpan } from '../decoder';

/** A slice of a batch, as a target sends it. */
export interface Payload {
  /** The whole batch, as the encoder wrote it. */
  bytes: Uint8Array;
  /** Span range of this part: [from, to). */
  from: number;
  to: number;
  /** The decoded spans of the whole batch: decoded once, on first call, and shared by its parts. */
  decode(): DecodedSpan[];
}

/** What a target did with a payload. */
export type SendResult =
  | { ok: true; rejectedSpans?: number; message?: string }
  | {
      ok: false;
      /**
       * retryable: an outage (refused, timeout, 5xx, 408, 429): back off, then fail over.
       * bad: the target refuses this batch (4xx): do not retry it there.
       * too_large: the request is too big (413, or over max_request_size): split it.
       */
      kind: 'retryable' | 'bad' | 'too_large';
      error: string;
      retryAfterMs?: number;
      /** The receiver may have stored it although we saw a failure. */
      ambiguous: boolean;
      /** Refused before any request was made (e.g. over max_request_size). */
      notSent?: boolean;
    };

export interface Target {
  readonly name: string;
  readonly type: 'otlp' | 'jaeger' | 'zipkin' | 'file' | 'exporter';
  /** URL or directory, for the status. */
  readonly endpoint: string | undefined;
  send(payload: Payload): Promise<SendResult>;
  close(): Promise<void>;
}
