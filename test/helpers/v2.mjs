// Hand-made HdrHistogram V2 encodings, for decoders' tests.
import { deflateSync } from 'node:zlib';

/** V2 compressed base64 with these header fields and payload; `claimedLength` replaces the payload's length in the header. */
export function compressedV2({ digits, lowest = 1n, highest, payload, claimedLength = payload.length }) {
  const plain = Buffer.alloc(40 + payload.length);
  plain.writeUInt32BE(0x1c849313, 0);
  plain.writeUInt32BE(claimedLength, 4);
  plain.writeUInt32BE(0, 8);
  plain.writeUInt32BE(digits, 12);
  plain.writeBigUInt64BE(lowest, 16);
  plain.writeBigUInt64BE(highest, 24);
  plain.writeDoubleBE(1, 32);
  Buffer.from(payload).copy(plain, 40);
  const deflated = deflateSync(plain);
  const out = Buffer.alloc(8 + deflated.length);
  out.writeUInt32BE(0x1c849314, 0);
  out.writeUInt32BE(deflated.length, 4);
  deflated.copy(out, 8);
  return out.toString('base64');
}
