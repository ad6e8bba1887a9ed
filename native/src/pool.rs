//! Counters of the current (open) slices of every series of a set: pages of
//! 128 u8 counters in one pool shared by the set, with a carry.
//!
//! - `lo` holds the pages back to back; a page is addressed by its slot
//!   number (`slot * 128 + offset`). Slot 0 is never handed out, so a page
//!   table entry of 0 means "no page".
//! - A counter that wraps from 255 to 0 adds one to the same offset of its
//!   slot's `hi` page (u16, widened to u64 if one would overflow; allocated
//!   at the first wrap): its count is `lo + 256 * hi`. A busy counter takes
//!   one carry per 256 increments.
//! - Pages of a sealed slice are zeroed and their slots reused.
//!
//! Small counters keep the recording loop's working set small: at 3
//! significant digits a busy series touches ~100 pages per slice, 12.8 KB in
//! u8 (it was 25.6 KB in u16).

use std::mem::size_of;

use crate::paged::{PAGE, PAGE_BITS};
use crate::sparse::{PageScratch, SparseWriter};

/// The carries of one page: multiples of 256 per counter, and which
/// counters have any (bit `o` for counter `o`), so that encoding finds them
/// without reading the counts.
pub struct Carries<C> {
    pub any: u128,
    pub counts: [C; PAGE],
}

/// Carries in u16 (256 bytes a page: counts up to 2^24 in one slice) until
/// one would overflow, then in u64.
pub enum HiPage {
    Narrow(Box<Carries<u16>>),
    Wide(Box<Carries<u64>>),
}

impl HiPage {
    fn bytes(&self) -> usize {
        match self {
            HiPage::Narrow(_) => size_of::<Carries<u16>>(),
            HiPage::Wide(_) => size_of::<Carries<u64>>(),
        }
    }
}

pub struct PagePool {
    /// Low bytes of the counters, `slots * 128` bytes; slot 0 unused. Grows
    /// by a page at a time; starts over only when no page is in use
    /// (`start_over`), so a page in use is always in it (`incr_all` relies
    /// on it).
    lo: Vec<u8>,
    /// Carries (multiples of 256) per slot, allocated at the first wrap.
    pub hi: Vec<Option<HiPage>>,
    free: Vec<u32>,
    used: usize,
    /// Pages handed out so far, ever.
    allocations: u64,
}

impl Default for PagePool {
    fn default() -> Self {
        PagePool {
            lo: vec![0; PAGE],
            hi: Vec::new(),
            free: Vec::new(),
            used: 0,
            allocations: 0,
        }
    }
}

impl PagePool {
    /// A zeroed page.
    pub fn alloc(&mut self) -> u32 {
        self.used += 1;
        self.allocations += 1;
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        let slot = self.lo.len() >> PAGE_BITS;
        if self.lo.len() == self.lo.capacity() {
            // by a quarter, not doubling: the slack stays small
            self.lo.reserve_exact((self.lo.len() / 4).max(64 * PAGE));
        }
        self.lo.resize(self.lo.len() + PAGE, 0);
        // more than 2^32 slots would take 512 GiB
        u32::try_from(slot).unwrap_or(u32::MAX)
    }

    /// Increments the counter at `pos` (`slot << 7 | offset`), with carry.
    #[inline]
    pub fn incr(&mut self, pos: usize) {
        if let Some(c) = self.lo.get_mut(pos) {
            let (v, wrapped) = c.overflowing_add(1);
            *c = v;
            if wrapped {
                Self::carry(&mut self.hi, pos);
            }
        }
    }

    /// Pages handed out so far, ever (a slice with values takes some).
    pub fn allocations(&self) -> u64 {
        self.allocations
    }

    /// Starts over when no page is in use: with room for as many pages as
    /// it held at once and an eighth more (`keep_room`: the next slice takes
    /// about as many, without growing and copying again; the memory it
    /// keeps stays mapped, so refilling it takes no page faults), or with
    /// the memory given back.
    pub fn start_over(&mut self, keep_room: bool) {
        if self.used != 0 {
            return;
        }
        if !keep_room {
            let allocations = self.allocations;
            *self = PagePool::default();
            self.allocations = allocations;
            return;
        }
        let room = self.lo.len() + self.lo.len() / 8;
        // slot 0 (never handed out) stays: zeroes
        self.lo.truncate(PAGE);
        self.lo.shrink_to(room);
        self.lo.reserve_exact(room - PAGE);
        self.hi.clear();
        self.free.clear();
    }

    /// Bytes the counters have room for (tests).
    #[cfg(test)]
    pub fn room(&self) -> usize {
        self.lo.capacity()
    }

    /// Bytes of counters held, free pages included: every position of a
    /// page `alloc` returned is below it.
    pub fn positions(&self) -> usize {
        self.lo.len()
    }

    /// Increments the counters at `positions` (`slot << 7 | offset`), with
    /// carry: the recording loop's pass 2, short enough for the CPU to keep
    /// many of its cache misses in flight.
    ///
    /// # Safety
    ///
    /// Every position is below `self.positions()`: it lies in a page in use
    /// (returned by `alloc`, not freed by `detach` since). Unchecked, the
    /// loop takes 5 instructions per value instead of 6.5 (3% of the
    /// recording time).
    #[inline(never)]
    pub unsafe fn incr_all(&mut self, positions: &[u32]) {
        debug_assert!(positions.iter().all(|&p| (p as usize) < self.lo.len()));
        let (lo, hi) = (&mut self.lo[..], &mut self.hi);
        for &pos in positions {
            // SAFETY: the caller keeps `pos` below `lo.len()`
            let c = unsafe { lo.get_unchecked_mut(pos as usize) };
            let (next, wrapped) = c.overflowing_add(1);
            *c = next;
            if wrapped {
                Self::carry(hi, pos as usize);
            }
        }
    }

    /// The counter at `pos` wrapped from 255 to 0: one more 256 in `hi`.
    #[cold]
    #[inline(never)]
    pub fn carry(hi: &mut Vec<Option<HiPage>>, pos: usize) {
        let slot = pos >> PAGE_BITS;
        if hi.len() <= slot {
            hi.resize_with(slot + 1, || None);
        }
        let page = hi[slot].get_or_insert_with(|| {
            HiPage::Narrow(Box::new(Carries {
                any: 0,
                counts: [0; PAGE],
            }))
        });
        let o = pos & (PAGE - 1);
        if let HiPage::Narrow(c) = page {
            if c.counts[o] == u16::MAX {
                *page = HiPage::Wide(Box::new(Carries {
                    any: c.any,
                    counts: c.counts.map(u64::from),
                }));
            }
        }
        match page {
            HiPage::Narrow(c) => {
                c.counts[o] += 1;
                c.any |= 1 << o;
            }
            HiPage::Wide(c) => {
                c.counts[o] = c.counts[o].saturating_add(1);
                c.any |= 1 << o;
            }
        }
    }

    /// Appends the non-zero counters of `slot`, page number `page`, to `w`.
    pub fn encode(&self, slot: u32, page: usize, w: &mut SparseWriter, scratch: &mut PageScratch) {
        let start = (slot as usize) << PAGE_BITS;
        let Some(lo) = self
            .lo
            .get(start..start + PAGE)
            .and_then(|s| <&[u8; PAGE]>::try_from(s).ok())
        else {
            return;
        };
        let hi = self.hi.get(slot as usize).and_then(|h| h.as_ref());
        encode_page(page << PAGE_BITS, lo, hi, w, scratch);
    }

    /// Takes the pages of a page table (then those of `far`, (page, slot)
    /// pairs past its end, ascending) out of the pool: copies their
    /// counters, moves their carries, zeroes and frees their slots. Encoding
    /// them is left to whoever seals the slice.
    pub fn detach(&mut self, table: &[u32], far: &[(u32, u32)]) -> DetachedPages {
        let numbers: Vec<u32> = (0..table.len() as u32)
            .filter(|&p| table[p as usize] != 0)
            .collect();
        let mut out = DetachedPages {
            lo: Vec::with_capacity((numbers.len() + far.len()) * PAGE),
            numbers,
            hi: Vec::new(),
        };
        // the pages lie scattered over the pool and mostly out of cache: the
        // one `AHEAD` is fetched while one is copied (~30% faster)
        const AHEAD: usize = 6;
        let slot_of = |k: usize| table[out.numbers[k] as usize] as usize;
        for k in 0..out.numbers.len().min(AHEAD) {
            self.prefetch(slot_of(k));
        }
        for k in 0..out.numbers.len() {
            if k + AHEAD < out.numbers.len() {
                self.prefetch(slot_of(k + AHEAD));
            }
            self.take_page(slot_of(k), k, &mut out.lo, &mut out.hi);
        }
        for &(page, slot) in far {
            out.numbers.push(page);
            self.take_page(
                slot as usize,
                out.numbers.len() - 1,
                &mut out.lo,
                &mut out.hi,
            );
        }
        out
    }

    /// Moves page `slot` to the end of `lo` (its carries to `hi`, as the
    /// `k`th page) and frees it.
    #[inline(always)]
    fn take_page(
        &mut self,
        slot: usize,
        k: usize,
        lo: &mut Vec<u8>,
        hi: &mut Vec<(usize, HiPage)>,
    ) {
        let start = slot << PAGE_BITS;
        match self.lo.get_mut(start..start + PAGE) {
            Some(page) => {
                lo.extend_from_slice(page);
                page.fill(0);
            }
            None => lo.resize(lo.len() + PAGE, 0),
        }
        if let Some(h) = self.hi.get_mut(slot).and_then(Option::take) {
            hi.push((k, h));
        }
        self.free.push(slot as u32);
        self.used -= 1;
    }

    /// Asks the CPU to start loading page `slot` (both cache lines).
    #[inline(always)]
    fn prefetch(&self, slot: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(page) = self.lo.get(slot << PAGE_BITS..(slot << PAGE_BITS) + PAGE) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: prefetching is a hint; the pointers are in bounds
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(page.as_ptr() as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(page.as_ptr().add(64) as *const i8);
            }
        }
    }

    /// Pages in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Heap bytes owned (capacities).
    pub fn heap_bytes(&self) -> usize {
        self.lo.capacity()
            + self.hi.capacity() * size_of::<Option<HiPage>>()
            + self.hi.iter().flatten().map(HiPage::bytes).sum::<usize>()
            + self.free.capacity() * size_of::<u32>()
    }
}

/// Appends the non-zero counters of one page (first index `base`) to `w`.
fn encode_page(
    base: usize,
    lo: &[u8; PAGE],
    hi: Option<&HiPage>,
    w: &mut SparseWriter,
    scratch: &mut PageScratch,
) {
    match hi {
        None => w.push_page(base, lo, scratch),
        Some(HiPage::Narrow(c)) => w.push_page_with_carries(base, lo, &c.counts, c.any, scratch),
        Some(HiPage::Wide(c)) => w.push_page_with_carries(base, lo, &c.counts, c.any, scratch),
    }
}

/// The counters of a slice taken out of the pool (`PagePool::detach`): its
/// pages back to back, their page numbers, and the carries of those that
/// have any (by position in `numbers`).
#[derive(Default)]
pub struct DetachedPages {
    numbers: Vec<u32>,
    lo: Vec<u8>,
    hi: Vec<(usize, HiPage)>,
}

impl DetachedPages {
    /// Appends the non-zero counters, in index order, to `w`.
    pub fn encode(&self, w: &mut SparseWriter, scratch: &mut PageScratch) {
        let mut carries = self.hi.iter().peekable();
        for (k, (&page, lo)) in self
            .numbers
            .iter()
            .zip(self.lo.chunks_exact(PAGE))
            .enumerate()
        {
            let Ok(lo) = <&[u8; PAGE]>::try_from(lo) else {
                continue;
            };
            let hi = carries.next_if(|(at, _)| *at == k).map(|(_, h)| h);
            encode_page((page as usize) << PAGE_BITS, lo, hi, w, scratch);
        }
    }

    /// Heap bytes owned (capacities).
    pub fn heap_bytes(&self) -> usize {
        self.numbers.capacity() * size_of::<u32>()
            + self.lo.capacity()
            + self.hi.capacity() * size_of::<(usize, HiPage)>()
            + self.hi.iter().map(|(_, h)| h.bytes()).sum::<usize>()
    }
}
