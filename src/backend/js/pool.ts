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

/**
 * A slice's pages in the pool (as native/src/series.rs keeps them): a direct
 * table, page number to slot (0: no page), grown 16 entries at a time while
 * it takes at most `MIN_DIRECT` entries (64 KiB: every page up to an hour at
 * any precision) or `DIRECT_PER_PAGE` per page held; pages past that are in
 * `far`, ascending, and their values take the slow path. A table reaching a
 * clamped value at 5 digits and 2^53 - 1 took 152 KB per series.
 */
export interface OpenPages {
  table: Int32Array;
  far: FarPages | null;
  /** Pages held, in the table or in `far`. */
  held: number;
}

/** Pages past a slice's table: page numbers ascending and their slots. */
export interface FarPages {
  pages: number[];
  slots: number[];
}

const MIN_DIRECT = 16_384;
const DIRECT_PER_PAGE = 16;

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

  /** The slot of page `p` of `o`, allocated if it has none (growing its table, or in `far` past what the table may take). */
  slotFor(o: OpenPages, p: number): number {
    if (p >= o.table.length) {
      const limit = Math.max(MIN_DIRECT, DIRECT_PER_PAGE * (o.held + 1));
      if (p >= limit) return this.farSlot(o, p);
      grow(o, Math.min((p | 15) + 1, limit));
    }
    let slot = o.table[p];
    if (slot === 0) {
      slot = this.alloc();
      o.table[p] = slot;
      o.held++;
    }
    return slot;
  }

  private farSlot(o: OpenPages, p: number): number {
    const far = (o.far ??= { pages: [], slots: [] });
    const at = lowerBound(far.pages, p);
    if (far.pages[at] === p) return far.slots[at];
    const slot = this.alloc();
    far.pages.splice(at, 0, p);
    far.slots.splice(at, 0, slot);
    o.held++;
    return slot;
  }

  /**
   * Writes the non-zero counts of the pages of `o` as the snapshot's entry
   * encoding; returns how many entries.
   */
  encode(o: OpenPages, w: ByteWriter): number {
    const encoder = new PageEncoder(w);
    forEachPage(o, (p, slot) => encoder.page(p, this.lo, slot * PAGE_SIZE, this.carries[slot]));
    return encoder.entries;
  }

  /**
   * Takes the pages of `o` out of the pool, for sealing later: copies their
   * counters, takes their carries, then zeroes and frees them, and empties `o`.
   */
  detach(o: OpenPages): DetachedPages {
    const pages = o.held;
    const numbers = new Int32Array(pages);
    const lo = new Uint8Array(pages * PAGE_SIZE);
    let carries: (Float64Array | undefined)[] | null = null;
    let k = 0;
    forEachPage(o, (p, slot) => {
      numbers[k] = p;
      lo.set(this.lo.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE), k * PAGE_SIZE);
      const carry = this.carries[slot];
      if (carry !== undefined) {
        carries ??= new Array<Float64Array | undefined>(pages);
        carries[k] = carry;
      }
      k++;
    });
    this.release(o);
    return { numbers, lo, carries };
  }

  /** Zeroes and frees the pages of `o`, and empties it. */
  release(o: OpenPages): void {
    forEachPage(o, (_p, slot) => {
      this.lo.fill(0, slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
      if (slot < this.carries.length) this.carries[slot] = undefined;
      this.free.push(slot);
      this.used--;
    });
    o.table = NO_PAGES;
    o.far = null;
    o.held = 0;
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

/** Calls `fn` with each page of `o` and its slot, in ascending page order (the table's, then `far`'s). */
function forEachPage(o: OpenPages, fn: (p: number, slot: number) => void): void {
  const table = o.table;
  for (let p = 0; p < table.length; p++) if (table[p] !== 0) fn(p, table[p]);
  if (o.far !== null) for (let k = 0; k < o.far.pages.length; k++) fn(o.far.pages[k], o.far.slots[k]);
}

/** Grows the table of `o` to `len` entries, moving the pages of `far` below it in. */
function grow(o: OpenPages, len: number): void {
  const table = new Int32Array(len);
  table.set(o.table);
  const far = o.far;
  if (far !== null) {
    const moved = lowerBound(far.pages, len);
    for (let k = 0; k < moved; k++) table[far.pages[k]] = far.slots[k];
    far.pages.splice(0, moved);
    far.slots.splice(0, moved);
  }
  o.table = table;
}

/** The first position in ascending `xs` whose value is at least `x`. */
function lowerBound(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
