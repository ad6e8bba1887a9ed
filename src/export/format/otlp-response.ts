/** The OTLP/HTTP response side: an `ExportTraceServiceResponse` may carry a partial success. */

/**
 * Reads `partial_success.rejected_spans` and `error_message` from an OTLP
 * `ExportTraceServiceResponse`; undefined when absent or unreadable.
 */
export function readPartialSuccess(body: Uint8Array): { rejectedSpans: number; errorMessage: string } | undefined {
  try {
    const outer = fields(body, 0, body.length);
    const partial = outer.find((f) => f.field === 1 && f.wireType === 2);
    if (partial === undefined) return undefined;
    let rejectedSpans = 0;
    let errorMessage = '';
    for (const f of fields(body, partial.start, partial.end)) {
      if (f.field === 1 && f.wireType === 0) rejectedSpans = f.value;
      if (f.field === 2 && f.wireType === 2) errorMessage = Buffer.from(body.subarray(f.start, f.end)).toString('utf8');
    }
    return { rejectedSpans, errorMessage };
  } catch {
    return undefined;
  }
}

interface Field {
  field: number;
  wireType: number;
  value: number;
  start: number;
  end: number;
}

function fields(buf: Uint8Array, from: number, to: number): Field[] {
  const out: Field[] = [];
  let pos = from;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= to) throw new Error('truncated');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  };
  while (pos < to) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) out.push({ field, wireType, value: varint(), start: pos, end: pos });
    else if (wireType === 2) {
      const len = varint();
      if (pos + len > to) throw new Error('truncated');
      out.push({ field, wireType, value: len, start: pos, end: pos + len });
      pos += len;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error('unsupported wire type');
  }
  return out;
}
