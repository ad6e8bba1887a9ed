import { BATCH_HEADER_BYTES } from './wire';

/** Bounds-checked little-endian reads over a batch, from just after its header. */
export class ByteReader {
  pos = BATCH_HEADER_BYTES;
  protected readonly view: DataView;
  /** The length, read once (a typed array's byteLength is not free on every check). */
  protected readonly end: number;

  constructor(protected readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.end = b.byteLength;
  }

  protected u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }

  protected u16(): number {
    this.need(2);
    const v = this.b[this.pos] | (this.b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }

  protected u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  protected f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** An unsigned LEB128 varint of up to 8 bytes (exact up to 2^53). */
  protected varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  /** Advances by `n` bytes; returns where they start. */
  protected skip(n: number): number {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  protected need(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated');
  }
}
