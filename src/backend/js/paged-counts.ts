/** Dense HDR counts allocated lazily in pages of 128 counters (mirrors native/src/paged.rs). */
export const PAGE_SHIFT = 7;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class PagedCounts {
  private pages: (Float64Array | undefined)[];
  total = 0;

  constructor(countsLen: number) {
    this.pages = new Array(Math.ceil(countsLen / PAGE_SIZE)).fill(undefined);
  }

  increment(index: number): void {
    const pageNo = index >>> PAGE_SHIFT;
    let page = this.pages[pageNo];
    if (page === undefined) {
      page = new Float64Array(PAGE_SIZE);
      this.pages[pageNo] = page;
    }
    page[index & (PAGE_SIZE - 1)]++;
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

  /** Frees every page, so that an idle series costs only its page table. */
  clear(): void {
    this.pages.fill(undefined);
    this.total = 0;
  }

  memoryBytes(): number {
    let bytes = this.pages.length * 8;
    for (const page of this.pages) if (page !== undefined) bytes += PAGE_SIZE * 8;
    return bytes;
  }
}
