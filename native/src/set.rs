//! The histogram set: series addressed by dense u32 ids, batch recording and
//! snapshots.

use std::mem::{size_of, take};
use std::sync::Arc;

use crate::hdr_math::{round_value, HdrMath, Rounded, TWO_POW_52};
use crate::packed::Entries;
use crate::paged::{PAGE_BITS, PAGE_MASK};
use crate::pool::PagePool;
use crate::sealer::{Sealer, Store, Ticket};
use crate::series::{
    mask_of_open, sanitize_now, slice_index, slice_indices, Front, Hot, Series, LEVELS, SUM_ROOM,
};
use crate::snapshot::{
    SnapshotWriter, HEADER_LEN, ITEM_HEADER_LEN, MASK_LIFETIME, SERIES_HEADER_LEN,
};
use crate::sparse::{PageScratch, SparseWriter};

pub const MAX_SERIES: u32 = 1 << 20;

pub struct HistogramSet {
    math: HdrMath,
    /// Per-value fields of every series, indexed by id.
    hot: Vec<Hot>,
    /// The sum of every series once it leaves `Hot::room` (None: no value
    /// recorded yet), same length.
    front: Vec<Option<Front>>,
    /// Seals the slices that `cur`s leave behind and owns what they became.
    sealer: Sealer,
    /// Counters of every series' current slice.
    pool: PagePool,
    /// Pass 1's counter positions for `PagePool::incr_all` (up to `ROUND`, grown as needed).
    pending: Vec<u32>,
    /// Pass 0's output for the block of values being recorded.
    pass0: Pass0,
    /// Pass 0 may use AVX2 (the CPU has it).
    pub(crate) simd: bool,
    /// The snapshot between `prepare_snapshot` and `write_snapshot`.
    prepared: Prepared,
    /// At most the `room` of every series (`Hot::room`): while a round of
    /// values fits it, pass 1 skips the per-value overflow check.
    room_floor: u64,
    /// At least the least `room` of any series (the least found at the last
    /// scan, or below): no scan can find more.
    room_ceiling: u64,
    /// At most the L0 slice index of every series' `cur` (`Hot::cur_index`):
    /// pass 1 takes values at this slice or before without checking.
    at_least: i64,
    /// `PagePool::allocations` at the last `advance_all`.
    allocations_seen: u64,
    live: u32,
    invalid: u64,
    clamped: u64,
}

/// A snapshot being written: its time, window ends, and what the recording
/// thread alone knows of every series (totals and the encoded `cur`), so that
/// the rest can be written on any thread that holds the sealed state.
#[derive(Default)]
struct Prepared {
    digits: u8,
    highest: u64,
    now: f64,
    n: [i64; LEVELS],
    len: usize,
    cur: Vec<u8>,
    records: Vec<Record>,
}

struct Record {
    id: u32,
    items: u32,
    sum_us: f64,
    min_us: f64,
    max_us: f64,
    cur_mask: u8,
    cur_errors: u64,
    cur_start: usize,
    cur_end: usize,
    cur_entries: u32,
    cur_count: u64,
}

impl Prepared {
    /// Drops the series with nothing to write and counts every record's
    /// items and the snapshot's length, from the sealed state.
    fn lay_out(&mut self, store: &Store) {
        let empty = Series::default();
        let n = self.n;
        let mut total = HEADER_LEN;
        self.records.retain_mut(|r| {
            let s = store.get(r.id).unwrap_or(&empty);
            if s.sealed_count() + r.cur_count == 0 {
                return false;
            }
            let mut len = SERIES_HEADER_LEN;
            let life = s.lifetime();
            if life.count > 0 {
                r.items += 1;
                len += ITEM_HEADER_LEN + life.entries_len();
            }
            if r.cur_count > 0 {
                r.items += 1;
                len += ITEM_HEADER_LEN + r.cur_end - r.cur_start;
            }
            for (mask, piece) in s.pieces(&n) {
                if mask != 0 && piece.totals().0 > 0 {
                    r.items += 1;
                    len += ITEM_HEADER_LEN + piece.entries_len();
                }
            }
            total += len;
            true
        });
        self.len = total;
    }

    /// Writes the laid-out snapshot into `out`, exactly `self.len` bytes.
    fn write(&self, store: &Store, out: &mut [u8]) {
        let mut w = SnapshotWriter::new(
            out,
            self.digits,
            self.highest,
            self.now,
            self.records.len() as u32,
        );
        let empty = Series::default();
        for r in &self.records {
            let s = store.get(r.id).unwrap_or(&empty);
            w.series(r.id, r.items, r.sum_us, r.min_us, r.max_us);
            let life = s.lifetime();
            if life.count > 0 {
                w.piece(MASK_LIFETIME, life);
            }
            if r.cur_count > 0 {
                w.item(
                    r.cur_mask,
                    r.cur_count,
                    r.cur_errors,
                    r.cur_entries,
                    &self.cur[r.cur_start..r.cur_end],
                );
            }
            for (mask, piece) in s.pieces(&self.n) {
                if mask != 0 && piece.totals().0 > 0 {
                    w.piece(mask, piece);
                }
            }
        }
        debug_assert_eq!(w.len(), self.len);
    }

    /// The whole snapshot, laid out and written from `store`.
    fn into_bytes(mut self, store: &Store) -> Vec<u8> {
        self.lay_out(store);
        let mut out = vec![0; self.len];
        self.write(store, &mut out);
        out
    }
}

/// Values per block of pass 0 (and at most per round of pass 1).
const ROUND: usize = 1024;

#[cfg(test)]
thread_local! {
    /// Values that took `record_one` on this thread (tests: which inputs stay on the fast path).
    pub static SLOW_PATH_VALUES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Scans of every series' room on this thread (tests).
    pub static ROOM_SCANS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Pass 0 (AVX2): each value's `Math.round` (`NOT_FAST` unless
/// `+0 <= v < min(highest, 2^51)`) and counts index, for a block of values,
/// ahead of pass 1, so that it vectorizes: 4 values per instruction, 10% of
/// the recording time. Without AVX2 the split cost more than it saved
/// (2.6-2.7 ns per value instead of 2.15, scalar or SSE2), and pass 1 rounds
/// each value itself (`Raw`).
#[derive(Default)]
pub(crate) struct Pass0 {
    pub(crate) rounded: Vec<u64>,
    pub(crate) indices: Vec<u32>,
}

/// `Pass0::rounded` of a value that is not for the fast path.
pub(crate) const NOT_FAST: u64 = u64::MAX;

/// The body of pass 0 (inlined where AVX2 is enabled). Rounds through
/// `f64::trunc` and the bits of `t + 2^52` (exact for `0 <= t < 2^52`),
/// which vectorize, where `fast_round`'s `cvttsd2si` does not.
///
/// Non-negative doubles order as their bits, so one unsigned compare of the
/// bits keeps `+0 <= v < limit` and sends the rest (negative, -0, NaN, at or
/// past the limit) to the slow path.
#[inline(always)]
fn pass0_body<const HM: u32>(values: &[f64], limit_bits: u64, out: &mut Pass0) {
    let n = values.len().min(out.rounded.len()).min(out.indices.len());
    let (values, rounded, indices) = (&values[..n], &mut out.rounded[..n], &mut out.indices[..n]);
    for k in 0..n {
        let v = values[k];
        let y = v + JUST_BELOW_HALF;
        let r = (y.trunc() + TWO_POW_52)
            .to_bits()
            .wrapping_sub(TWO_POW_52.to_bits());
        rounded[k] = if v.to_bits() < limit_bits {
            r
        } else {
            NOT_FAST
        };
        indices[k] = fast_index::<HM>(y, r) as u32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pass0_avx2<const HM: u32>(values: &[f64], limit_bits: u64, out: &mut Pass0) {
    pass0_body::<HM>(values, limit_bits, out);
}

/// Pass 0 for the half magnitude `hm`, where the CPU has AVX2; false where
/// it has not been done (then pass 1 rounds each value itself).
#[allow(unused_variables)]
pub(crate) fn pass0(hm: u32, simd: bool, values: &[f64], limit_bits: u64, out: &mut Pass0) -> bool {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is true only where the CPU has AVX2 (`has_avx2`)
        unsafe {
            match hm {
                4 => pass0_avx2::<4>(values, limit_bits, out),
                7 => pass0_avx2::<7>(values, limit_bits, out),
                10 => pass0_avx2::<10>(values, limit_bits, out),
                14 => pass0_avx2::<14>(values, limit_bits, out),
                17 => pass0_avx2::<17>(values, limit_bits, out),
                _ => return false,
            }
        }
        return true;
    }
    false
}

/// True where pass 0 may use AVX2.
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Where pass 1 finds each value's `Math.round` and counts index.
trait Source {
    fn len(&self) -> usize;
    /// Value `k`'s rounding and index, or None when it is not for the fast
    /// path (not `+0 <= v < min(highest, 2^51)`).
    fn get(&self, k: usize) -> Option<(u64, usize)>;
}

/// Pass 0's output.
struct Converted<'a> {
    rounded: &'a [u64],
    indices: &'a [u32],
}

impl Pass0 {
    /// Its output for values `at` of the block.
    fn at(&self, at: std::ops::Range<usize>) -> Converted<'_> {
        Converted {
            rounded: &self.rounded[at.clone()],
            indices: &self.indices[at],
        }
    }
}

impl Source for Converted<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rounded.len().min(self.indices.len())
    }
    #[inline(always)]
    fn get(&self, k: usize) -> Option<(u64, usize)> {
        let r = self.rounded[k];
        (r != NOT_FAST).then(|| (r, self.indices[k] as usize))
    }
}

/// The values themselves, rounded one at a time (`fast_round`), for the
/// half magnitude `HM` (a constant, so that the index math shifts by
/// immediates).
struct Raw<'a, const HM: u32> {
    values: &'a [f64],
    limit_bits: u64,
}

impl<'a, const HM: u32> Raw<'a, HM> {
    fn new(values: &'a [f64], limit_bits: u64) -> Self {
        Raw { values, limit_bits }
    }
}

impl<const HM: u32> Source for Raw<'_, HM> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.values.len()
    }
    #[inline(always)]
    fn get(&self, k: usize) -> Option<(u64, usize)> {
        let v = self.values[k];
        // see `pass0_body`
        if v.to_bits() >= self.limit_bits {
            return None;
        }
        let (y, r) = fast_round(v);
        Some((r, fast_index::<HM>(y, r)))
    }
}

/// Pass 1 of the recording loop, for values that need nothing but a counter
/// increment and the totals: in the fast range, a series that exists (every
/// series is at the batch's slice or later), a page that exists and an
/// exact sum. Updates the totals and writes each value's counter position
/// into `pending`; returns how many values it took (up to `pending.len()`).
/// The next value, if any is left, takes `record_one`.
///
/// `ROOMY`: every series' `room` is known to hold `pending.len()` values
/// below the limit (`HistogramSet::room_floor`), so the sum needs no
/// overflow check.
#[inline(never)]
fn pass1<S: Source, const ROOMY: bool>(
    hot: &mut [Hot],
    pending: &mut [u32],
    ids: &[u32],
    source: &S,
) -> usize {
    let n = ids.len().min(source.len()).min(pending.len());
    let (ids, pending) = (&ids[..n], &mut pending[..n]);
    for k in 0..n {
        match source
            .get(k)
            .and_then(|(r, idx)| note::<ROOMY>(hot, ids[k], r, idx))
        {
            Some(p) => pending[k] = p,
            None => return k,
        }
    }
    n
}

/// One value of pass 1: its counter position, or None (nothing changed) when
/// it needs `record_one`.
#[inline(always)]
fn note<const ROOMY: bool>(hot: &mut [Hot], id: u32, r: u64, idx: usize) -> Option<u32> {
    let h = hot.get_mut(id as usize)?;
    // no table (series not created, cur empty), page beyond it or no page
    let slot = match h.table.get(idx >> PAGE_BITS) {
        Some(&slot) if slot != 0 => slot,
        _ => return None,
    };
    h.room = if ROOMY {
        h.room.wrapping_sub(r)
    } else {
        h.room.checked_sub(r)?
    };
    if r < h.min {
        h.min = r;
    }
    if r > h.max {
        h.max = r;
    }
    // below 2^32: the caller checks the pool's size
    Some(((slot << PAGE_BITS) as usize | (idx & PAGE_MASK)) as u32)
}

/// 0.5 - 2^-54, the double just below 0.5 (see `fast_round`).
const JUST_BELOW_HALF: f64 = 0.499_999_999_999_999_94;

/// `Math.round(v)` for `+0 <= v < 2^51`, as `trunc(y)`, and `y`, whose
/// bits give the counts index (`fast_index`).
///
/// `y = v + 0.5` would be exact from 0.5 up, but for 0.49999999999999994 it
/// rounds up to 1.0 (JS rounds that value to 0), which took a compare per
/// value to keep off this path. Adding the double just below 0.5 instead
/// (`0.5 - 2^-54`): for `v = n + 0.5` the exact sum `n + 1 - 2^-54` is a
/// tie or nearer `n + 1`, and rounds to it (`n + 1` has the even
/// mantissa); for `v` below `n + 0.5`, `v <= n + 0.5 - ulp(v)` and the sum
/// stays below `n + 1` (it rounds to a double at most `n + 1 - ulp(v)`);
/// for `v` above, it is at least `n + 1`. Checked against `round_small`
/// around every half in every binade (tests).
#[inline(always)]
pub(crate) fn fast_round(v: f64) -> (f64, u64) {
    let y = v + JUST_BELOW_HALF;
    // SAFETY: 0.49999999999999994 <= y < 2^51 + 1 (the caller checks v), so
    // the value is in range of i64 and the conversion is a plain
    // `cvttsd2si`. The checked `as` adds saturation and NaN fixups, and a
    // safe rounding (through 2^52, with a fix for ties) costs 9 more
    // instructions per value, of ~50 in all (callgrind,
    // examples/record_bench.rs).
    (y, (unsafe { y.to_int_unchecked::<i64>() }) as u64)
}

/// The counts index of `r = floor(y)`, from the bits of `y`.
///
/// For `r >= 2^HM` the index is `(b << HM) + (r >> b)` with
/// `b = floor(log2 r) - HM`, and `r >> b` is `2^HM` plus the top `HM`
/// mantissa bits of `y` (`y` and `r` share their exponent `e`), so the index
/// is `(e - HM + 1) << HM` plus those bits: `bits(y) >> (52 - HM)` less the
/// exponent bias. Below `2^HM` the index is `r` (also for `y < 1`, whose
/// `r` is 0). Five instructions instead of ten for the
/// `bsr`-and-shifts form (`HdrMath::index`).
#[inline(always)]
pub(crate) fn fast_index<const HM: u32>(y: f64, r: u64) -> usize {
    let from_bits = (y.to_bits() >> (52 - HM)).wrapping_sub((1022 + HM as u64) << HM);
    (if r < 1 << HM { r } else { from_bits }) as usize
}

impl HistogramSet {
    /// A set that seals full slices on a thread of its own, or on the
    /// recording thread when `seal_inline`.
    pub fn new(math: HdrMath, seal_inline: bool) -> Self {
        HistogramSet {
            math,
            hot: Vec::new(),
            front: Vec::new(),
            sealer: Sealer::new(seal_inline),
            pool: PagePool::default(),
            pending: Vec::new(),
            pass0: Pass0::default(),
            simd: has_avx2(),
            prepared: Prepared::default(),
            room_floor: SUM_ROOM,
            room_ceiling: SUM_ROOM,
            at_least: i64::MIN,
            allocations_seen: 0,
            live: 0,
            invalid: 0,
            clamped: 0,
        }
    }

    pub fn math(&self) -> &HdrMath {
        &self.math
    }

    /// Records `min(len, ids, values, flags)` values at `now_ms`.
    ///
    /// A batch at a later slice than the earliest series' (`at_least`)
    /// first moves them all there (`advance_all`). Then, in blocks of up to `ROUND` values,
    /// `pass0` rounds them and finds their counts indices, `pass1` updates
    /// the totals of the common value and notes its counter, and
    /// `PagePool::incr_all` increments the counters. The first value of a
    /// new series, a new page, values past the fast range and bad input stop
    /// pass 1 and go through `record_one` (after the pending increments);
    /// pass 1 goes on after it in the same block. Errors are counted at the end, from the flags: all
    /// values of a batch share `now_ms`, so they land in the slice their
    /// series is at by then.
    pub fn record(&mut self, ids: &[u32], values: &[f64], flags: &[u8], len: usize, now_ms: f64) {
        let n = len.min(ids.len()).min(values.len()).min(flags.len());
        let (ids, values, flags) = (&ids[..n], &values[..n], &flags[..n]);
        let n0 = slice_index(now_ms);
        if n0 > self.at_least {
            self.advance_all(n0);
        }
        let limit = self.math.highest.min(1 << 51);
        let limit_bits = (limit as f64).to_bits();
        let hm = self.math.half_mag();
        let block_len = n.min(ROUND);
        if self.pending.len() < block_len {
            self.pending.resize(block_len, 0);
            if self.simd {
                self.pass0.rounded.resize(block_len, 0);
                self.pass0.indices.resize(block_len, 0);
            }
        }
        // positions are u32: the pool stays below 4 GiB (4 GiB of u8
        // counters in open slices is 2^25 pages); above, all goes slow
        let mut conv = take(&mut self.pass0);
        let mut i = 0;
        while i < n {
            let block = (n - i).min(block_len);
            let (ids, values) = (&ids[i..i + block], &values[i..i + block]);
            let converted = pass0(hm, self.simd, values, limit_bits, &mut conv);
            let mut j = 0;
            while j < block {
                let rest = &ids[j..];
                let taken = match hm {
                    _ if self.pool.positions() > u32::MAX as usize => 0,
                    _ if converted => self.pass1(rest, &conv.at(j..block), limit),
                    4 => self.pass1(rest, &Raw::<4>::new(&values[j..], limit_bits), limit),
                    7 => self.pass1(rest, &Raw::<7>::new(&values[j..], limit_bits), limit),
                    10 => self.pass1(rest, &Raw::<10>::new(&values[j..], limit_bits), limit),
                    14 => self.pass1(rest, &Raw::<14>::new(&values[j..], limit_bits), limit),
                    17 => self.pass1(rest, &Raw::<17>::new(&values[j..], limit_bits), limit),
                    _ => 0,
                };
                j += taken;
                if j < block {
                    self.record_one(ids[j], values[j], n0);
                    j += 1;
                }
            }
            i += block;
        }
        self.pass0 = conv;
        self.count_errors(ids, values, flags);
        self.sealer.flush();
    }

    /// Pass 1 over `ids` and `source`, then the counter increments of the
    /// values it took; returns how many it took.
    fn pass1<S: Source>(&mut self, ids: &[u32], source: &S, limit: u64) -> usize {
        let left = ids.len().min(source.len()).min(self.pending.len());
        // a round of values below the limit takes at most this of a room
        let need = left as u64 * limit;
        // every room is scanned only where it may show enough (rooms only
        // shrink: not past the least found before) and for a round of at
        // least a 16th as many values as series: with 100,000 series a scan
        // per round took 62 µs per value
        let roomy = self.room_floor >= need
            || (need <= self.room_ceiling && left.saturating_mul(16) >= self.hot.len() && {
                #[cfg(test)]
                ROOM_SCANS.with(|n| n.set(n.get() + 1));
                let least = self.hot.iter().map(|h| h.room).min().unwrap_or(SUM_ROOM);
                self.room_floor = least;
                self.room_ceiling = least;
                least >= need
            });
        let (hot, pending) = (&mut self.hot[..], &mut self.pending[..left]);
        let taken = if roomy {
            pass1::<S, true>(hot, pending, ids, source)
        } else {
            pass1::<S, false>(hot, pending, ids, source)
        };
        // checked or not, what it took came out of some rooms
        self.room_floor = self.room_floor.saturating_sub(taken as u64 * limit);
        // SAFETY: pass 1 writes positions in pages of `cur`s' tables:
        // pages in use (a table gives its pages back only as a whole, in
        // `advance`, never between pass 1 and here)
        unsafe { self.pool.incr_all(&self.pending[..taken]) };
        taken
    }

    /// Moves every series to L0 slice `n0` (none goes back), sealing the
    /// slices they leave, so that pass 1 need not check each value's series.
    /// Once per slice (10 s) and series; lazily, per series at its first
    /// value past the slice, it took 2 instructions per value. The JS back
    /// end does the same (a clock that goes back puts a value in the slice
    /// its series is at, so when they move must match).
    ///
    /// When every slice is sealed, the open slices' memory starts over with
    /// room for as many pages as they held while values come (growing it
    /// from nothing every slice cost copies of it each time; kept as it was,
    /// it held the slack of its growth, 6-13 KiB per busy series), and
    /// given back once a slice has gone by without a value.
    #[cold]
    fn advance_all(&mut self, n0: i64) {
        for (id, (hot, front)) in self.hot.iter_mut().zip(&mut self.front).enumerate() {
            if let Some(front) = front {
                if let Some(full) = hot.advance(&mut front.far, &mut self.pool, n0) {
                    self.sealer.submit(id as u32, full);
                }
            }
        }
        self.at_least = n0;
        let idle = self.pool.allocations() == self.allocations_seen;
        self.pool.start_over(!idle);
        self.allocations_seen = self.pool.allocations();
    }

    /// Records one value with every rule of the contract.
    #[inline(never)]
    fn record_one(&mut self, id: u32, v: f64, n0: i64) {
        #[cfg(test)]
        SLOW_PATH_VALUES.with(|n| n.set(n.get() + 1));
        if id >= MAX_SERIES {
            self.invalid += 1;
            return;
        }
        let r = match round_value(v, self.math.highest) {
            Rounded::Ok(r) => r,
            Rounded::Clamped(r) => {
                self.clamped += 1;
                r
            }
            Rounded::Invalid => {
                self.invalid += 1;
                return;
            }
        };
        let at = id as usize;
        if self.hot.len() <= at {
            self.hot.resize_with(at + 1, Hot::default);
            self.front.resize_with(at + 1, || None);
        }
        let hot = &mut self.hot[at];
        let front = match &mut self.front[at] {
            Some(f) => f,
            slot @ None => {
                self.live += 1;
                hot.cur_index = n0;
                // a batch behind the others (a clock that went back)
                self.at_least = self.at_least.min(n0);
                slot.insert(Front::default())
            }
        };
        if let Some(full) = hot.advance(&mut front.far, &mut self.pool, n0) {
            self.sealer.submit(id, full);
        }
        front.record(hot, &mut self.pool, self.math.index(r), r);
        self.room_floor = self.room_floor.min(hot.room);
        self.room_ceiling = self.room_ceiling.min(hot.room);
    }

    /// Adds the flagged (bit 0) values that were recorded to their series'
    /// `cur` errors.
    fn count_errors(&mut self, ids: &[u32], values: &[f64], flags: &[u8]) {
        const LOW_BITS: u64 = 0x0101_0101_0101_0101;
        let mut chunks = flags.chunks_exact(8);
        let mut base = 0;
        for chunk in chunks.by_ref() {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
            if word & LOW_BITS != 0 {
                for (j, &f) in chunk.iter().enumerate() {
                    if f & 1 != 0 {
                        self.count_error(ids, values, base + j);
                    }
                }
            }
            base += 8;
        }
        for (j, &f) in chunks.remainder().iter().enumerate() {
            if f & 1 != 0 {
                self.count_error(ids, values, base + j);
            }
        }
    }

    fn count_error(&mut self, ids: &[u32], values: &[f64], i: usize) {
        let (Some(&id), Some(&v)) = (ids.get(i), values.get(i)) else {
            return;
        };
        // recorded: a valid id and a value that is not NaN, infinite or negative
        if id < MAX_SERIES && v >= 0.0 && v != f64::INFINITY {
            if let Some(h) = self.hot.get_mut(id as usize) {
                h.errors += 1;
            }
        }
    }

    /// Advances every series to `now_ms` and encodes every `cur`: the part of
    /// a snapshot that needs the recording thread. Queues the slices that
    /// advancing filled.
    fn prepare(&mut self, now_ms: f64) -> Prepared {
        let now = sanitize_now(now_ms);
        let n = slice_indices(now);
        let mut p = Prepared {
            digits: self.math.digits,
            highest: self.math.highest,
            now,
            n,
            ..Prepared::default()
        };
        if n[0] > self.at_least {
            self.advance_all(n[0]);
        }
        let mut scratch = PageScratch::default();
        for (id, (hot, front)) in self.hot.iter_mut().zip(&mut self.front).enumerate() {
            let Some(front) = front else {
                continue;
            };
            let cur_start = p.cur.len();
            let mut w = SparseWriter::with_buf(take(&mut p.cur));
            hot.encode_cur(&front.far, &self.pool, &mut w, &mut scratch);
            let (cur_count, cur_entries) = (w.total, w.entries);
            p.cur = w.buf;
            p.records.push(Record {
                id: id as u32,
                items: 0,
                sum_us: front.sum(hot),
                min_us: hot.min as f64,
                max_us: hot.max as f64,
                cur_mask: MASK_LIFETIME | mask_of_open(0, hot.cur_index, &n),
                cur_errors: hot.errors,
                cur_start,
                cur_end: p.cur.len(),
                cur_entries,
                cur_count,
            });
        }
        self.sealer.flush();
        p
    }

    /// Advances every series to `now_ms`, encodes every `cur` and returns the
    /// size of the v2 snapshot that `write_snapshot` then writes (waits for
    /// the sealer to seal what is queued).
    pub fn prepare_snapshot(&mut self, now_ms: f64) -> usize {
        let mut p = self.prepare(now_ms);
        p.lay_out(&self.sealer.store());
        let len = p.len;
        self.prepared = p;
        len
    }

    /// Writes the snapshot of the last `prepare_snapshot` into `out`, which
    /// must be exactly as long as it said, and frees what it prepared.
    pub fn write_snapshot(&mut self, out: &mut [u8]) {
        let p = take(&mut self.prepared);
        p.write(&self.sealer.store(), out);
    }

    /// Advances every series to `now_ms` and returns a v2 snapshot.
    pub fn snapshot(&mut self, now_ms: f64) -> Vec<u8> {
        let len = self.prepare_snapshot(now_ms);
        let mut out = vec![0; len];
        self.write_snapshot(&mut out);
        out
    }

    /// The snapshot at `now_ms`, written off this thread: advances every
    /// series and encodes every `cur` here, then has the sealer thread write
    /// the rest once it has sealed the slices queued before (so the bytes are
    /// those `snapshot(now_ms)` would give now, whatever is recorded after).
    /// Without a sealer thread it is written here.
    pub fn snapshot_later(&mut self, now_ms: f64) -> Arc<Ticket> {
        let p = self.prepare(now_ms);
        self.sealer
            .read(Box::new(move |store: &Store| p.into_bytes(store)))
    }

    pub fn reset(&mut self) {
        *self = HistogramSet::new(self.math, self.sealer.is_inline());
    }

    pub fn series_count(&self) -> u32 {
        self.live
    }

    pub fn invalid_count(&self) -> u64 {
        self.invalid
    }

    pub fn clamped_count(&self) -> u64 {
        self.clamped
    }

    /// The per-value fields of series `id`, if it exists.
    pub fn hot(&self, id: u32) -> Option<&Hot> {
        match (self.hot.get(id as usize), self.front.get(id as usize)) {
            (Some(h), Some(Some(_))) => Some(h),
            _ => None,
        }
    }

    /// Slices lost to a failure while sealing, as of now (never waits).
    pub fn failed_slices(&self) -> usize {
        self.sealer.failed_slices()
    }

    /// True when full slices are sealed on the recording thread.
    pub fn seals_inline(&self) -> bool {
        self.sealer.is_inline()
    }

    /// The sealed state of every series, once every full slice is sealed.
    pub fn sealed(&self) -> std::sync::MutexGuard<'_, Store> {
        self.sealer.store()
    }

    /// Pages of counters in use (current slices).
    pub fn pages_in_use(&self) -> usize {
        self.pool.used()
    }

    /// Bytes the open slices' counters have room for (tests).
    #[cfg(test)]
    pub(crate) fn pool_bytes(&self) -> usize {
        self.pool.room()
    }

    /// Heap bytes owned: the series tables, the page pool, the snapshot
    /// buffers and every series (the sealed parts as of the latest slice
    /// sealed: this never waits for the sealer).
    pub fn heap_bytes(&self) -> usize {
        self.hot.capacity() * size_of::<Hot>()
            + self.hot.iter().map(Hot::heap_bytes).sum::<usize>()
            + self.front.capacity() * size_of::<Option<Front>>()
            + self
                .front
                .iter()
                .flatten()
                .map(|f| f.far.heap_bytes())
                .sum::<usize>()
            + self.pool.heap_bytes()
            + self.pending.capacity() * size_of::<u32>()
            + self.pass0.rounded.capacity() * size_of::<u64>()
            + self.pass0.indices.capacity() * size_of::<u32>()
            + self.prepared.cur.capacity()
            + self.prepared.records.capacity() * size_of::<Record>()
            + self.sealer.stored_bytes()
            // slices waiting for the sealer, at their pages' size (not waited for: see lib.rs)
            + self.sealer.queued_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<const HM: u32>(digits: u8) {
        let math = HdrMath::new(digits, (1 << 51) + 7).unwrap();
        assert_eq!(math.half_mag(), HM);
        let mut y = 1.0f64;
        while y < 2f64.powi(51) {
            for d in [0.0, 0.25, 0.5, 0.999_999, 1.0, 1.5] {
                for z in [y + d, y - d, (y + d).next_up(), (y - d).next_down()] {
                    if (1.0..2f64.powi(51)).contains(&z) {
                        let r = z as u64;
                        assert_eq!(fast_index::<HM>(z, r), math.index(r), "d={digits} y={z}");
                    }
                }
            }
            y = (y * 1.37).ceil();
        }
        for r in 1..(8u64 << HM) {
            assert_eq!(
                fast_index::<HM>(r as f64 + 0.5, r),
                math.index(r),
                "d={digits} r={r}"
            );
        }
    }

    #[test]
    fn fast_index_is_the_hdr_index() {
        check::<4>(1);
        check::<7>(2);
        check::<10>(3);
        check::<14>(4);
        check::<17>(5);
    }
}
