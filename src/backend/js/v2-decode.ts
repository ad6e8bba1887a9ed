/**
 * Reads HdrHistogram V2 base64 (plain or deflate-compressed) on the JS
 * fallback, with the native decoder's rules and messages (native/src/v2.rs):
 *
 * - memory is bounded by the encoding, not by what its header claims: the
 *   stream is inflated 4 KiB at a time and its counts are read as they come
 *   (hdr-histogram-js `decodeFromCompressedBase64` inflated it whole: a
 *   65 KB string whose header claimed 100 bytes of payload made it inflate
 *   50 MB);
 * - it is read twice, as native reads it: the histogram is only made once
 *   the whole encoding is known to be valid;
 * - a count past the histogram's last counter, or a run of zeros past it,
 *   is refused (hdr-histogram-js dropped such a count without a word);
 * - where native reads a total count past 2^53 - 1 (it keeps u64 counts),
 *   this refuses it, naming why: doubles would not hold it exactly.
 *
 * The histogram made is hdr-histogram-js's `Float64Histogram` (one double per
 * counter, as `build({ bitBucketSize: 64 })` makes), so what the rest of the
 * fallback reads from it is unchanged.
 */
import * as hdr from 'hdr-histogram-js';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Inflate } = require('pako') as { Inflate: new (options: { chunkSize: number }) => PakoInflate };

interface PakoInflate {
  onData(chunk: Uint8Array): void;
  push(data: Uint8Array, end: boolean): boolean;
  err: number;
  msg: string;
}

const COMPRESSED_COOKIE_BASE = 0x1c849304;
const V2_COOKIE_BASE = 0x1c849303;
const HEADER_LEN = 40;
/** Past the payload, what a stream may still hold (native reads on 64 KiB for the checksum). */
const TRAILING_ALLOWED = 1 << 16;

/** What the header of a V2 histogram says. */
export interface V2Header {
  significantDigits: number;
  lowest: number;
  /** As a double: past 2^53 it is only compared with 2^53 - 1 (rounding keeps that order). */
  highest: number;
  /** floor(log2(lowest)): values are counted in units of 2^unitMagnitude. */
  unitMagnitude: number;
  /** Counters of its histogram (with its lowest value scaled to 1). */
  countsLen: number;
  payloadLen: number;
}

/** A count read from the payload: its counter's index and the count (never 0). */
type CountSink = (index: number, count: number) => void;

/** A decoded histogram, and how many of its values were above the highest it tracks (recorded as that highest). */
export interface DecodedV2 {
  histogram: hdr.Histogram;
  clamped: number;
}

/**
 * Decodes V2 base64 into an hdr-histogram-js histogram; throws
 * `spanmeter: cannot decode histogram: ...` for whatever native refuses to read.
 *
 * As native: a histogram with lowest 1, up to 2^53 - 1, keeps its counters
 * as they are (values above its highest included, which its counters reach
 * up to the next power of two); any other one is re-recorded into a
 * histogram with lowest 1 up to min(highest, 2^53 - 1), each count at its
 * bucket's lowest value, those above that highest clamped and counted.
 */
export function decodeV2(text: string): DecodedV2 {
  const bytes = base64Bytes(text);
  const header = walk(bytes, null);
  const highest = Math.min(header.highest, Number.MAX_SAFE_INTEGER);
  const histogram = new hdr.Float64Histogram(1, highest, header.significantDigits);
  let clamped = 0;
  if (header.lowest === 1 && header.highest <= Number.MAX_SAFE_INTEGER) {
    let filled = 0;
    walk(bytes, (index, count) => {
      histogram.setCountAtIndex(index, count);
      filled = index + 1;
    });
    histogram.establishInternalTackingValues(filled);
  } else {
    const unit = 2 ** header.unitMagnitude;
    const halfCount = subBucketHalfCount(header.significantDigits);
    walk(bytes, (index, count) => {
      const value = valueFromIndex(halfCount, index) * unit;
      if (value > highest) clamped += count;
      histogram.recordValueWithCount(Math.min(value, highest), count);
    });
  }
  return { histogram, clamped };
}

/**
 * The bytes of standard base64 (padding optional), refusing what native
 * refuses with its message: Node's decoder skips characters it does not
 * know (spaces, `!`) and reads the URL-safe alphabet too.
 */
function base64Bytes(text: string): Buffer {
  const trimmed = text.trim();
  const symbol = /[^A-Za-z0-9+/=]/.exec(trimmed);
  const pad = trimmed.indexOf('=');
  const badPad = pad >= 0 && (!/^=*$/.test(trimmed.slice(pad)) || trimmed.length - pad > 2 || trimmed.length % 4 !== 0) ? pad : -1;
  const at = symbol === null ? badPad : badPad < 0 ? symbol.index : Math.min(symbol.index, badPad);
  if (at >= 0) throw bad(`invalid base64 (Invalid symbol ${trimmed.charCodeAt(at)}, offset ${at}.)`);
  return Buffer.from(trimmed, 'base64');
}

/** Reads the encoding `bytes`, handing each count to `sink` (when given); returns its header. */
function walk(bytes: Buffer, sink: CountSink | null): V2Header {
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is too short`);
  const cookie = bytes.readUInt32BE(0);
  switch ((cookie & ~0xf0) >>> 0) {
    case COMPRESSED_COOKIE_BASE: {
      const length = bytes.readUInt32BE(4);
      if (length > bytes.length - 8) throw bad(`compressed length ${length} but ${bytes.length - 8} bytes follow`);
      const reader = new PayloadReader(sink, TRAILING_ALLOWED);
      const inflate = new Inflate({ chunkSize: 4096 });
      inflate.onData = (chunk) => reader.add(chunk);
      inflate.push(bytes.subarray(8, 8 + length), true);
      if (inflate.err !== 0) throw bad(`corrupt deflate stream (${inflate.msg})`);
      return reader.finish();
    }
    case V2_COOKIE_BASE: {
      // already in memory: what follows the payload is not read
      const reader = new PayloadReader(sink, Infinity);
      reader.add(bytes);
      return reader.finish();
    }
    default:
      throw bad(`cookie 0x${cookie.toString(16).padStart(8, '0')} is not V2 (only V2 encodings are supported)`);
  }
}

/**
 * Takes the inflated stream a chunk at a time: the header from its first 40
 * bytes, then the payload's ZigZag LEB128-64b9B counts as they come.
 */
class PayloadReader {
  private header: V2Header | null = null;
  private readonly first = Buffer.alloc(HEADER_LEN);
  /** Bytes of the stream taken so far. */
  private received = 0;
  /** Bytes of the payload read so far. */
  private read = 0;
  /** The counter the next count goes to. */
  private index = 0;
  private total = 0;
  /** The varint being read: its bytes so far, its value so far, and whether it is negative (ZigZag). */
  private varintBytes = 0;
  private varint = 0;
  private varintHigh = 0;
  private negative = false;

  /** `trailingAllowed`: how far past its payload a stream may go (an inflated one is stopped there). */
  constructor(
    private readonly sink: CountSink | null,
    private readonly trailingAllowed: number,
  ) {}

  add(chunk: Uint8Array): void {
    let at = 0;
    if (this.received < HEADER_LEN) {
      at = Math.min(chunk.length, HEADER_LEN - this.received);
      this.first.set(chunk.subarray(0, at), this.received);
      if (this.received + at === HEADER_LEN) this.header = readHeader(this.first);
    }
    this.received += chunk.length;
    const header = this.header;
    if (header === null) return;
    if (this.received > HEADER_LEN + header.payloadLen + this.trailingAllowed) {
      throw bad(`inflates past the ${header.payloadLen} bytes of payload its header claims`);
    }
    const end = Math.min(chunk.length, at + header.payloadLen - this.read);
    for (let i = at; i < end; i++) this.byte(chunk[i], header);
    this.read += Math.max(0, end - at);
  }

  /** The header, once the whole payload has been read. */
  finish(): V2Header {
    const header = this.header;
    if (header === null) throw bad('truncated V2 header');
    if (this.read < header.payloadLen) throw bad(`payload truncated: ${this.read} of ${header.payloadLen} bytes`);
    if (this.varintBytes > 0) throw bad('truncated count varint');
    return header;
  }

  /**
   * LEB128-64b9B: up to 8 bytes of 7 bits, a 9th byte carries 8 bits. The
   * low 49 bits and the rest are summed apart, each exactly: their sum is
   * exact up to 2^53, and rounded once past it (where it is refused).
   */
  private byte(b: number, header: V2Header): void {
    const k = this.varintBytes;
    if (k === 0) this.negative = (b & 1) === 1;
    if (k < 8) {
      if (k < 7) this.varint += (b & 0x7f) * 2 ** (7 * k);
      else this.varintHigh = (b & 0x7f) * 2 ** 49;
      if (b & 0x80) {
        this.varintBytes++;
        return;
      }
    } else {
      this.varintHigh += b * 2 ** 56;
    }
    // ZigZag: even values are counts, odd ones runs of zeros
    const zz = this.varint + this.varintHigh;
    this.varintBytes = 0;
    this.varint = 0;
    this.varintHigh = 0;
    if (this.negative) this.skip((zz + 1) / 2, header.countsLen);
    else this.count(zz / 2, header.countsLen);
  }

  private skip(run: number, countsLen: number): void {
    if (this.index + run > countsLen) throw bad(`zero run from index ${this.index} past ${countsLen} counters`);
    this.index += run;
  }

  private count(n: number, countsLen: number): void {
    if (n > 0) {
      if (this.index >= countsLen) throw bad(`count at index ${this.index} beyond ${countsLen} counters`);
      this.total += n;
      // native reads these; a double would not hold them exactly
      if (this.total > Number.MAX_SAFE_INTEGER) throw bad(`total count above 2^53 - 1 at index ${this.index}: the JS fallback holds counts exactly up to there`);
      this.sink?.(this.index, n);
    }
    this.index++;
  }
}

function readHeader(h: Buffer): V2Header {
  const cookie = h.readUInt32BE(0);
  if ((cookie & ~0xf0) >>> 0 !== V2_COOKIE_BASE) throw bad(`inner cookie 0x${cookie.toString(16).padStart(8, '0')} is not V2`);
  const payloadLen = h.readUInt32BE(4);
  // h[8..12]: normalizing index offset, ignored (as hdr-histogram-js and native do)
  const digits = h.readUInt32BE(12);
  const lowest = h.readBigUInt64BE(16);
  const highest = h.readBigUInt64BE(24);
  if (digits > 5) throw bad(`significant digits ${digits} not in 0..=5`);
  const maxI64 = 2n ** 63n - 1n;
  if (lowest < 1n || lowest > maxI64) throw bad(`lowest discernible value ${lowest} invalid`);
  if (highest > maxI64 || highest < lowest * 2n) throw bad(`highest trackable value ${highest} invalid for lowest ${lowest}`);
  // as native: the counters of the histogram with its lowest value scaled to 1
  const unitMagnitude = lowest.toString(2).length - 1;
  const counters = countsLen(digits, highest >> BigInt(unitMagnitude));
  // a count takes at most 9 bytes
  if (payloadLen > counters * 9) throw bad(`payload length ${payloadLen} too large`);
  return { significantDigits: digits, lowest: Number(lowest), highest: Number(highest), unitMagnitude, countsLen: counters, payloadLen };
}

/** Half the sub-buckets of a bucket, at `digits` significant digits (as native's `HdrMath`). */
function subBucketHalfCount(digits: number): number {
  const countMag = Math.ceil(Math.log2(2 * 10 ** digits));
  return 2 ** (Math.max(countMag, 1) - 1);
}

/** Lowest value (in units) of the bucket at `index`: exact, a sub-bucket below 2^18 times a power of two. */
function valueFromIndex(halfCount: number, index: number): number {
  let bucket = Math.floor(index / halfCount) - 1;
  let sub = (index % halfCount) + halfCount;
  if (bucket < 0) {
    sub -= halfCount;
    bucket = 0;
  }
  return sub * 2 ** bucket;
}

/**
 * Counters of a histogram of `digits` up to `highest` (lowest 1), as native's
 * `HdrMath::counts_len`. (src/backend/hdr-math.ts `hdrLayout` does this for
 * the histograms we make, at 1 to 5 digits up to 2^53 - 1; a header may
 * claim 0 digits, up to 2^63 - 1.)
 */
function countsLen(digits: number, highest: bigint): number {
  const halfCount = subBucketHalfCount(digits);
  let smallestUntrackable = BigInt(halfCount * 2);
  let buckets = 1;
  while (smallestUntrackable <= (highest < 2n ? 2n : highest)) {
    smallestUntrackable *= 2n;
    buckets++;
  }
  return (buckets + 1) * halfCount;
}

function bad(what: string): Error {
  return new Error(`spanmeter: cannot decode histogram: ${what}`);
}
