/**
 * HdrHistogram V2 compressed base64, written straight from ascending (index,
 * count) entries, as the native back end writes it (native/src/v2.rs):
 * header, zig-zag LEB128 counts up to the last non-zero one (a run of more
 * than one zero as its negated length), zlib-deflated. Building an
 * hdr-histogram-js histogram first meant allocating and scanning its whole
 * counts array for every series: 4 ms a series at 5 digits, for two values.
 */
import type { HdrLayout } from './hdr-math';

/**
 * pako (pure JS, as hdr-histogram-js deflates), not node:zlib: this runs on
 * the stats worker, which the pool terminates when a task passes its time
 * limit, and Node 20 aborts the whole process (`Assertion failed: init_done_
 * && "close before init"`) when a worker is terminated inside `deflateSync`
 * between creating its zlib handle and initializing it
 * (test/v2-encode-termination.test.mjs).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deflate } = require('pako') as { deflate(data: Uint8Array, options: DeflateOptions): Uint8Array };

interface DeflateOptions {
  level: number;
  windowBits: number;
  memLevel: number;
  chunkSize: number;
}

/**
 * zlib options sized to the input: pako allocates its window, hash table and
 * output chunk for every call, which cost more than the deflating itself for
 * the few hundred bytes of a typical series (a window beyond the input finds
 * nothing more). Level 2: a quarter to a half of the CPU time of pako's
 * level 6 for strings 1-10% longer; about node:zlib's time at level 6 from
 * 4 KB up, twice it below (scratch measurements, a loaded machine).
 */
function deflateOptions(length: number): DeflateOptions {
  const windowBits = Math.max(9, Math.min(15, Math.ceil(Math.log2(length + 262))));
  return { level: 2, windowBits, memLevel: Math.max(1, Math.min(8, windowBits - 7)), chunkSize: length + 128 };
}

/** HdrHistogram's cookies for 8-byte counts ("word size" 8 in bits 4-7). */
const V2_COOKIE = 0x1c849303 | 0x10;
const V2_COMPRESSED_COOKIE = 0x1c849304 | 0x10;
const V2_HEADER_LEN = 40;

/** V2 compressed base64 of the histogram (lowest 1, the layout's highest and digits) holding the entries. */
export function encodeV2Base64(layout: HdrLayout, indices: ArrayLike<number>, counts: ArrayLike<number>, length: number): string {
  const plain = encodeV2Plain(layout, indices, counts, length);
  const deflated = deflate(plain, deflateOptions(plain.length));
  const out = Buffer.allocUnsafe(8 + deflated.length);
  out.writeUInt32BE(V2_COMPRESSED_COOKIE >>> 0, 0);
  out.writeUInt32BE(deflated.length, 4);
  out.set(deflated, 8);
  return out.toString('base64');
}

/** The uncompressed V2 bytes; entries must ascend, with counts >= 1 (the caller's merge guarantees it). */
export function encodeV2Plain(layout: HdrLayout, indices: ArrayLike<number>, counts: ArrayLike<number>, length: number): Buffer {
  // at most 8 bytes a count (counts stay below 2^53) and 8 for the zero run before it
  const b = Buffer.allocUnsafe(V2_HEADER_LEN + 16 * length + 1);
  b.writeUInt32BE(V2_COOKIE >>> 0, 0);
  b.writeUInt32BE(0, 8); // normalizing index offset
  b.writeUInt32BE(layout.significantDigits, 12);
  b.writeBigUInt64BE(1n, 16); // lowest discernible value
  b.writeBigUInt64BE(BigInt(layout.highestTrackable), 24);
  b.writeDoubleBE(1, 32); // integer to double ratio
  let at = V2_HEADER_LEN;
  let next = 0; // the first index not written yet
  for (let e = 0; e < length; e++) {
    const index = indices[e];
    const zeros = index - next;
    if (zeros === 1) at = writeZigZag(b, at, 0);
    else if (zeros > 1) at = writeZigZag(b, at, -zeros);
    at = writeZigZag(b, at, counts[e]);
    next = index + 1;
  }
  // an empty histogram: HdrHistogram writes the count at index 0
  if (next === 0) at = writeZigZag(b, at, 0);
  b.writeUInt32BE(at - V2_HEADER_LEN, 4);
  return b.subarray(0, at);
}

/** Zig-zag LEB128 of an integer of magnitude below 2^53, in doubles (exact: every step divides by 128). */
function writeZigZag(b: Buffer, at: number, v: number): number {
  let z = v >= 0 ? 2 * v : -2 * v - 1;
  while (z >= 128) {
    b[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  b[at++] = z;
  return at;
}
