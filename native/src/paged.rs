//! Dense counts stored in lazily allocated pages of 128 counters.

use std::mem::size_of;

pub const PAGE_BITS: u32 = 7;
pub const PAGE: usize = 1 << PAGE_BITS;
const PAGE_MASK: usize = PAGE - 1;

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

impl Counter for u8 {
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn add_u64(&mut self, n: u64) {
        *self = self.wrapping_add(n as u8);
    }
    #[inline(always)]
    fn incr(&mut self) {
        *self = self.wrapping_add(1);
    }
}

impl Counter for u16 {
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn add_u64(&mut self, n: u64) {
        *self = self.wrapping_add(n as u16);
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

/// A page of counters whose width grows on overflow (u8 -> u16 -> u32 -> u64).
#[derive(Clone)]
enum WidePage {
    U8(Box<[u8; PAGE]>),
    U16(Box<[u16; PAGE]>),
    U32(Box<[u32; PAGE]>),
    U64(Box<[u64; PAGE]>),
}

impl WidePage {
    fn get(&self, o: usize) -> u64 {
        match self {
            WidePage::U8(p) => p[o] as u64,
            WidePage::U16(p) => p[o] as u64,
            WidePage::U32(p) => p[o] as u64,
            WidePage::U64(p) => p[o],
        }
    }

    fn bytes(&self) -> usize {
        match self {
            WidePage::U8(_) => PAGE,
            WidePage::U16(_) => 2 * PAGE,
            WidePage::U32(_) => 4 * PAGE,
            WidePage::U64(_) => 8 * PAGE,
        }
    }

    fn widen(&mut self) {
        *self = match self {
            WidePage::U8(p) => WidePage::U16(Box::new(p.map(|c| c as u16))),
            WidePage::U16(p) => WidePage::U32(Box::new(p.map(|c| c as u32))),
            WidePage::U32(p) => WidePage::U64(Box::new(p.map(|c| c as u64))),
            WidePage::U64(p) => WidePage::U64(p.clone()),
        };
    }

    /// Adds `n` to counter `o`, widening the page as needed (u64 saturates).
    fn add(&mut self, o: usize, n: u64) {
        loop {
            let fits = match self {
                WidePage::U8(p) => u8::try_from(p[o] as u64 + n).map(|v| p[o] = v).is_ok(),
                WidePage::U16(p) => u16::try_from(p[o] as u64 + n).map(|v| p[o] = v).is_ok(),
                WidePage::U32(p) => u32::try_from(p[o] as u64 + n).map(|v| p[o] = v).is_ok(),
                WidePage::U64(p) => {
                    p[o] = p[o].saturating_add(n);
                    true
                }
            };
            if fits {
                return;
            }
            self.widen();
        }
    }
}

/// Lifetime counts: pages of 128 counters whose width grows on overflow
/// (u8 -> u16 -> u32 -> u64), allocated lazily; the page table grows only as
/// far as the highest page touched. Written only when a slice is sealed.
#[derive(Clone, Default)]
pub struct WidePaged {
    pages: Vec<Option<WidePage>>,
}

impl WidePaged {
    pub fn add(&mut self, idx: usize, n: u64) {
        if n == 0 {
            return;
        }
        let p = idx >> PAGE_BITS;
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        self.pages[p]
            .get_or_insert_with(|| WidePage::U8(Box::new([0; PAGE])))
            .add(idx & PAGE_MASK, n);
    }

    pub fn get(&self, idx: usize) -> u64 {
        match self.pages.get(idx >> PAGE_BITS) {
            Some(Some(page)) => page.get(idx & PAGE_MASK),
            _ => 0,
        }
    }

    /// Adds a whole page of counts (page number `p`), widening once if needed.
    pub fn add_page<T: Counter>(&mut self, p: usize, add: &[T; PAGE]) {
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        let page = self.pages[p].get_or_insert_with(|| WidePage::U8(Box::new([0; PAGE])));
        let mut add64 = [0u64; PAGE];
        for (d, a) in add64.iter_mut().zip(add) {
            *d = a.to_u64();
        }
        fn max_sum<C: Counter>(x: &[C; PAGE], add: &[u64; PAGE]) -> u64 {
            x.iter()
                .zip(add)
                .map(|(c, a)| c.to_u64().saturating_add(*a))
                .fold(0, u64::max)
        }
        loop {
            let fits = match page {
                WidePage::U8(x) => max_sum(x, &add64) <= u8::MAX as u64,
                WidePage::U16(x) => max_sum(x, &add64) <= u16::MAX as u64,
                WidePage::U32(x) => max_sum(x, &add64) <= u32::MAX as u64,
                WidePage::U64(_) => true,
            };
            if fits {
                break;
            }
            page.widen();
        }
        match page {
            WidePage::U8(x) => x
                .iter_mut()
                .zip(&add64)
                .for_each(|(c, a)| *c = c.wrapping_add(*a as u8)),
            WidePage::U16(x) => x
                .iter_mut()
                .zip(&add64)
                .for_each(|(c, a)| *c = c.wrapping_add(*a as u16)),
            WidePage::U32(x) => x
                .iter_mut()
                .zip(&add64)
                .for_each(|(c, a)| *c = c.wrapping_add(*a as u32)),
            WidePage::U64(x) => x
                .iter_mut()
                .zip(&add64)
                .for_each(|(c, a)| *c = c.saturating_add(*a)),
        }
    }

    pub fn page_slots(&self) -> usize {
        self.pages.len()
    }

    fn page(&self, p: usize) -> Option<&WidePage> {
        self.pages.get(p).and_then(|x| x.as_ref())
    }

    /// (pages of u8, u16, u32, u64)
    pub fn widths(&self) -> [usize; 4] {
        let mut w = [0; 4];
        for page in self.pages.iter().flatten() {
            w[page.bytes().trailing_zeros() as usize - PAGE_BITS as usize] += 1;
        }
        w
    }

    pub fn heap_bytes(&self) -> usize {
        self.pages.capacity() * size_of::<Option<WidePage>>()
            + self
                .pages
                .iter()
                .flatten()
                .map(WidePage::bytes)
                .sum::<usize>()
    }
}

/// Non-zero sums of lifetime + cur + cur's spill, in index order.
pub fn sum_iter<'a>(
    a: Option<&'a WidePaged>,
    b: &'a Paged<u16>,
    c: Option<&'a Paged<u64>>,
) -> impl Iterator<Item = (usize, u64)> + 'a {
    let slots = a
        .map_or(0, |a| a.page_slots())
        .max(b.page_slots())
        .max(c.map_or(0, |c| c.page_slots()));
    (0..slots).flat_map(move |p| {
        let pa = a.and_then(|a| a.page(p));
        let pb = b.page(p);
        let pc = c.and_then(|c| c.page(p));
        let any = pa.is_some() || pb.is_some() || pc.is_some();
        (0..if any { PAGE } else { 0 }).filter_map(move |o| {
            let n = pa
                .map_or(0, |x| x.get(o))
                .saturating_add(pb.map_or(0, |x| x[o] as u64))
                .saturating_add(pc.map_or(0, |x| x[o]));
            (n != 0).then_some(((p << PAGE_BITS) | o, n))
        })
    })
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

    #[test]
    fn wide_pages_grow_on_overflow() {
        let mut w = WidePaged::default();
        assert_eq!(w.heap_bytes(), 0);
        w.add(3, 200);
        w.add(300, 1);
        assert_eq!(w.widths(), [2, 0, 0, 0]);
        w.add(3, 55);
        assert_eq!((w.get(3), w.widths()), (255, [2, 0, 0, 0]));
        w.add(3, 1);
        assert_eq!((w.get(3), w.widths()), (256, [1, 1, 0, 0]));
        w.add(4, 70_000);
        assert_eq!(
            (w.get(3), w.get(4), w.widths()),
            (256, 70_000, [1, 0, 1, 0])
        );
        w.add(300, u32::MAX as u64);
        assert_eq!(
            (w.get(300), w.widths()),
            (u32::MAX as u64 + 1, [0, 0, 1, 1])
        );
        assert!(w.heap_bytes() >= 3 * size_of::<Option<WidePage>>() + 4 * PAGE + 8 * PAGE);
        // whole pages
        let mut add = [0u16; PAGE];
        add[1] = 300;
        add[3] = 1;
        w.add_page(0, &add);
        w.add_page(5, &add);
        assert_eq!(
            (w.get(1), w.get(3), w.get(4), w.get(5 * PAGE + 1)),
            (300, 257, 70_000, 300)
        );
        assert_eq!(w.widths(), [0, 1, 1, 1]);
    }

    #[test]
    fn sums() {
        let mut a = WidePaged::default();
        let mut b: Paged<u16> = Paged::default();
        a.add(3, 10);
        b.incr(3);
        b.incr(300);
        let mut c: Paged<u64> = Paged::default();
        c.add(700, u32::MAX as u64 + 5);
        let v: Vec<_> = sum_iter(Some(&a), &b, Some(&c)).collect();
        assert_eq!(v, vec![(3, 11), (300, 1), (700, u32::MAX as u64 + 5)]);
    }
}
