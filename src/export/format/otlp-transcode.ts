import { ByteReader } from '../byte-reader';
import {
  SPAN_HAS_PARENT,
  SPAN_HAS_TRACE_STATE,
  SPAN_PARENT_REMOTE,
  VAL_ARRAY,
  VAL_FALSE,
  VAL_NULL,
  VAL_NUMBER,
  VAL_STRING,
  VAL_TRUE,
  readBatchHeader,
} from '../wire';
import { ProtobufWriter } from './protobuf-writer';

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/**
 * Spans [from, to) of a binary batch (wire.ts) straight into an OTLP
 * `ExportTraceServiceRequest` (protobuf), with no intermediate objects: strings
 * are copied as the UTF-8 bytes the encoder wrote. Two passes over the bytes:
 * the first indexes strings, resources, scopes and span offsets; the second
 * writes the spans grouped by resource and scope.
 *
 * This is the hot path of the export worker (otlp and jaeger targets); the other
 * formats go through `decodeBatch`. Throws `spanmeter: bad batch: …` on bytes
 * that are not a batch.
 */
export function transcodeOtlp(bytes: Uint8Array, from: number, to: number): Buffer {
  const header = readBatchHeader(bytes);
  if (header === undefined) throw new Error('spanmeter: bad batch: wrong magic or version');
  const t = new Transcoder(bytes);
  try {
    return t.run(from, Math.min(to, header.spanCount));
  } catch (error) {
    throw new Error(`spanmeter: bad batch: ${(error as Error).message} at byte ${t.pos}`);
  }
}

class Transcoder extends ByteReader {
  /** Strings by id: byte offset and length in the batch. */
  private strAt = new Int32Array(256);
  private strLen = new Int32Array(256);
  private strings = 0;
  /** Resources: offset of their attribute block; scopes: string ids of name, version, schema URL. */
  private readonly resourceAt: number[] = [];
  private readonly resourceSchema: number[] = [];
  private readonly scopeName: number[] = [];
  private readonly scopeVersion: number[] = [];
  private readonly scopeSchema: number[] = [];
  private w!: ProtobufWriter;
  /** Pass 1 defines strings; pass 2 finds an inline string's id by its offset. */
  private indexing = true;

  constructor(bytes: Uint8Array) {
    super(bytes);
  }

  run(from: number, to: number): Buffer {
    // Pass 1: index.
    const n = Math.max(0, to - from);
    const spanAt = new Int32Array(n);
    const spanRes = new Int32Array(n);
    const spanScope = new Int32Array(n);
    for (let i = 0; i < to; i++) {
      const res = this.ref(true);
      const scope = this.ref(false);
      if (i >= from) {
        spanAt[i - from] = this.pos;
        spanRes[i - from] = res;
        spanScope[i - from] = scope;
      }
      this.skipSpanBody();
    }
    // Pass 2: groups in order of first appearance.
    this.indexing = false;
    const w = (this.w = new ProtobufWriter(Math.max(4096, Math.ceil(this.b.byteLength * 1.5))));
    const done = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const res = spanRes[i];
      w.begin(1); // resource_spans
      w.begin(1); // resource
      if (res >= 0) this.writeAttrsAt(this.resourceAt[res], 1, true);
      w.end();
      for (let j = i; j < n; j++) {
        if (done[j] || spanRes[j] !== res) continue;
        const scope = spanScope[j];
        w.begin(2); // scope_spans
        w.begin(1); // scope
        if (scope >= 0) {
          this.writeStr(1, this.scopeName[scope]);
          this.writeStr(2, this.scopeVersion[scope]);
        }
        w.end();
        for (let k = j; k < n; k++) {
          if (done[k] || spanRes[k] !== res || spanScope[k] !== scope) continue;
          done[k] = 1;
          this.pos = spanAt[k];
          this.writeSpan();
        }
        if (scope >= 0) this.writeStr(3, this.scopeSchema[scope]);
        w.end();
      }
      if (res >= 0) this.writeStr(3, this.resourceSchema[res]);
      w.end();
    }
    return w.finish();
  }

  // ---- pass 1: reading and skipping ----

  /** A resource (or scope) reference; a definition is indexed. Returns its id, -1 for none. */
  private ref(resource: boolean): number {
    const v = this.varint();
    if (v === 0) return -1;
    if (v >= 2) return v - 2;
    if (resource) {
      this.resourceAt.push(this.pos);
      this.skipAttrs();
      this.varint();
      this.resourceSchema.push(this.str());
      return this.resourceAt.length - 1;
    }
    this.scopeName.push(this.str());
    this.scopeVersion.push(this.str());
    this.scopeSchema.push(this.str());
    return this.scopeName.length - 1;
  }

  /** A string reference; an inline definition is indexed. Returns its id, -1 when absent. */
  private str(): number {
    const v = this.varint();
    if (v === 0) return -1;
    if (v % 2 === 0) {
      const id = v / 2 - 1;
      if (id >= this.strings) throw new Error(`unknown string ${id}`);
      return id;
    }
    const len = (v - 1) / 2;
    this.need(len);
    if (!this.indexing) {
      const found = this.stringAt(this.pos);
      this.pos += len;
      return found;
    }
    const id = this.strings++;
    if (id >= this.strAt.length) {
      const at = new Int32Array(this.strAt.length * 2);
      at.set(this.strAt);
      this.strAt = at;
      const ln = new Int32Array(this.strLen.length * 2);
      ln.set(this.strLen);
      this.strLen = ln;
    }
    this.strAt[id] = this.pos;
    this.strLen[id] = len;
    this.pos += len;
    return id;
  }

  /** The id of the string defined at byte `at` (ids are given in byte order). */
  private stringAt(at: number): number {
    let lo = 0;
    let hi = this.strings - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.strAt[mid];
      if (v === at) return mid;
      if (v < at) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`no string defined at ${at}`);
  }

  private skipSpanBody(): void {
    this.need(25);
    this.pos += 24;
    const flags = this.b[this.pos++];
    if ((flags & SPAN_HAS_PARENT) !== 0) this.pos += 8;
    this.pos += 1; // trace flags
    if ((flags & SPAN_HAS_TRACE_STATE) !== 0) this.str();
    this.str(); // name
    this.need(18);
    this.pos += 17; // kind, start, end
    this.pos += 1; // status code
    this.str();
    this.skipAttrs();
    this.varint();
    const events = this.u16();
    for (let i = 0; i < events; i++) {
      this.str();
      this.need(8);
      this.pos += 8;
      this.skipAttrs();
      this.varint();
    }
    this.varint();
    const links = this.u16();
    for (let i = 0; i < links; i++) {
      this.need(26);
      this.pos += 26;
      this.str();
      this.skipAttrs();
      this.varint();
    }
    this.varint();
  }

  private skipAttrs(): void {
    const count = this.u16();
    for (let i = 0; i < count; i++) {
      this.str();
      this.skipValue(true);
    }
  }

  private skipValue(nested: boolean): void {
    const tag = this.u8();
    if (tag === VAL_STRING) this.str();
    else if (tag === VAL_NUMBER) {
      this.need(8);
      this.pos += 8;
    } else if (tag === VAL_ARRAY && nested) {
      const n = this.u16();
      for (let i = 0; i < n; i++) this.skipValue(false);
    } else if (tag !== VAL_NULL && tag !== VAL_TRUE && tag !== VAL_FALSE) throw new Error(`unknown value tag ${tag}`);
  }

  // ---- pass 2: writing (strings are already indexed) ----

  private writeSpan(): void {
    const w = this.w;
    const b = this.b;
    const at = this.pos;
    w.begin(2); // spans
    w.bytes(1, b, at, 16);
    w.bytes(2, b, at + 16, 8);
    this.pos = at + 24;
    const flags = b[this.pos++];
    let parentAt = -1;
    if ((flags & SPAN_HAS_PARENT) !== 0) {
      parentAt = this.pos;
      this.pos += 8;
    }
    const traceFlags = b[this.pos++];
    if ((flags & SPAN_HAS_TRACE_STATE) !== 0) this.writeStr(3, this.str());
    if (parentAt >= 0) w.bytes(4, b, parentAt, 8);
    this.writeStr(5, this.str());
    const kind = b[this.pos++];
    w.tag(6, 0);
    w.varint(kind + 1); // OTLP SpanKind = API SpanKind + 1
    w.tag(7, 1);
    this.nanos();
    w.tag(8, 1);
    this.nanos();
    const statusCode = b[this.pos++];
    const statusMessage = this.str();
    this.writeAttrs(9);
    this.dropped(10);
    const events = this.u16();
    for (let i = 0; i < events; i++) {
      w.begin(11);
      const name = this.str();
      w.tag(1, 1);
      this.nanos();
      this.writeStr(2, name);
      this.writeAttrs(3);
      this.dropped(4);
      w.end();
    }
    this.dropped(12);
    const links = this.u16();
    for (let i = 0; i < links; i++) {
      w.begin(13);
      const linkAt = this.pos;
      w.bytes(1, b, linkAt, 16);
      w.bytes(2, b, linkAt + 16, 8);
      const linkFlags = b[linkAt + 24];
      const remote = b[linkAt + 25] === 1;
      this.pos = linkAt + 26;
      this.writeStr(3, this.str());
      this.writeAttrs(4);
      this.dropped(5);
      w.tag(6, 5);
      w.fixed32(linkFlags | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0));
      w.end();
    }
    this.dropped(14);
    w.begin(15); // status
    this.writeStr(2, statusMessage);
    if (statusCode !== 0) {
      w.tag(3, 0);
      w.varint(statusCode);
    }
    w.end();
    w.tag(16, 5);
    w.fixed32(traceFlags | HAS_IS_REMOTE | ((flags & SPAN_PARENT_REMOTE) !== 0 ? IS_REMOTE : 0));
    w.end();
  }

  /** The attribute block at `at` (a resource's), then a dropped count in field 2 (resource only). */
  private writeAttrsAt(at: number, field: number, withDropped: boolean): void {
    const saved = this.pos;
    this.pos = at;
    this.writeAttrs(field);
    if (withDropped) this.dropped(2);
    this.pos = saved;
  }

  private writeAttrs(field: number): void {
    const w = this.w;
    const count = this.u16();
    for (let i = 0; i < count; i++) {
      w.begin(field); // KeyValue
      this.writeStr(1, this.str());
      w.begin(2); // AnyValue
      this.writeValue(true);
      w.end();
      w.end();
    }
  }

  private writeValue(nested: boolean): void {
    const w = this.w;
    const tag = this.u8();
    switch (tag) {
      case VAL_STRING: {
        const id = this.str();
        w.tag(1, 2);
        this.copyStr(id);
        return;
      }
      case VAL_NUMBER: {
        const v = this.f64();
        if (Number.isInteger(v)) {
          w.tag(3, 0);
          w.int64(v);
        } else {
          w.tag(4, 1);
          w.double(v);
        }
        return;
      }
      case VAL_TRUE:
      case VAL_FALSE:
        w.tag(2, 0);
        w.varint(tag === VAL_TRUE ? 1 : 0);
        return;
      case VAL_ARRAY: {
        if (!nested) throw new Error('nested array');
        const n = this.u16();
        w.begin(5);
        for (let i = 0; i < n; i++) {
          w.begin(1);
          this.writeValue(false);
          w.end();
        }
        w.end();
        return;
      }
      case VAL_NULL:
        return;
      default:
        throw new Error(`unknown value tag ${tag}`);
    }
  }

  /** A string field from its id (nothing when absent). */
  private writeStr(field: number, id: number): void {
    if (id < 0) return;
    this.w.tag(field, 2);
    this.copyStr(id);
  }

  /** Length and bytes of a string (the value of a field whose tag is written). */
  private copyStr(id: number): void {
    const len = this.strLen[id];
    this.w.varint(len);
    this.w.copy(this.b, this.strAt[id], len);
  }

  private dropped(field: number): void {
    const n = this.varint();
    if (n > 0) {
      this.w.tag(field, 0);
      // uint32 fields: a larger varint breaks decoders (protobufjs skips it as a 10-byte negative)
      this.w.varint(Math.min(n, 0xffffffff));
    }
  }

  private nanos(): void {
    this.need(8);
    const sec = this.view.getUint32(this.pos, true);
    const ns = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    this.w.fixed64Nanos(sec, ns);
  }
}
