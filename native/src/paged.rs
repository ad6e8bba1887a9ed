//! Dense counts stored in lazily allocated pages of 128 counters.

use std::mem::size_of;

pub const PAGE_BITS: u32 = 7;
pub const PAGE: usize = 1 << PAGE_BITS;
pub const PAGE_MASK: usize = PAGE - 1;

/// A counter type of a paged histogram.
pub trait Counter: Copy + Default + PartialEq + 'static {
    fn to_u64(self) -> u64;
    /// Adds `n`, wrapping (callers keep counts below the type's range).
    fn add_u64(&mut self, n: u64);
    fn incr(&mut self);
}

impl Counter for u32 {
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn add_u64(&mut self, n: u64) {
        *self = self.wrapping_add(n as u32);
    }
    #[inline(always)]
    fn incr(&mut self) {
        *self = self.wrapping_add(1);
    }
}

impl Counter for u64 {
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self
    }
    #[inline(always)]
    fn add_u64(&mut self, n: u64) {
        *self = self.saturating_add(n);
    }
    #[inline(always)]
    fn incr(&mut self) {
        *self = self.wrapping_add(1);
    }
}

type Page<T> = Box<[T; PAGE]>;

/// Pages per chunk of the page table (64: 8,192 counters).
const CHUNK_BITS: u32 = 6;
const CHUNK: usize = 1 << CHUNK_BITS;
type Chunk<T> = Box<[Option<Page<T>>; CHUNK]>;

/// Counts addressed by HDR index, in pages allocated on first write, found
/// through a table of chunks of 64 page pointers, allocated as their pages
/// are. A one-level table up to the highest page used took 8 bytes a page:
/// 304 KB for one value at 5 digits up to 2^53 - 1; now 8 bytes per 64
/// pages and 512 bytes per chunk used.
#[derive(Clone)]
pub struct Paged<T: Counter> {
    chunks: Vec<Option<Chunk<T>>>,
    allocated: usize,
    chunks_allocated: usize,
}

impl<T: Counter> Default for Paged<T> {
    fn default() -> Self {
        Paged {
            chunks: Vec::new(),
            allocated: 0,
            chunks_allocated: 0,
        }
    }
}

impl<T: Counter> Paged<T> {
    /// Increments the counter at `idx`.
    #[inline(always)]
    pub fn incr(&mut self, idx: usize) {
        if let Some(counter) = self.counter_mut(idx) {
            counter.incr();
        } else {
            self.alloc(idx >> PAGE_BITS);
            self.incr(idx);
        }
    }

    /// Adds `n` to the counter at `idx`.
    #[inline]
    pub fn add(&mut self, idx: usize, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(counter) = self.counter_mut(idx) {
            counter.add_u64(n);
        } else {
            self.alloc(idx >> PAGE_BITS);
            self.add(idx, n);
        }
    }

    /// The counter at `idx`, if its page is allocated.
    #[inline(always)]
    fn counter_mut(&mut self, idx: usize) -> Option<&mut T> {
        let p = idx >> PAGE_BITS;
        match self.chunks.get_mut(p >> CHUNK_BITS) {
            Some(Some(chunk)) => match &mut chunk[p & (CHUNK - 1)] {
                Some(page) => Some(&mut page[idx & PAGE_MASK]),
                None => None,
            },
            _ => None,
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc(&mut self, p: usize) {
        let c = p >> CHUNK_BITS;
        if self.chunks.len() <= c {
            self.chunks.resize_with(c + 1, || None);
        }
        let chunk = self.chunks[c].get_or_insert_with(|| {
            self.chunks_allocated += 1;
            Box::new([const { None }; CHUNK])
        });
        let page = &mut chunk[p & (CHUNK - 1)];
        if page.is_none() {
            *page = Some(Box::new([T::default(); PAGE]));
            self.allocated += 1;
        }
    }

    pub fn get(&self, idx: usize) -> u64 {
        self.page(idx >> PAGE_BITS)
            .map_or(0, |page| page[idx & PAGE_MASK].to_u64())
    }

    /// Number of page-table slots (pages may be absent).
    pub fn page_slots(&self) -> usize {
        self.chunks.len() << CHUNK_BITS
    }

    /// Page `p`, if allocated.
    #[inline(always)]
    pub fn page(&self, p: usize) -> Option<&[T; PAGE]> {
        self.chunks
            .get(p >> CHUNK_BITS)
            .and_then(|c| c.as_ref())
            .and_then(|c| c[p & (CHUNK - 1)].as_deref())
    }

    pub fn allocated_pages(&self) -> usize {
        self.allocated
    }

    /// Allocated pages with their page numbers, ascending.
    pub fn pages(&self) -> impl Iterator<Item = (usize, &[T; PAGE])> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, chunk)| chunk.as_ref().map(|chunk| (c, chunk)))
            .flat_map(|(c, chunk)| {
                chunk
                    .iter()
                    .enumerate()
                    .filter_map(move |(o, x)| x.as_deref().map(|x| ((c << CHUNK_BITS) | o, x)))
            })
    }

    /// Non-zero counters in index order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.pages().flat_map(|(p, page)| {
            page.iter().enumerate().filter_map(move |(o, c)| {
                let c = c.to_u64();
                (c != 0).then_some(((p << PAGE_BITS) | o, c))
            })
        })
    }

    /// Calls `f(index, count)` for every non-zero counter in index order,
    /// then frees every page and the page table.
    pub fn drain(&mut self, mut f: impl FnMut(usize, u64)) {
        for (i, c) in self.iter() {
            f(i, c);
        }
        self.clear();
    }

    pub fn clear(&mut self) {
        self.chunks = Vec::new();
        self.allocated = 0;
        self.chunks_allocated = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.allocated == 0
    }

    /// Heap bytes owned: the page table, its chunks and the pages.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Option<Chunk<T>>>()
            + self.chunks_allocated * size_of::<[Option<Page<T>>; CHUNK]>()
            + self.allocated * size_of::<[T; PAGE]>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazily_allocates_and_drains() {
        let mut p: Paged<u32> = Paged::default();
        assert_eq!(p.heap_bytes(), 0);
        p.incr(5);
        p.incr(5);
        p.incr(1000);
        p.add(130, 7);
        assert_eq!(p.allocated_pages(), 3);
        assert_eq!(p.get(5), 2);
        assert_eq!(p.get(6), 0);
        assert_eq!(p.get(1 << 20), 0);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![(5, 2), (130, 7), (1000, 1)]
        );
        let mut out = vec![];
        p.drain(|i, c| out.push((i, c)));
        assert_eq!(out, vec![(5, 2), (130, 7), (1000, 1)]);
        // drained pages are freed
        assert_eq!(p.allocated_pages(), 0);
        assert_eq!(p.heap_bytes(), 0);
        assert_eq!(p.iter().count(), 0);
    }
}
