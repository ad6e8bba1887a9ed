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
   * encoding (LEB128 pairs `(indexDelta, count)`); returns how many entries.
   */
  encode(table: Int32Array, w: ByteWriter): number {
    const lo = this.lo;
    let previous = -1;
    let entries = 0;
    for (let p = 0; p < table.length; p++) {
      const slot = table[p];
      if (slot === 0) continue;
      const carry = this.carries[slot];
      const start = slot * PAGE_SIZE;
      const base = p * PAGE_SIZE;
      for (let o = 0; o < PAGE_SIZE; o++) {
        const c = carry === undefined ? lo[start + o] : lo[start + o] + carry[o] * 256;
        if (c === 0) continue;
        const index = base + o;
        w.varint(index - previous - 1);
        w.varint(c);
        previous = index;
        entries++;
      }
    }
    return entries;
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
