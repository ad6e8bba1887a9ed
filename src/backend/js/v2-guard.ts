/**
 * Checks a V2 compressed base64 histogram before hdr-histogram-js decodes it,
 * with bounded memory, as the native decoder bounds its own
 * (native/src/v2.rs): hdr-histogram-js inflates the whole stream at once, so
 * a 65 KB string whose header claims 100 bytes of payload made it inflate
 * 50 MB. The header's checks and messages are native's (digits, lowest and
 * highest, the payload length against the histogram's counters, a payload
 * shorter than claimed); a bad cookie or a truncated stream gets a message
 * of its own. Native also reads the payload's counts (hdr-histogram-js
 * does here), and stops reading 64 KiB past its end where this refuses.
 * A payload as long as its header may claim (9 bytes per counter, 55 MB at
 * 5 digits up to 2^63) is still inflated whole by hdr-histogram-js.
 */
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

/** What the header of a checked V2 histogram says. */
export interface V2Header {
  significantDigits: number;
  /** Counters of its histogram (with its lowest value scaled to 1). */
  countsLen: number;
  payloadLen: number;
}

/** Throws `spanmeter: cannot decode histogram: ...` for what native refuses to read; returns the header otherwise. */
export function checkV2(text: string): V2Header {
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.length < 8) throw bad(`${bytes.length} bytes is too short`);
  const cookie = bytes.readUInt32BE(0);
  if ((cookie & ~0xf0) >>> 0 !== COMPRESSED_COOKIE_BASE) throw bad(`cookie 0x${cookie.toString(16).padStart(8, '0')} is not compressed V2`);
  const length = bytes.readUInt32BE(4);
  if (length > bytes.length - 8) throw bad(`compressed length ${length} but ${bytes.length - 8} bytes follow`);
  const inflated = new InflateLimited();
  const inflate = new Inflate({ chunkSize: 4096 });
  inflate.onData = (chunk) => inflated.add(chunk);
  inflate.push(bytes.subarray(8, 8 + length), true);
  if (inflate.err !== 0) throw bad(`corrupt deflate stream (${inflate.msg})`);
  if (inflated.header === null) throw bad('truncated V2 header');
  if (inflated.received < HEADER_LEN + inflated.header.payloadLen) throw bad(`payload truncated: ${inflated.received - HEADER_LEN} of ${inflated.header.payloadLen} bytes`);
  return inflated.header;
}

/** Collects the first bytes of the inflated stream, reads the header from them, and stops a stream longer than it claims. */
class InflateLimited {
  header: V2Header | null = null;
  received = 0;
  private readonly first = Buffer.alloc(HEADER_LEN);

  add(chunk: Uint8Array): void {
    if (this.received < HEADER_LEN) {
      const take = Math.min(chunk.length, HEADER_LEN - this.received);
      this.first.set(chunk.subarray(0, take), this.received);
      if (this.received + take === HEADER_LEN) this.header = readHeader(this.first);
    }
    this.received += chunk.length;
    const header = this.header;
    if (header !== null && this.received > HEADER_LEN + header.payloadLen + TRAILING_ALLOWED) {
      throw bad(`inflates past the ${header.payloadLen} bytes of payload its header claims`);
    }
  }
}

function readHeader(h: Buffer): V2Header {
  const cookie = h.readUInt32BE(0);
  if ((cookie & ~0xf0) >>> 0 !== V2_COOKIE_BASE) throw bad(`inner cookie 0x${cookie.toString(16).padStart(8, '0')} is not V2`);
  const payloadLen = h.readUInt32BE(4);
  const digits = h.readUInt32BE(12);
  const lowest = h.readBigUInt64BE(16);
  const highest = h.readBigUInt64BE(24);
  if (digits > 5) throw bad(`significant digits ${digits} not in 0..=5`);
  const maxI64 = 2n ** 63n - 1n;
  if (lowest < 1n || lowest > maxI64) throw bad(`lowest discernible value ${lowest} invalid`);
  if (highest > maxI64 || highest < lowest * 2n) throw bad(`highest trackable value ${highest} invalid for lowest ${lowest}`);
  // as native: the counters of the histogram with its lowest value scaled to 1
  const unitMagnitude = BigInt(lowest.toString(2).length - 1);
  const counters = countsLen(digits, highest >> unitMagnitude);
  // a count takes at most 9 bytes
  if (payloadLen > counters * 9) throw bad(`payload length ${payloadLen} too large`);
  return { significantDigits: digits, countsLen: counters, payloadLen };
}

/** Counters of a histogram of `digits` up to `highest` (lowest 1), as native's `HdrMath::counts_len`. */
function countsLen(digits: number, highest: bigint): number {
  const countMag = Math.ceil(Math.log2(2 * 10 ** digits));
  const subCount = 2 ** Math.max(countMag, 1);
  let smallestUntrackable = BigInt(subCount);
  let buckets = 1;
  while (smallestUntrackable <= (highest < 2n ? 2n : highest)) {
    smallestUntrackable *= 2n;
    buckets++;
  }
  return (buckets + 1) * (subCount / 2);
}

function bad(what: string): Error {
  return new Error(`spanmeter: cannot decode histogram: ${what}`);
}
