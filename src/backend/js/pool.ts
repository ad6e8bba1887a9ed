import type { ByteWriter } from '../snapshot-format';

/**
 * Counters of the open slices (`cur`) of every series of a set. Mirrors
 * native/src/pool.rs: pages of 128 u8 counters in one Uint8Array, addressed by
 * slot (`slot * 128 + offset`; slot 0 is never handed out, so a page table
 * entry of 0 means "no page"); a counter that wraps from 255 to 0 adds one to
 * the same offset of its slot's carries (a Float64Array of multiples of 256,
 * allocated at the first wrap), so a count is `lo + 256 * carries`. Pages of a
 * sealed slice are zeroed and their slots reused. One Uint8Array for all
 * counters keeps the record loop monomorphic and its working set dense.
 */
export const PAGE_SHIFT = 7;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** A page table without pages. */
export const NO_PAGES = new Int32Array(0);

const INITIAL_SLOTS = 16;

export class CounterPool {
  /** Low bytes of the counters, `slots * 128` (grows by doubling). */
  lo = new Uint8Array(INITIAL_SLOTS * PAGE_SIZE);
  /** Carries per slot, allocated at the slot's first wrap. */
  private carries: (Float64Array | undefined)[] = [];
  /** Slots handed out so far (slot 0 included), and the freed ones. */
  private slots = 1;
  private free: number[] = [];
  private used = 0;

  /** A zeroed page's slot. */
  alloc(): number {
    this.used++;
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if ((this.slots + 1) * PAGE_SIZE > this.lo.length) {
      const grown = new Uint8Array(this.lo.length * 2);
      grown.set(this.lo);
      this.lo = grown;
    }
    return this.slots++;
  }

  /** The counter at `pos` wrapped from 255 to 0. */
  carry(pos: number): void {
    const slot = pos >>> PAGE_SHIFT;
    const carries = this.carries;
    while (carries.length <= slot) carries.push(undefined);
    let page = carries[slot];
    if (page === undefined) {
      page = new Float64Array(PAGE_SIZE);
      carries[slot] = page;
    }
    page[pos & PAGE_MASK]++;
  }

  /** Page table `table` with page `p` allocated (grown as needed; may be a new array). */
  withPage(table: Int32Array, p: number): Int32Array {
    let t = table;
    if (p >= t.length) {
      t = new Int32Array(p + 1);
      t.set(table);
    }
    if (t[p] === 0) t[p] = this.alloc();
    return t;
  }

  /**
   * Writes the non-zero counts of the pages in `table` as the snapshot's entry
   * encoding; returns how many entries.
   */
  encode(table: Int32Array, w: ByteWriter): number {
    const encoder = new PageEncoder(w);
    for (let p = 0; p < table.length; p++) {
      const slot = table[p];
      if (slot !== 0) encoder.page(p, this.lo, slot * PAGE_SIZE, this.carries[slot]);
    }
    return encoder.entries;
  }

  /**
   * Takes the pages of `table` out of the pool, for sealing later: copies
   * their counters, takes their carries, then zeroes and frees them.
   */
  detach(table: Int32Array): DetachedPages {
    let pages = 0;
    for (let p = 0; p < table.length; p++) if (table[p] !== 0) pages++;
    const numbers = new Int32Array(pages);
    const lo = new Uint8Array(pages * PAGE_SIZE);
    let carries: (Float64Array | undefined)[] | null = null;
    let k = 0;
    for (let p = 0; p < table.length; p++) {
      const slot = table[p];
      if (slot === 0) continue;
      numbers[k] = p;
      lo.set(this.lo.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE), k * PAGE_SIZE);
      const carry = this.carries[slot];
      if (carry !== undefined) {
        carries ??= new Array<Float64Array | undefined>(pages);
        carries[k] = carry;
      }
      k++;
    }
    this.release(table);
    return { numbers, lo, carries };
  }

  /** Zeroes and frees the pages of `table`. */
  release(table: Int32Array): void {
    for (let p = 0; p < table.length; p++) {
      const slot = table[p];
      if (slot === 0) continue;
      this.lo.fill(0, slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
      if (slot < this.carries.length) this.carries[slot] = undefined;
      this.free.push(slot);
      this.used--;
    }
    if (this.used === 0) {
      // every slice is sealed: give the memory back
      this.lo = new Uint8Array(INITIAL_SLOTS * PAGE_SIZE);
      this.carries = [];
      this.slots = 1;
      this.free = [];
    }
  }

  memoryBytes(): number {
    let bytes = this.lo.byteLength + this.free.length * 8 + this.carries.length * 8;
    for (const page of this.carries) if (page !== undefined) bytes += page.byteLength;
    return bytes;
  }
}

/** The counters of a full slice taken out of the pool (`CounterPool.detach`). */
export interface DetachedPages {
  /** Page numbers, ascending. */
  readonly numbers: Int32Array;
  /** Their counters' low bytes, 128 per page, back to back. */
  readonly lo: Uint8Array;
  /** Their carries, by position in `numbers` (null: none). */
  readonly carries: (Float64Array | undefined)[] | null;
}

/** Writes `pages`' non-zero counts as the snapshot's entry encoding; returns how many entries. */
export function encodeDetached(pages: DetachedPages, w: ByteWriter): number {
  const encoder = new PageEncoder(w);
  for (let k = 0; k < pages.numbers.length; k++) {
    encoder.page(pages.numbers[k], pages.lo, k * PAGE_SIZE, pages.carries?.[k]);
  }
  return encoder.entries;
}

/** Writes pages of counters, in ascending page order, in the snapshot's entry encoding. */
class PageEncoder {
  entries = 0;
  private previous = -1;
  private previousCount = 0;

  constructor(private readonly w: ByteWriter) {}

  /** Page number `p`, its 128 low bytes at `lo[start..]`, its carries if any. */
  page(p: number, lo: Uint8Array, start: number, carry: Float64Array | undefined): void {
    const w = this.w;
    const base = p * PAGE_SIZE;
    for (let o = 0; o < PAGE_SIZE; o++) {
      const c = carry === undefined ? lo[start + o] : lo[start + o] + carry[o] * 256;
      if (c === 0) continue;
      const index = base + o;
      w.entry(index - this.previous - 1, c, this.previousCount);
      this.previousCount = c;
      this.previous = index;
      this.entries++;
    }
  }
}
