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

/// Merges items' entries by adding them into a dense array of counts, which
/// is reused for every window of every series of a snapshot: a window sums
/// up to ~20 slices of a few thousand entries each, and merging them two by
/// two into new lists cost ~5 times as much.
#[derive(Default)]
struct Merger {
    /// Counts by index, all 0 between calls; grown to the highest index seen.
    dense: Vec<u64>,
}

impl Merger {
    /// Sum of the items whose mask has `bit`: (count, errors, ascending entries).
    fn merged(&mut self, items: &[Item], bit: u8) -> (u64, u64, Vec<(u32, u64)>) {
        let selected: Vec<&Item> = items.iter().filter(|it| it.mask & bit != 0).collect();
        let count = selected.iter().fold(0u64, |t, it| t.saturating_add(it.count));
        let errors = selected.iter().fold(0u64, |t, it| t.saturating_add(it.errors));
        if let [only] = selected[..] {
            return (count, errors, only.entries.clone());
        }
        let (mut lo, mut hi) = (usize::MAX, 0usize);
        for it in selected {
            let (Some(&(a, _)), Some(&(b, _))) = (it.entries.first(), it.entries.last()) else {
                continue;
            };
            lo = lo.min(a as usize);
            hi = hi.max(b as usize + 1);
            if self.dense.len() < hi {
                self.dense.resize(hi, 0);
            }
            for &(i, c) in &it.entries {
                let slot = &mut self.dense[i as usize];
                *slot = slot.saturating_add(c);
            }
        }
        let mut out = Vec::new();
        if lo < hi {
            for (i, slot) in self.dense[lo..hi].iter_mut().enumerate() {
                if *slot != 0 {
                    out.push(((lo + i) as u32, std::mem::take(slot)));
                }
            }
        }
        (count, errors, out)
    }
}

fn percentiles(math: &HdrMath, entries: &[(u32, u64)], total: u64, ps: &[f64]) -> Vec<f64> {
    ps.iter()
        .map(|&p| {
            value_at_percentile(
                math,
                entries.iter().map(|&(i, c)| (i as usize, c)),
                total,
                p,
            ) as f64
        })
        .collect()
}

pub fn summarize(
    snap: &Snapshot,
    ps: &[f64],
    window_ps: &[f64],
    include_histogram: bool,
) -> Result<Vec<Summary>, String> {
    let math = HdrMath::new(snap.digits, snap.highest).map_err(|e| format!("spanmeter: {e}"))?;
    let mut out = Vec::with_capacity(snap.series.len());
    let mut merger = Merger::default();
    for s in &snap.series {
        let (count, errors, life) = merger.merged(&s.items, MASK_LIFETIME);
        let histogram = if include_histogram {
            v2::encode_base64(&math, life.iter().map(|&(i, c)| (i as usize, c)))?
        } else {
            String::new()
        };
        let windows = WINDOW_MASKS
            .iter()
            .map(|&bit| {
                let (wc, we, entries) = merger.merged(&s.items, bit);
                WindowStats {
                    count: wc as f64,
                    errors: we as f64,
                    percentiles_us: percentiles(&math, &entries, wc, window_ps),
                }
            })
            .collect();
        out.push(Summary {
            id: s.id,
            count: count as f64,
            errors: errors as f64,
            sum_us: s.sum_us,
            min_us: s.min_us,
            max_us: s.max_us,
            percentiles_us: percentiles(&math, &life, count, ps),
            histogram,
            windows,
        });
    }
    Ok(out)
}
