import type { ByteWriter } from '../snapshot-format';

/**
 * Counts of an open slice (`cur`): pages of 128 u8 counters, allocated lazily;
 * a counter that wraps from 255 to 0 adds one to the same slot of its page's
 * carries (a Float64Array of multiples of 256, allocated at the first wrap).
 * A count is `page[o] + 256 * carries[o]`. Mirrors native/src/pool.rs: one
 * typed-array type per access site keeps the record loop monomorphic.
 */
export const PAGE_SHIFT = 7;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

export class PagedCounts {
  /** Page table: the pages up to the highest one touched (undefined: none). */
  pages: (Uint8Array | undefined)[] = [];
  /** Carries per page, allocated at a page's first wrap. */
  carries: (Float64Array | undefined)[] | undefined = undefined;
  /** Sum of the counts. */
  total = 0;

  /** Page `p`, allocated. */
  page(p: number): Uint8Array {
    const pages = this.pages;
    while (pages.length <= p) pages.push(undefined);
    let page = pages[p];
    if (page === undefined) {
      page = new Uint8Array(PAGE_SIZE);
      pages[p] = page;
    }
    return page;
  }

  /** Counter `o` of page `p` wrapped to 0: one more 256. */
  carry(p: number, o: number): void {
    let carries = this.carries;
    if (carries === undefined) {
      carries = [];
      this.carries = carries;
    }
    while (carries.length <= p) carries.push(undefined);
    let page = carries[p];
    if (page === undefined) {
      page = new Float64Array(PAGE_SIZE);
      carries[p] = page;
    }
    page[o]++;
  }

  increment(index: number): void {
    const p = index >>> PAGE_SHIFT;
    const page = this.pages[p] ?? this.page(p);
    const o = index & PAGE_MASK;
    const c = (page[o] + 1) & 0xff;
    page[o] = c;
    if (c === 0) this.carry(p, o);
    this.total++;
  }

  isEmpty(): boolean {
    return this.total === 0;
  }

  /**
   * Writes the non-zero counts as the snapshot's entry encoding (LEB128 pairs
   * `(indexDelta, count)`) and returns how many entries it wrote.
   */
  encode(w: ByteWriter): number {
    const pages = this.pages;
    const carries = this.carries;
    let previous = -1;
    let entries = 0;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      if (page === undefined) continue;
      const carry = carries === undefined ? undefined : carries[p];
      const base = p << PAGE_SHIFT;
      for (let o = 0; o < PAGE_SIZE; o++) {
        const c = carry === undefined ? page[o] : page[o] + carry[o] * 256;
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

  /** Frees every page, so that an idle series costs (almost) nothing. */
  clear(): void {
    this.pages = [];
    this.carries = undefined;
    this.total = 0;
  }

  memoryBytes(): number {
    let bytes = this.pages.length * 8;
    for (const page of this.pages) if (page !== undefined) bytes += page.byteLength;
    if (this.carries !== undefined) for (const page of this.carries) bytes += 8 + (page === undefined ? 0 : page.byteLength);
    return bytes;
  }
}
