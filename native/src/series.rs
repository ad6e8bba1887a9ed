//! One series: totals, lifetime counts, the current 10 s slice, the four
//! rings L0..L3 and the accumulators acc1..acc3, with the rotation of
//! docs/internals.md (layout v2).
//!
//! Layout notes (not observable through snapshots):
//! - per value only `cur` is touched; `lifetime` holds the sealed slices
//!   (adaptive-width pages) and the lifetime histogram is `lifetime + cur`
//!   whenever it is read;
//! - `cur` counters are u16; before a chunk of values could make one wrap they
//!   are moved into a u64 `spill` (see `prepare`);
//! - ring entries and accumulators are `Piece`s in the snapshot's entry
//!   encoding, so writing them into a snapshot is a copy.

use std::collections::VecDeque;
use std::mem::size_of;

use crate::paged::{sum_iter, Paged, WidePaged};
use crate::snapshot::{SnapshotWriter, MASK_LIFETIME, WINDOW_MASKS};
use crate::sparse::{Piece, SparseWriter, PIECE_SIZE};

pub const LEVELS: usize = 4;
/// Slice length of each level (L0..L3), ms.
pub const SLICE_MS: [i64; LEVELS] = [10_000, 60_000, 300_000, 900_000];
/// Ring length of each level = slices per window (1m, 5m, 15m, 1h).
pub const RING_KEEP: [i64; LEVELS] = [6, 5, 3, 4];

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

/// cur counters are u16: spill before a counter could pass u16::MAX.
pub const SPILL_LIMIT: u64 = u16::MAX as u64;

/// The current (open) slice.
pub struct Cur {
    pub index: i64,
    pub count: u64,
    pub errors: u64,
    counts: Paged<u16>,
    spill: Option<Box<Paged<u64>>>,
    /// value of `count` up to which no counter can wrap
    spill_at: u64,
    spill_limit: u64,
}

impl Cur {
    fn new(index: i64, spill_limit: u64) -> Self {
        Cur {
            index,
            count: 0,
            errors: 0,
            counts: Paged::default(),
            spill: None,
            spill_at: spill_limit,
            spill_limit,
        }
    }

    fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        sum_iter(None, &self.counts, self.spill.as_deref())
    }

    fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
            + self
                .spill
                .as_ref()
                .map_or(0, |s| size_of::<Paged<u64>>() + s.heap_bytes())
    }
}

pub struct Series {
    /// Recording chunk this series was last prepared for (see `HistogramSet`).
    pub epoch: u64,
    /// lifetime count and errors of the sealed slices (add cur's for totals)
    sealed_count: u64,
    sealed_errors: u64,
    pub sum: f64,
    pub min: u64,
    pub max: u64,
    pub cur: Cur,
    lifetime: WidePaged,
    /// sealed slices per level, oldest first
    rings: [VecDeque<Piece>; LEVELS],
    /// acc[j], j = 1..3 (acc[0] unused); empty (count 0) means none
    acc: [Piece; LEVELS],
}

impl Series {
    pub fn new(cur_index: i64) -> Self {
        Self::with_spill_limit(cur_index, SPILL_LIMIT)
    }

    pub fn with_spill_limit(cur_index: i64, spill_limit: u64) -> Self {
        Series {
            epoch: 0,
            sealed_count: 0,
            sealed_errors: 0,
            sum: 0.0,
            min: u64::MAX,
            max: 0,
            cur: Cur::new(cur_index, spill_limit.clamp(1, SPILL_LIMIT)),
            lifetime: WidePaged::default(),
            rings: Default::default(),
            acc: Default::default(),
        }
    }

    /// Lifetime count.
    pub fn count(&self) -> u64 {
        self.sealed_count + self.cur.count
    }

    /// Lifetime errors.
    pub fn errors(&self) -> u64 {
        self.sealed_errors + self.cur.errors
    }

    /// Records one rounded, clamped value at counts index `idx` into `cur`.
    #[inline(always)]
    pub fn record(&mut self, idx: usize, v: u64, err: u64) {
        self.prepare(1);
        self.cur.counts.incr(idx);
        self.note(v, err);
    }

    /// Spills cur's counters if `more` increments could make one wrap.
    #[inline(always)]
    pub fn prepare(&mut self, more: u64) {
        if self.cur.count + more > self.cur.spill_at {
            self.spill();
        }
    }

    /// The totals part of `record`. The caller increments the counter at the
    /// value's index with `incr` before `advance`, `spill` or any read, and
    /// has called `prepare` with at least the number of pending increments.
    #[inline(always)]
    pub fn note(&mut self, v: u64, err: u64) {
        self.cur.count += 1;
        self.cur.errors += err;
        self.sum += v as i64 as f64; // v <= 2^53: exact, one instruction
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The counter increment of `record`.
    #[inline(always)]
    pub fn incr(&mut self, idx: usize) {
        self.cur.counts.incr(idx);
    }

    #[cold]
    #[inline(never)]
    pub fn spill(&mut self) {
        let cur = &mut self.cur;
        let spill = cur.spill.get_or_insert_with(Default::default);
        cur.counts.drain(|i, c| spill.add(i, c));
        cur.spill_at = cur.count.saturating_add(cur.spill_limit);
    }

    /// Rotation: moves `cur` forward to L0 slice `n0` (never backwards).
    pub fn advance(&mut self, n0: i64) {
        if n0 <= self.cur.index {
            return;
        }
        if self.cur.count > 0 {
            self.seal_cur();
        }
        self.cur.index = n0;
    }

    fn seal_cur(&mut self) {
        let mut w = SparseWriter::with_capacity(self.cur.counts.allocated_pages() * 64);
        let lifetime = &mut self.lifetime;
        match self.cur.spill.take() {
            None => {
                for (p, page) in self.cur.counts.pages() {
                    lifetime.add_page(p, page);
                }
                self.cur.counts.drain(|i, c| w.push(i, c));
            }
            Some(mut spill) => {
                self.cur.counts.drain(|i, c| spill.add(i, c));
                for (i, c) in spill.iter() {
                    w.push(i, c);
                    lifetime.add(i, c);
                }
            }
        }
        w.buf.shrink_to_fit();
        let piece = Piece {
            index: self.cur.index,
            count: self.cur.count,
            errors: self.cur.errors,
            entries: w.entries,
            bytes: w.buf,
        };
        self.sealed_count += self.cur.count;
        self.sealed_errors += self.cur.errors;
        self.cur.count = 0;
        self.cur.errors = 0;
        self.cur.spill_at = self.cur.spill_limit;
        self.seal(0, piece);
    }

    /// Pushes a sealed slice of `level` into its ring (dropping entries with
    /// index <= its index - keep) and merges it into the next accumulator,
    /// sealing that one first when it holds another index.
    fn seal(&mut self, level: usize, piece: Piece) {
        let up = level + 1;
        if up < LEVELS {
            let index = map_index(piece.index, level, up);
            if !self.acc[up].is_empty() && self.acc[up].index != index {
                let open = std::mem::take(&mut self.acc[up]);
                self.seal(up, open);
            }
            if self.acc[up].is_empty() {
                self.acc[up] = Piece::empty(index);
            }
            self.acc[up].merge_from(&piece);
        }
        let ring = &mut self.rings[level];
        let oldest_useful = piece.index - RING_KEEP[level];
        ring.push_back(piece);
        while ring.front().is_some_and(|p| p.index <= oldest_useful) {
            ring.pop_front();
        }
    }

    /// The lifetime histogram, ascending.
    pub fn lifetime_iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        sum_iter(
            Some(&self.lifetime),
            &self.cur.counts,
            self.cur.spill.as_deref(),
        )
    }

    /// Writes this series' record with window ends `n`. Call `advance` first.
    pub fn write_snapshot(&self, id: u32, n: &[i64; LEVELS], w: &mut SnapshotWriter) {
        let min = if self.count() == 0 { 0 } else { self.min };
        w.begin_series(id, self.sum, min as f64, self.max as f64);
        w.item_pairs(
            MASK_LIFETIME,
            self.count(),
            self.errors(),
            self.lifetime_iter(),
        );
        let c = &self.cur;
        w.item_pairs(mask_of_open(0, c.index, n), c.count, c.errors, c.iter());
        for level in 1..LEVELS {
            let a = &self.acc[level];
            w.item_piece(mask_of_open(level, a.index, n), a);
        }
        for (level, ring) in self.rings.iter().enumerate() {
            for p in ring {
                w.item_piece(mask_of_sealed(level, p.index, n), p);
            }
        }
        w.end_series();
    }

    /// Heap bytes owned by this series, including its own (boxed) struct.
    pub fn heap_bytes(&self) -> usize {
        size_of::<Series>()
            + self.lifetime.heap_bytes()
            + self.cur.heap_bytes()
            + self
                .rings
                .iter()
                .map(|r| r.capacity() * PIECE_SIZE + r.iter().map(Piece::heap_bytes).sum::<usize>())
                .sum::<usize>()
            + self.acc.iter().map(Piece::heap_bytes).sum::<usize>()
    }

    /// Heap bytes by part: struct, lifetime, cur, rings L0..L3, accumulators.
    pub fn heap_breakdown(&self) -> [usize; 8] {
        let ring = |r: &VecDeque<Piece>| {
            r.capacity() * PIECE_SIZE + r.iter().map(Piece::heap_bytes).sum::<usize>()
        };
        [
            size_of::<Series>(),
            self.lifetime.heap_bytes(),
            self.cur.heap_bytes(),
            ring(&self.rings[0]),
            ring(&self.rings[1]),
            ring(&self.rings[2]),
            ring(&self.rings[3]),
            self.acc.iter().map(Piece::heap_bytes).sum::<usize>(),
        ]
    }

    /// (pages of u8, u16, u32, u64) of the lifetime histogram.
    pub fn lifetime_widths(&self) -> [usize; 4] {
        self.lifetime.widths()
    }
}
