/**
 * The compact binary form of a batch of spans, written once on the event loop by
 * `SpanEncoder` and read by `decodeBatch` on the export worker (and on the main
 * thread only for user `SpanExporter`s). A batch is self-contained: strings,
 * resources and scopes are defined inline the first time a batch uses them, so a
 * batch can be spooled to disk and read back by another process as it is.
 *
 * Layout (little endian):
 *
 * ```
 * header (24 bytes)
 *   u32 magic "SMB1"   u8 version   u8 flags   u16 reserved
 *   u32 spanCount      u32 reserved f64 createdMs
 * spanCount span records:
 *   resRef    ref: 0 none, 1 a new resource follows (attrs, varint dropped, str schemaUrl), k>=2 resource k-2
 *   scopeRef  ref: 0 none, 1 a new scope follows (str name, str version, str schemaUrl), k>=2 scope k-2
 *   16 bytes traceId, 8 bytes spanId
 *   u8 spanFlags (bit0 parent, bit1 parent is remote, bit2 traceState)
 *   [8 bytes parentSpanId] u8 traceFlags [str traceState]
 *   str name  u8 kind  u32 startSec u32 startNs u32 endSec u32 endNs
 *   u8 statusCode  str statusMessage
 *   attrs  varint droppedAttributes
 *   u16 eventCount { str name, u32 sec, u32 ns, attrs, varint dropped }  varint droppedEvents
 *   u16 linkCount { 16 traceId, 8 spanId, u8 traceFlags, u8 isRemote, str traceState, attrs, varint dropped }  varint droppedLinks
 * str:   varint v: 0 absent; odd: a new string of (v-1)/2 UTF-8 bytes follows (it takes the next id);
 *        even: the string with id v/2-1
 * attrs: u16 count { str key, value }
 * value: u8 tag (0 null, 1 string + str, 2 number + f64, 3 true, 4 false, 5 array + u16 count + values)
 * ```
 */
export const BATCH_MAGIC = 0x31424d53; // "SMB1" read as little-endian u32
export const BATCH_VERSION = 1;
export const BATCH_HEADER_BYTES = 24;

export const SPAN_HAS_PARENT = 1;
export const SPAN_PARENT_REMOTE = 2;
export const SPAN_HAS_TRACE_STATE = 4;

export const VAL_NULL = 0;
export const VAL_STRING = 1;
export const VAL_NUMBER = 2;
export const VAL_TRUE = 3;
export const VAL_FALSE = 4;
export const VAL_ARRAY = 5;

/** Two hex digits (char codes, 7 bits each: `(hi << 7) | lo`) -> byte; 0 for anything else. */
export const HEX_PAIR: Uint8Array = (() => {
  const nibble = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) nibble[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    nibble[97 + i] = 10 + i;
    nibble[65 + i] = 10 + i;
  }
  const table = new Uint8Array(1 << 14);
  for (let hi = 0; hi < 128; hi++) {
    for (let lo = 0; lo < 128; lo++) {
      if (nibble[hi] >= 0 && nibble[lo] >= 0) table[(hi << 7) | lo] = (nibble[hi] << 4) | nibble[lo];
    }
  }
  return table;
})();

const HEX_BYTE: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `length` bytes of `bytes` from `offset`. */
export function toHex(bytes: Uint8Array, offset: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += HEX_BYTE[bytes[offset + i]];
  return out;
}

/** True when `length` bytes from `offset` are all zero (an absent id). */
export function isZero(bytes: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** Reads the header of a batch; undefined when it is not one. */
export function readBatchHeader(bytes: Uint8Array): { spanCount: number; createdMs: number } | undefined {
  if (bytes.byteLength < BATCH_HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== BATCH_MAGIC || view.getUint8(4) !== BATCH_VERSION) return undefined;
  return { spanCount: view.getUint32(8, true), createdMs: view.getFloat64(16, true) };
}
