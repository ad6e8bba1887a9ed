//! Turns a parsed snapshot into per-series summaries: lifetime percentiles,
//! window merges and the optional V2 histogram.

use crate::hdr_math::{values_at_percentiles, HdrMath};
use crate::snapshot::{Item, Snapshot, MASK_LIFETIME, WINDOW_MASKS};
use crate::v2;

#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub count: f64,
    pub errors: f64,
    pub percentiles_us: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub id: u32,
    pub count: f64,
    pub errors: f64,
    pub sum_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    pub percentiles_us: Vec<f64>,
    pub histogram: String,
    pub windows: Vec<WindowStats>,
}

/// One merged histogram (the lifetime or a window) of the series being
/// summarized: counts by index in a dense array over the indices it holds,
/// reused for every series of a snapshot. A window sums up to ~20 slices of
/// a few thousand entries each. Merging them two by two into new lists, from
/// entries decoded up front for the whole snapshot, took 2.4 times as long
/// per busy series. A histogram whose indices span more than
/// `MAX_DENSE_SPAN` counters (5 digits over a wide range: a dense array
/// from index 0 took 185 MiB for five histograms of one 94-byte snapshot)
/// collects its entries in a list instead, sorted and summed by `finish`.
#[derive(Default)]
struct Dense {
    /// Counts of indices `base..base + counts.len()`; all 0 outside `lo..hi`.
    counts: Vec<u64>,
    base: usize,
    lo: usize,
    hi: usize,
    /// The entries, when the indices span too much for `counts`.
    sparse: Option<Vec<(u32, u64)>>,
    total: u64,
    errors: u64,
}

/// The widest index range merged in a dense array (2 MiB of counts); at 3
/// digits every histogram fits (24k counters up to an hour).
const MAX_DENSE_SPAN: usize = 1 << 18;
/// A histogram is merged dense when its span is at most this plus
/// `SPAN_PER_ENTRY` counters per entry of its items; beyond, as a list. Before this rule, 1,000 series of two values 2^18 indices apart
/// took 7 s to summarize (clearing and walking 2 MiB per histogram).
const THIN_SPAN: usize = 4096;
const SPAN_PER_ENTRY: usize = 32;

impl Dense {
    fn add(&mut self, item: &Item<'_>, entries: &[(u32, u64)]) {
        self.total = self.total.saturating_add(item.count);
        self.errors = self.errors.saturating_add(item.errors);
        if let Some(list) = &mut self.sparse {
            list.extend_from_slice(entries);
            return;
        }
        let (Some(&(a, _)), Some(&(b, _))) = (entries.first(), entries.last()) else {
            return;
        };
        let (lo, hi) = if self.lo < self.hi {
            (self.lo.min(a as usize), self.hi.max(b as usize + 1))
        } else {
            (a as usize, b as usize + 1)
        };
        if hi - lo > MAX_DENSE_SPAN {
            let mut list: Vec<(u32, u64)> =
                self.dense_entries().map(|(i, c)| (i as u32, c)).collect();
            list.extend_from_slice(entries);
            self.clear_dense();
            self.sparse = Some(list);
            return;
        }
        self.cover(lo, hi);
        for &(i, c) in entries {
            let slot = &mut self.counts[i as usize - self.base];
            *slot = slot.saturating_add(c);
        }
    }

    /// Chooses how the next `entries` entries, over indices `lo..hi`, are
    /// merged: a thin histogram over a wide range (a few values far apart;
    /// any series at 5 digits, a light one at any precision) as a list,
    /// since counters to clear and walk would cost its span, not its entries.
    /// Decided once per histogram, knowing all its items: a histogram whose
    /// first item was thin and the rest busy would otherwise sort them all.
    fn plan(&mut self, entries: usize, lo: usize, hi: usize) {
        if hi > lo && hi - lo > THIN_SPAN + SPAN_PER_ENTRY * entries {
            self.sparse = Some(Vec::with_capacity(entries));
        }
    }

    /// Makes `counts` cover `lo..hi` (keeping what it holds) and sets the range.
    /// It grows to the union with what it covered while that stays within
    /// `MAX_DENSE_SPAN`, so that the series of one snapshot stop reallocating.
    fn cover(&mut self, lo: usize, hi: usize) {
        let end = self.base + self.counts.len();
        if lo < self.base || hi > end {
            let (mut from, mut to) = (lo.min(self.base), hi.max(end));
            if self.counts.is_empty() || to - from > MAX_DENSE_SPAN {
                (from, to) = (lo, hi);
            }
            let mut counts = vec![0; to - from];
            if self.lo < self.hi {
                counts[self.lo - from..self.hi - from]
                    .copy_from_slice(&self.counts[self.lo - self.base..self.hi - self.base]);
            }
            (self.counts, self.base) = (counts, from);
        }
        (self.lo, self.hi) = (lo, hi);
    }

    /// Sorts and sums the list of a sparse histogram (after the last `add`).
    fn finish(&mut self) {
        let Some(list) = &mut self.sparse else { return };
        list.sort_unstable_by_key(|&(i, _)| i);
        let mut kept = 0;
        for k in 0..list.len() {
            if kept > 0 && list[kept - 1].0 == list[k].0 {
                list[kept - 1].1 = list[kept - 1].1.saturating_add(list[k].1);
            } else {
                list[kept] = list[k];
                kept += 1;
            }
        }
        list.truncate(kept);
    }

    fn dense_entries(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let (lo, hi) = (self.lo.min(self.hi), self.hi);
        let base = self.base;
        self.counts[lo.max(base) - base..hi.max(base) - base]
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != 0)
            .map(move |(k, &c)| (lo.max(base) + k, c))
    }

    /// Ascending (index, count), counts > 0 (after `finish`).
    fn entries(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let list = self.sparse.as_deref().unwrap_or(&[]);
        self.dense_entries()
            .chain(list.iter().map(|&(i, c)| (i as usize, c)))
    }

    /// Every percentile of `ps` in one walk over the entries.
    fn percentiles(&self, math: &HdrMath, ps: &[f64]) -> Vec<f64> {
        values_at_percentiles(math, self.entries(), self.total, ps)
            .into_iter()
            .map(|v| v as f64)
            .collect()
    }

    fn clear_dense(&mut self) {
        if self.lo < self.hi {
            self.counts[self.lo - self.base..self.hi - self.base].fill(0);
        }
        (self.lo, self.hi) = (0, 0);
    }

    fn clear(&mut self) {
        self.clear_dense();
        self.sparse = None;
        (self.total, self.errors) = (0, 0);
    }
}

/// Bits of the merged histograms in `summarize`'s order: lifetime, then the
/// windows.
const MERGED_MASKS: [u8; 5] = [
    MASK_LIFETIME,
    WINDOW_MASKS[0],
    WINDOW_MASKS[1],
    WINDOW_MASKS[2],
    WINDOW_MASKS[3],
];

/// Merges a series' items into its lifetime and window histograms: each item
/// is decoded once, and checked as it is (`Item::decode`), into `scratch`
/// (its entries from `offsets[k]`), then each histogram plans its merge from
/// the items its mask bit names and adds them.
fn merge_series(
    items: &[Item<'_>],
    counts_len: u64,
    merged: &mut [Dense; 5],
    scratch: &mut Vec<(u32, u64)>,
    offsets: &mut Vec<usize>,
) -> Result<(), String> {
    scratch.clear();
    offsets.clear();
    for it in items {
        offsets.push(scratch.len());
        it.decode(counts_len, |i, c| scratch.push((i, c)))
            .map_err(|e| e.to_string())?;
    }
    offsets.push(scratch.len());
    let entries_of = |k: usize| &scratch[offsets[k]..offsets[k + 1]];
    for (dense, &bit) in merged.iter_mut().zip(&MERGED_MASKS) {
        let (mut n, mut lo, mut hi) = (0, usize::MAX, 0);
        for (k, it) in items.iter().enumerate() {
            let e = entries_of(k);
            if let (true, Some(&(a, _)), Some(&(b, _))) = (it.mask & bit != 0, e.first(), e.last())
            {
                n += e.len();
                lo = lo.min(a as usize);
                hi = hi.max(b as usize + 1);
            }
        }
        dense.plan(n, lo, hi);
        for (k, it) in items.iter().enumerate() {
            if it.mask & bit != 0 {
                dense.add(it, entries_of(k));
            }
        }
    }
    Ok(())
}

/// Summarizes every series record of `snap`, in order. Its entries are
/// checked as they are decoded, so `snap` may come from
/// `parse_deferring_entries`: a bad entry gives the same error as `parse`.
pub fn summarize(
    snap: &Snapshot<'_>,
    ps: &[f64],
    window_ps: &[f64],
    include_histogram: bool,
) -> Result<Vec<Summary>, String> {
    let math = HdrMath::new(snap.digits, snap.highest).map_err(|e| format!("spanmeter: {e}"))?;
    let counts_len = math.counts_len() as u64;
    let mut out = Vec::with_capacity(snap.series.len());
    let mut merged: [Dense; 5] = Default::default();
    let (mut scratch, mut offsets) = (Vec::new(), Vec::new());
    for s in &snap.series {
        merge_series(
            &s.items,
            counts_len,
            &mut merged,
            &mut scratch,
            &mut offsets,
        )?;
        merged.iter_mut().for_each(Dense::finish);
        let [life, windows @ ..] = &merged;
        let histogram = if include_histogram {
            v2::encode_base64(&math, life.entries())?
        } else {
            String::new()
        };
        out.push(Summary {
            id: s.id,
            count: life.total as f64,
            errors: life.errors as f64,
            sum_us: s.sum_us,
            min_us: s.min_us,
            max_us: s.max_us,
            percentiles_us: life.percentiles(&math, ps),
            histogram,
            windows: windows
                .iter()
                .map(|w| WindowStats {
                    count: w.total as f64,
                    errors: w.errors as f64,
                    percentiles_us: w.percentiles(&math, window_ps),
                })
                .collect(),
        });
        merged.iter_mut().for_each(Dense::clear);
    }
    Ok(out)
}
