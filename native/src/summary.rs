//! Turns a parsed snapshot into per-series summaries: lifetime percentiles,
//! window merges and the optional V2 histogram.

use crate::hdr_math::{value_at_percentile, HdrMath};
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
/// summarized: counts by index in a dense array, reused for every series of
/// a snapshot. A window sums up to ~20 slices of a few thousand entries
/// each. Merging them two by two into new lists, from entries decoded up
/// front for the whole snapshot, took 2.4 times as long per busy series.
#[derive(Default)]
struct Dense {
    /// Counts by index; all 0 outside `lo..hi`, grown to the highest index seen.
    counts: Vec<u64>,
    lo: usize,
    hi: usize,
    total: u64,
    errors: u64,
}

impl Dense {
    fn add(&mut self, item: &Item<'_>, entries: &[(u32, u64)]) {
        self.total = self.total.saturating_add(item.count);
        self.errors = self.errors.saturating_add(item.errors);
        let (Some(&(a, _)), Some(&(b, _))) = (entries.first(), entries.last()) else {
            return;
        };
        self.lo = if self.lo < self.hi {
            self.lo.min(a as usize)
        } else {
            a as usize
        };
        self.hi = self.hi.max(b as usize + 1);
        if self.counts.len() < self.hi {
            self.counts.resize(self.hi, 0);
        }
        for &(i, c) in entries {
            let slot = &mut self.counts[i as usize];
            *slot = slot.saturating_add(c);
        }
    }

    /// Ascending (index, count), counts > 0.
    fn entries(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let lo = self.lo.min(self.hi);
        self.counts[lo..self.hi]
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != 0)
            .map(move |(k, &c)| (lo + k, c))
    }

    fn percentiles(&self, math: &HdrMath, ps: &[f64]) -> Vec<f64> {
        ps.iter()
            .map(|&p| value_at_percentile(math, self.entries(), self.total, p) as f64)
            .collect()
    }

    fn clear(&mut self) {
        let lo = self.lo.min(self.hi);
        self.counts[lo..self.hi].fill(0);
        (self.lo, self.hi, self.total, self.errors) = (0, 0, 0, 0);
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
/// is decoded once, and checked as it is (`Item::decode`), and added into
/// every histogram its mask names.
fn merge_series(
    items: &[Item<'_>],
    counts_len: u64,
    merged: &mut [Dense; 5],
    scratch: &mut Vec<(u32, u64)>,
) -> Result<(), String> {
    for it in items {
        scratch.clear();
        it.decode(counts_len, |i, c| scratch.push((i, c)))
            .map_err(|e| e.to_string())?;
        for (dense, &bit) in merged.iter_mut().zip(&MERGED_MASKS) {
            if it.mask & bit != 0 {
                dense.add(it, scratch);
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
    let mut scratch = Vec::new();
    for s in &snap.series {
        merge_series(&s.items, counts_len, &mut merged, &mut scratch)?;
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
