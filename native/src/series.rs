//! One series: totals, the current 10 s slice, the sealed lifetime, the four
//! rings L0..L3 and the accumulators acc1..acc3, with the rotation of
//! docs/internals.md (layout v2).
//!
//! Layout notes (not observable through snapshots):
//! - a series is split in two: `Hot`, the fields the recording loop touches
//!   (one cache line, inline in the set's table), and `Series`, the rest
//!   (boxed, touched when a slice is sealed and by snapshots);
//! - per value only `cur` is touched: u8 counters with a carry in the set's
//!   `PagePool`, found through `Hot::table`;
//! - the sealed lifetime, ring entries and accumulators are `Piece`s in the
//!   snapshot's entry encoding, kept deflated (`Packed`), so writing them
//!   into a snapshot is an inflate into place; `cur` is the only item a
//!   snapshot encodes. Every sealed slice is in
//!   exactly one of acc1, acc2, acc3 and the sealed lifetime (the merge of
//!   every sealed acc3), so the lifetime histogram is their sum plus `cur`,
//!   and the big lifetime piece is merged into once per 15 minutes, not once
//!   per slice.

use std::collections::VecDeque;
use std::mem::size_of;

use crate::packed::{Entries, Packed};
use crate::paged::{PAGE, PAGE_BITS};
use crate::pool::{DetachedPages, PagePool};
use crate::snapshot::{MASK_LIFETIME, WINDOW_MASKS};
use crate::sparse::{PageScratch, Piece, SparseWriter};

pub const LEVELS: usize = 4;
/// Slice length of each level (L0..L3), ms.
pub const SLICE_MS: [i64; LEVELS] = [10_000, 60_000, 300_000, 900_000];
/// Ring length of each level = slices per window (1m, 5m, 15m, 1h).
pub const RING_KEEP: [i64; LEVELS] = [6, 5, 3, 4];

/// The first level whose accumulator is kept deflated. acc1 is merged into
/// every 10 s: inflating and deflating it each time made sealing a busy
/// slice cost 350 µs instead of 200, for 3 KiB.
const DEFLATED_FROM: usize = 2;

const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

/// nowMs as used by the set: NaN is 0, values are clamped to +-2^53.
pub fn sanitize_now(now_ms: f64) -> f64 {
    if now_ms.is_nan() {
        0.0
    } else {
        now_ms.clamp(-TWO_POW_53, TWO_POW_53)
    }
}

/// Slice index of every level at (sanitized) `now`: floor(now / slice_k),
/// computed in f64 like the JS back end.
pub fn slice_indices(now: f64) -> [i64; LEVELS] {
    SLICE_MS.map(|ms| (now / ms as f64).floor() as i64)
}

/// L0 slice index of a raw nowMs.
pub fn slice_index(now_ms: f64) -> i64 {
    (sanitize_now(now_ms) / SLICE_MS[0] as f64).floor() as i64
}

/// floor(index * slice_from / slice_to), slice_to a multiple of slice_from.
#[inline]
fn map_index(index: i64, from: usize, to: usize) -> i64 {
    index.div_euclid(SLICE_MS[to] / SLICE_MS[from])
}

#[inline]
fn within(index: i64, now: i64, slices: i64) -> bool {
    now - slices < index && index <= now
}

/// Windows an open piece (cur at level 0, acc_j at level j) belongs to: its
/// own level's window and every coarser one.
pub fn mask_of_open(level: usize, index: i64, n: &[i64; LEVELS]) -> u8 {
    let mut mask = 0;
    for k in level..LEVELS {
        if within(map_index(index, level, k), n[k], RING_KEEP[k]) {
            mask |= WINDOW_MASKS[k];
        }
    }
    mask
}

/// A sealed ring entry counts for its own level's window only.
pub fn mask_of_sealed(level: usize, index: i64, n: &[i64; LEVELS]) -> u8 {
    if within(index, n[level], RING_KEEP[level]) {
        WINDOW_MASKS[level]
    } else {
        0
    }
}

/// The recorded values' sum is kept exact (as `SUM_ROOM - Hot::room`) up to
/// 2^53; JS's f64 accumulation gives the same number up to there. A value
/// that would take it further switches the series to f64 accumulation, value
/// by value, exactly like the JS back end.
pub const SUM_ROOM: u64 = 1 << 53;

/// What the recording loop touches per value, one cache line per series,
/// inline in the set's table (indexed by series id).
#[repr(C, align(64))]
pub struct Hot {
    /// L0 slice index of `cur`. A batch at a later slice moves the series
    /// there first (`HistogramSet::advance_all`). `i64::MIN` until the
    /// series exists.
    pub cur_index: i64,
    /// `SUM_ROOM` minus the exact sum of the recorded values; 0 once the sum
    /// is accumulated in f64 (`Series::big_sum`).
    pub room: u64,
    pub min: u64,
    pub max: u64,
    /// Errors recorded in `cur`.
    pub errors: u64,
    /// cur's page table: the pool slot of each page of counters, 0 = none,
    /// up to the pages it may take (see `MIN_DIRECT`); the rest are in
    /// `Front::far`. Empty when `cur` holds no page in it.
    pub table: Box<[u32]>,
}

impl Default for Hot {
    fn default() -> Self {
        Hot {
            cur_index: i64::MIN,
            room: SUM_ROOM,
            min: u64::MAX,
            max: 0,
            errors: 0,
            table: Box::default(),
        }
    }
}

/// `cur`'s direct page table (`Hot::table`) grows, 16 entries at a time, to
/// take a page while it stays within `MIN_DIRECT` entries (64 KiB: every
/// page up to an hour, the default highest value, at any precision: 184
/// pages at 3 digits, 16,384 at 5) or `DIRECT_PER_PAGE` entries per page
/// `cur` holds (64 bytes of table per page of 128 counters); pages past it
/// are `FarPages`, whose values take the slow path. At 5 digits up to
/// 2^53 - 1 the table of a series holding a clamped value took a u32 for
/// each of 38,912 pages: 152 KB for a slice of two pages. The limit is
/// not lower: a table of 1 KiB sent every value of an operation clustered
/// above 33 ms at 5 digits (a timeout, a fixed sleep) to the slow path, in
/// every slice, 7x slower per value.
const MIN_DIRECT: usize = 16_384;
const DIRECT_PER_PAGE: usize = 16;

impl Hot {
    /// Encodes `cur`'s counters (`far` holds its pages past the table) into `w`.
    pub fn encode_cur(
        &self,
        far: &FarPages,
        pool: &PagePool,
        w: &mut SparseWriter,
        scratch: &mut PageScratch,
    ) {
        for (page, &slot) in self.table.iter().enumerate() {
            if slot != 0 {
                pool.encode(slot, page, w, scratch);
            }
        }
        for &(page, slot) in far.pages.iter() {
            pool.encode(slot, page as usize, w, scratch);
        }
    }

    /// Increments the counter at `idx`, allocating its page and growing the
    /// page table (or `far`, past what the table may take) as needed.
    pub fn incr(&mut self, far: &mut FarPages, pool: &mut PagePool, idx: usize) {
        let page = idx >> PAGE_BITS;
        if self.table.len() <= page {
            let limit = MIN_DIRECT.max(DIRECT_PER_PAGE * (far.held as usize + 1));
            if page >= limit {
                let slot = far.slot(page as u32, pool);
                pool.incr(((slot as usize) << PAGE_BITS) | (idx & (PAGE - 1)));
                return;
            }
            self.grow(far, ((page | 15) + 1).min(limit));
        }
        if self.table[page] == 0 {
            self.table[page] = pool.alloc();
            far.held += 1;
        }
        pool.incr(((self.table[page] as usize) << PAGE_BITS) | (idx & (PAGE - 1)));
    }

    /// Grows the page table to `len` entries, moving the pages of `far`
    /// below it in.
    #[cold]
    fn grow(&mut self, far: &mut FarPages, len: usize) {
        let mut t = std::mem::take(&mut self.table).into_vec();
        t.resize(len, 0);
        let moved = far.pages.partition_point(|&(p, _)| (p as usize) < len);
        if moved > 0 {
            for &(p, slot) in &far.pages[..moved] {
                t[p as usize] = slot;
            }
            far.pages = far.pages[moved..].into();
        }
        self.table = t.into_boxed_slice();
    }

    /// Heap bytes of cur's page table (its counters are in the pool).
    pub fn heap_bytes(&self) -> usize {
        self.table.len() * size_of::<u32>()
    }

    /// Rotation: moves `cur` forward to L0 slice `n0` (never backwards).
    /// Returns the slice it leaves, taken out of the pool, when it holds
    /// values: the caller has it sealed (`Series::seal_slice`).
    pub fn advance(
        &mut self,
        far: &mut FarPages,
        pool: &mut PagePool,
        n0: i64,
    ) -> Option<FullSlice> {
        if n0 <= self.cur_index {
            return None;
        }
        let full = (!far.cur_is_empty()).then(|| {
            far.held = 0;
            FullSlice {
                index: self.cur_index,
                errors: std::mem::take(&mut self.errors),
                pages: pool.detach(
                    &std::mem::take(&mut self.table),
                    &std::mem::take(&mut far.pages),
                ),
            }
        });
        self.cur_index = n0;
        full
    }
}

/// The pages of `cur` past its direct page table, and how many it holds in
/// all: kept with `Front`, off the recording loop's cache line (values in
/// these pages take the slow path).
#[derive(Default)]
pub struct FarPages {
    /// (page, pool slot), ascending, every page past the table's end.
    pages: Box<[(u32, u32)]>,
    /// Pages `cur` holds, in the table or here (0: `cur` is empty).
    held: u32,
}

impl FarPages {
    /// The pool slot of `page`, allocated if it has none.
    fn slot(&mut self, page: u32, pool: &mut PagePool) -> u32 {
        match self.pages.binary_search_by_key(&page, |&(p, _)| p) {
            Ok(at) => self.pages[at].1,
            Err(at) => {
                let slot = pool.alloc();
                let mut pages = std::mem::take(&mut self.pages).into_vec();
                pages.insert(at, (page, slot));
                self.pages = pages.into_boxed_slice();
                self.held += 1;
                slot
            }
        }
    }

    /// True when `cur` holds no value.
    pub fn cur_is_empty(&self) -> bool {
        self.held == 0
    }

    /// Heap bytes of the list.
    pub fn heap_bytes(&self) -> usize {
        self.pages.len() * size_of::<(u32, u32)>()
    }
}

/// A slice that `cur` left behind, not yet encoded.
pub struct FullSlice {
    pub index: i64,
    pub errors: u64,
    pub pages: DetachedPages,
}

impl FullSlice {
    /// The slice in the compact encoding.
    pub fn encode(&self, scratch: &mut PageScratch) -> Piece {
        let mut w = SparseWriter::with_capacity(self.pages.heap_bytes() * 3 / 4);
        self.pages.encode(&mut w, scratch);
        w.buf.shrink_to_fit();
        Piece {
            index: self.index,
            count: w.total,
            errors: self.errors,
            entries: w.entries,
            bytes: w.buf,
        }
    }
}

/// The per-value fields of a series that do not fit `Hot`: the sum once it
/// is accumulated in f64, and `cur`'s pages past its page table. Kept with
/// `Hot` by the recording thread.
#[derive(Default)]
pub struct Front {
    /// The sum once it no longer fits `Hot::room` (then `inexact`).
    big_sum: f64,
    inexact: bool,
    pub far: FarPages,
}

impl Front {
    /// Sum of the recorded values, as the JS back end accumulates it.
    pub fn sum(&self, hot: &Hot) -> f64 {
        if self.inexact {
            self.big_sum
        } else {
            (SUM_ROOM - hot.room) as f64
        }
    }

    /// Records one rounded, clamped value whose counts index is `idx`, into
    /// `cur` (the caller has advanced the series).
    pub fn record(&mut self, hot: &mut Hot, pool: &mut PagePool, idx: usize, v: u64) {
        hot.incr(&mut self.far, pool, idx);
        hot.min = hot.min.min(v);
        hot.max = hot.max.max(v);
        if self.inexact {
            self.big_sum += v as f64;
        } else if let Some(room) = hot.room.checked_sub(v) {
            hot.room = room;
        } else {
            // f64 from here on, as JS: the partial sum so far is exact
            self.big_sum = (SUM_ROOM - hot.room) as f64 + v as f64;
            self.inexact = true;
            hot.room = 0;
        }
    }
}

/// The sealed part of a series: every slice `cur` left behind, as the sealed
/// lifetime, the rings and the accumulators. Owned by whoever seals slices
/// (`Sealer`), apart from `Hot` and `Front`.
#[derive(Default)]
pub struct Series {
    /// Count and errors of the sealed slices (add cur's for the lifetime totals).
    sealed_count: u64,
    sealed_errors: u64,
    /// Every sealed acc3, merged (the lifetime histogram is this plus
    /// acc1..acc3 and `cur`), kept deflated.
    lifetime: Packed,
    /// sealed slices per level, oldest first, kept deflated
    rings: [VecDeque<Packed>; LEVELS],
    /// acc[j], j = 1..3 (acc[0] unused), kept deflated; empty (count 0)
    /// means none
    acc: [Packed; LEVELS],
}

impl Series {
    /// Lifetime count of the sealed slices.
    pub fn sealed_count(&self) -> u64 {
        self.sealed_count
    }

    /// Lifetime errors of the sealed slices.
    pub fn sealed_errors(&self) -> u64 {
        self.sealed_errors
    }

    /// Seals an encoded L0 slice: into the L0 ring, and merged upward.
    pub fn seal_slice(&mut self, piece: Piece) {
        self.sealed_count += piece.count;
        self.sealed_errors += piece.errors;
        self.seal(0, piece, None);
    }

    /// Pushes a sealed slice of `level` (`piece`; `packed`, the same packed,
    /// if it is already) into its ring (dropping entries with index <= its index + 1 -
    /// keep) and merges it into the next accumulator, sealing that one first
    /// when it holds another index; a sealed acc3 (level 3) is merged into
    /// the sealed lifetime instead.
    ///
    /// Accumulators and the lifetime are kept deflated too: a merge inflates
    /// one, merges and deflates the result. acc1 takes that every 10 s, acc2
    /// every minute, acc3 every 5 and the lifetime every 15 minutes; a sealed
    /// accumulator goes into its ring as it is packed.
    fn seal(&mut self, level: usize, piece: Piece, packed: Option<Packed>) {
        let up = level + 1;
        if up == LEVELS {
            self.lifetime.merge_from(&piece, true);
        } else {
            let index = map_index(piece.index, level, up);
            if !self.acc[up].is_empty() && self.acc[up].index != index {
                let open = std::mem::take(&mut self.acc[up]);
                // acc1 is kept as it is (see `DEFLATED_FROM`): packed for its ring now
                let piece = open.unpack();
                self.seal(up, piece, (up >= DEFLATED_FROM).then_some(open));
            }
            if self.acc[up].is_empty() {
                self.acc[up] = Packed::empty(index);
            }
            self.acc[up].merge_from(&piece, up >= DEFLATED_FROM);
        }
        // the piece open after it (cur, or the accumulator) has a later
        // index, so a window at or after its time ends at least one slice
        // later: keep - 1 entries can be in one
        let ring = &mut self.rings[level];
        let oldest_useful = piece.index + 1 - RING_KEEP[level];
        ring.push_back(packed.unwrap_or_else(|| Packed::pack(piece)));
        while ring.front().is_some_and(|p| p.index <= oldest_useful) {
            ring.pop_front();
        }
    }

    /// The sealed lifetime: every sealed acc3, merged.
    pub fn lifetime(&self) -> &Packed {
        &self.lifetime
    }

    /// Accumulators acc1..acc3 with their levels, then the ring entries of
    /// L0..L3 with theirs: the snapshot's item order after lifetime and cur,
    /// with the window mask of each at window ends `n` (accumulators are part
    /// of the lifetime too: bit 0).
    pub fn pieces<'a>(
        &'a self,
        n: &'a [i64; LEVELS],
    ) -> impl Iterator<Item = (u8, &'a dyn Entries)> + 'a {
        let accs = (1..LEVELS).map(move |level| {
            let a = &self.acc[level];
            (
                MASK_LIFETIME | mask_of_open(level, a.index, n),
                a as &dyn Entries,
            )
        });
        let rings = self
            .rings
            .iter()
            .enumerate()
            .flat_map(move |(level, ring)| {
                ring.iter()
                    .map(move |p| (mask_of_sealed(level, p.index, n), p as &dyn Entries))
            });
        accs.chain(rings)
    }

    /// Heap bytes owned by this series: its box and its pieces.
    pub fn heap_bytes(&self) -> usize {
        self.heap_breakdown().iter().sum::<usize>()
    }

    /// Heap bytes by part: struct (box), lifetime, rings L0..L3,
    /// accumulators.
    pub fn heap_breakdown(&self) -> [usize; 7] {
        let ring = |r: &VecDeque<Packed>| {
            r.capacity() * size_of::<Packed>() + r.iter().map(Packed::heap_bytes).sum::<usize>()
        };
        [
            size_of::<Series>(),
            self.lifetime.heap_bytes(),
            ring(&self.rings[0]),
            ring(&self.rings[1]),
            ring(&self.rings[2]),
            ring(&self.rings[3]),
            self.acc.iter().map(Packed::heap_bytes).sum::<usize>(),
        ]
    }
}
