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

/// Counts addressed by HDR index; the page table grows up to the highest page
/// used and pages are allocated on first write.
#[derive(Clone)]
pub struct Paged<T: Counter> {
    pages: Vec<Option<Page<T>>>,
    allocated: usize,
}

impl<T: Counter> Default for Paged<T> {
    fn default() -> Self {
        Paged {
            pages: Vec::new(),
            allocated: 0,
        }
    }
}

impl<T: Counter> Paged<T> {
    /// Increments the counter at `idx`.
    #[inline(always)]
    pub fn incr(&mut self, idx: usize) {
        if let Some(Some(page)) = self.pages.get_mut(idx >> PAGE_BITS) {
            page[idx & PAGE_MASK].incr();
        } else {
            self.page_mut(idx >> PAGE_BITS)[idx & PAGE_MASK].incr();
        }
    }

    /// Adds `n` to the counter at `idx`.
    #[inline]
    pub fn add(&mut self, idx: usize, n: u64) {
        if n != 0 {
            self.page_mut(idx >> PAGE_BITS)[idx & PAGE_MASK].add_u64(n);
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc(&mut self, p: usize) {
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        if self.pages[p].is_none() {
            self.pages[p] = Some(Box::new([T::default(); PAGE]));
            self.allocated += 1;
        }
    }

    fn page_mut(&mut self, p: usize) -> &mut [T; PAGE] {
        if !matches!(self.pages.get(p), Some(Some(_))) {
            self.alloc(p);
        }
        match &mut self.pages[p] {
            Some(page) => page,
            None => unreachable!("page allocated above"),
        }
    }

    pub fn get(&self, idx: usize) -> u64 {
        match self.pages.get(idx >> PAGE_BITS) {
            Some(Some(page)) => page[idx & PAGE_MASK].to_u64(),
            _ => 0,
        }
    }

    /// Number of page-table slots (pages may be absent).
    pub fn page_slots(&self) -> usize {
        self.pages.len()
    }

    /// Page `p`, if allocated.
    pub fn page(&self, p: usize) -> Option<&[T; PAGE]> {
        self.pages.get(p).and_then(|x| x.as_deref())
    }

    pub fn allocated_pages(&self) -> usize {
        self.allocated
    }

    /// Allocated pages with their page numbers, ascending.
    pub fn pages(&self) -> impl Iterator<Item = (usize, &[T; PAGE])> + '_ {
        self.pages
            .iter()
            .enumerate()
            .filter_map(|(p, x)| x.as_deref().map(|x| (p, x)))
    }

    /// Non-zero counters in index order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.pages.iter().enumerate().flat_map(|(p, page)| {
            page.iter().flat_map(move |page| {
                page.iter().enumerate().filter_map(move |(o, c)| {
                    let c = c.to_u64();
                    (c != 0).then_some(((p << PAGE_BITS) | o, c))
                })
            })
        })
    }

    /// Calls `f(index, count)` for every non-zero counter in index order,
    /// then frees every page and the page table.
    pub fn drain(&mut self, mut f: impl FnMut(usize, u64)) {
        for (p, page) in self.pages.iter().enumerate() {
            let Some(page) = page else { continue };
            for (o, c) in page.iter().enumerate() {
                let v = c.to_u64();
                if v != 0 {
                    f((p << PAGE_BITS) | o, v);
                }
            }
        }
        self.clear();
    }

    pub fn clear(&mut self) {
        self.pages = Vec::new();
        self.allocated = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.allocated == 0
    }

    /// Heap bytes owned: the page table and the pages.
    pub fn heap_bytes(&self) -> usize {
        self.pages.capacity() * size_of::<Option<Page<T>>>()
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
