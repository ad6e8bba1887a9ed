/**
 * A minimal protocol buffers writer: varints, fixed32/64, length-delimited
 * fields, and nested messages whose length prefix is written after their body
 * (the body is moved when its length needs more than one byte).
 */
export class ProtobufWriter {
  buf: Buffer;
  pos = 0;
  /** Capacity, kept in a field: a typed array's length is not free on every check. */
  private cap: number;
  private readonly stack: number[] = [];

  constructor(initialCapacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialCapacity);
    this.cap = initialCapacity;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    if (this.stack.length !== 0) throw new Error('spanmeter: unbalanced protobuf messages');
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.cap) return;
    let size = this.cap * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.cap = size;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  varint(value: number): void {
    this.ensure(10);
    let v = value;
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = v >= 0x80000000 ? Math.floor(v / 128) : v >>> 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** int64 field value (two's complement for negatives). */
  int64(value: number): void {
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(Math.trunc(Math.max(-9.2e18, Math.min(9.2e18, value)))));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.u32(value >>> 0);
  }

  private u32(v: number): void {
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v & 0xff;
    buf[p + 1] = (v >>> 8) & 0xff;
    buf[p + 2] = (v >>> 16) & 0xff;
    buf[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  /** fixed64 of an OTel time (seconds, nanoseconds), computed exactly in doubles. */
  fixed64Nanos(sec: number, ns: number): void {
    this.ensure(8);
    const s1 = Math.floor(sec / 65536);
    const s0 = sec - s1 * 65536;
    const a = s0 * 1e9 + ns; // < 2^47
    const b = s1 * 1e9; // counts units of 2^16, < 2^46
    const lowSum = (b % 65536) * 65536 + (a % 4294967296);
    const low = lowSum % 4294967296;
    const high = Math.floor(b / 65536) + Math.floor(a / 4294967296) + Math.floor(lowSum / 4294967296);
    this.u32(low >>> 0);
    this.u32(high >>> 0);
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A string field (skipped when undefined). */
  string(field: number, value: string | undefined): void {
    if (value === undefined) return;
    this.tag(field, 2);
    const max = value.length * 3;
    if (max < 0x80) {
      this.ensure(max + 1);
      const n = this.buf.write(value, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(value, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.buf.write(value, this.pos, 'utf8');
    this.pos += n;
  }

  /** A bytes field copied from `source`. */
  bytes(field: number, source: Uint8Array, offset: number, length: number): void {
    this.tag(field, 2);
    this.varint(length);
    this.copy(source, offset, length);
  }

  /** Copies `length` raw bytes of `source` from `offset` (after a length already written). */
  copy(source: Uint8Array, offset: number, length: number): void {
    this.ensure(length);
    const buf = this.buf;
    let p = this.pos;
    if (length <= 32) {
      for (let i = 0; i < length; i++) buf[p++] = source[offset + i];
    } else {
      buf.set(source.subarray(offset, offset + length), p);
      p += length;
    }
    this.pos = p;
  }

  /** Starts a nested message in `field`; close it with `end()`. */
  begin(field: number): void {
    this.tag(field, 2);
    this.ensure(1);
    this.stack.push(this.pos);
    this.pos += 1;
  }

  end(): void {
    const at = this.stack.pop() as number;
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const size = len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    let v = len;
    let p = at;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += size - 1;
  }
}
