//! Turns a parsed snapshot into per-series summaries: lifetime percentiles,
//! window merges and the optional V2 histogram.

use crate::hdr_math::{value_at_percentile, HdrMath};
use crate::snapshot::{Snapshot, MASK_LIFETIME, WINDOW_MASKS};
use crate::sparse::merge_pairs;
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

/// Sum of the items whose mask has `bit`: (count, errors, ascending entries).
fn merged(items: &[crate::snapshot::Item], bit: u8) -> (u64, u64, Vec<(u32, u64)>) {
    let mut count = 0u64;
    let mut errors = 0u64;
    let mut acc: Vec<(u32, u64)> = Vec::new();
    for it in items.iter().filter(|it| it.mask & bit != 0) {
        count = count.saturating_add(it.count);
        errors = errors.saturating_add(it.errors);
        acc = if acc.is_empty() {
            it.entries.clone()
        } else {
            merge_pairs(&acc, &it.entries)
        };
    }
    (count, errors, acc)
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
    for s in &snap.series {
        let (count, errors, life) = merged(&s.items, MASK_LIFETIME);
        let histogram = if include_histogram {
            v2::encode_base64(&math, life.iter().map(|&(i, c)| (i as usize, c)))?
        } else {
            String::new()
        };
        let windows = WINDOW_MASKS
            .iter()
            .map(|&bit| {
                let (wc, we, entries) = merged(&s.items, bit);
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
