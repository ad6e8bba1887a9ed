/**
 * Dense HDR counts in pages of 128 counters, allocated lazily, each page with its
 * own counter width that grows on overflow (u8 -> u16 -> u32 -> f64); the page
 * table grows only as far as the highest page touched. Mirrors native/src/paged.rs.
 */
export const PAGE_SHIFT = 7;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

type Page = Uint8Array | Uint16Array | Uint32Array | Float64Array;

function widen(page: Page): Page {
  const next =
    page instanceof Uint8Array ? new Uint16Array(PAGE_SIZE) : page instanceof Uint16Array ? new Uint32Array(PAGE_SIZE) : new Float64Array(PAGE_SIZE);
  next.set(page);
  return next;
}

export class PagedCounts {
  private pages: (Page | undefined)[] = [];
  total = 0;

  increment(index: number): void {
    const pageNo = index >>> PAGE_SHIFT;
    let page = this.pages[pageNo];
    if (page === undefined) {
      while (this.pages.length < pageNo) this.pages.push(undefined);
      page = new Uint8Array(PAGE_SIZE);
      this.pages[pageNo] = page;
    }
    const slot = index & (PAGE_SIZE - 1);
    const next = page[slot] + 1;
    page[slot] = next;
    if (page[slot] !== next) {
      // the counter wrapped: widen the page, then store the count
      page = widen(page);
      page[slot] = next;
      this.pages[pageNo] = page;
    }
    this.total++;
  }

  isEmpty(): boolean {
    return this.total === 0;
  }

  /** Calls `visit` for every non-zero counter in ascending index order. */
  forEachNonZero(visit: (index: number, count: number) => void): void {
    for (let p = 0; p < this.pages.length; p++) {
      const page = this.pages[p];
      if (page === undefined) continue;
      const base = p << PAGE_SHIFT;
      for (let i = 0; i < PAGE_SIZE; i++) {
        if (page[i] !== 0) visit(base + i, page[i]);
      }
    }
  }

  /** Frees every page, so that an idle series costs (almost) nothing. */
  clear(): void {
    this.pages = [];
    this.total = 0;
  }

  memoryBytes(): number {
    let bytes = this.pages.length * 8;
    for (const page of this.pages) if (page !== undefined) bytes += page.byteLength;
    return bytes;
  }
}
