//! A standalone HDR histogram (lowest 1) with the set's input rules.

use std::mem::size_of;

use crate::hdr_math::{round_value, value_at_percentile, HdrMath, Rounded, MAX_SAFE};
use crate::paged::Paged;
use crate::v2;

#[derive(Clone)]
pub struct Histogram {
    math: HdrMath,
    counts: Paged<u64>,
    total: u64,
    invalid: u64,
    clamped: u64,
}

impl Histogram {
    pub fn new(math: HdrMath) -> Self {
        Histogram {
            math,
            counts: Paged::default(),
            total: 0,
            invalid: 0,
            clamped: 0,
        }
    }

    pub fn math(&self) -> &HdrMath {
        &self.math
    }

    #[inline]
    pub fn record(&mut self, v: f64) {
        match round_value(v, self.math.highest) {
            Rounded::Ok(r) => self.add_index(self.math.index(r), 1),
            Rounded::Clamped(r) => {
                self.clamped += 1;
                self.add_index(self.math.index(r), 1)
            }
            Rounded::Invalid => self.invalid += 1,
        }
    }

    pub fn record_batch(&mut self, values: &[f64]) {
        for &v in values {
            self.record(v);
        }
    }

    #[inline]
    fn add_index(&mut self, idx: usize, n: u64) {
        self.counts.add(idx, n);
        self.total = self.total.saturating_add(n);
    }

    /// Adds `n` values equal to `v`; above highest they are clamped and counted.
    fn add_value(&mut self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        let v = if v > self.math.highest {
            self.clamped = self.clamped.saturating_add(n);
            self.math.highest
        } else {
            v
        };
        self.add_index(self.math.index(v), n);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn invalid_count(&self) -> u64 {
        self.invalid
    }

    pub fn clamped_count(&self) -> u64 {
        self.clamped
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts.iter()
    }

    pub fn min(&self) -> u64 {
        self.iter().next().map_or(0, |(i, _)| {
            self.math.lowest_equivalent(self.math.value_from_index(i))
        })
    }

    pub fn max(&self) -> u64 {
        self.iter().last().map_or(0, |(i, _)| {
            self.math.highest_equivalent(self.math.value_from_index(i))
        })
    }

    /// sum(medianEquivalent(v) * count) / total, accumulated in f64 in index
    /// order like hdr-histogram-js.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let mut sum = 0.0f64;
        for (i, c) in self.iter() {
            sum += self.math.median_equivalent(self.math.value_from_index(i)) as f64 * c as f64;
        }
        sum / self.total as f64
    }

    pub fn value_at_percentile(&self, p: f64) -> u64 {
        value_at_percentile(&self.math, self.iter(), self.total, p)
    }

    /// Adds `other`'s counts (each bucket's lowest value is re-recorded here,
    /// clamped to our highest and counted as clamped). Like the JS back end,
    /// `other`'s own invalid/clamped counters are not carried over.
    pub fn merge(&mut self, other: &Histogram) {
        for (i, c) in other.iter() {
            self.add_value(other.math.value_from_index(i), c);
        }
    }

    pub fn reset(&mut self) {
        self.counts.clear();
        self.total = 0;
        self.invalid = 0;
        self.clamped = 0;
    }

    pub fn encode(&self) -> Result<String, String> {
        v2::encode_base64(&self.math, self.iter())
    }

    /// Decodes V2 (compressed or plain) base64. The result has the encoded
    /// digits and highest (capped at 2^53-1); for an encoding with lowest > 1
    /// or a highest above the cap each bucket's lowest value is re-recorded
    /// (clamped to the cap, as `merge` does).
    ///
    /// It holds the result and the inflater's state (`v2::decode_base64_into`):
    /// pages of 128 counters (and chunks of 64 page pointers), allocated for
    /// the counts the encoding has, so at most 1.5 KiB per count and a little
    /// over 8 bytes per counter of the result (39 MB at 5 digits up to
    /// 2^53 - 1, every counter filled).
    pub fn decode(text: &str) -> Result<Histogram, String> {
        v2::decode_base64_into(
            text,
            |d| {
                let math = HdrMath::new(d.digits, d.highest.min(MAX_SAFE))
                    .map_err(|e| format!("spanmeter: cannot decode histogram: {e}"))?;
                Ok((Histogram::new(math), d.clone()))
            },
            |(h, d), i, c| {
                if d.lowest == 1 && d.scaled == h.math {
                    h.add_index(i, c);
                } else {
                    h.add_value(d.value_from_index(i), c);
                }
            },
        )
        .map(|(h, _)| h)
    }

    pub fn heap_bytes(&self) -> usize {
        size_of::<Histogram>() + self.counts.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::tests::JS_FIXTURE;

    fn hist(d: u8, highest: u64) -> Histogram {
        Histogram::new(HdrMath::new(d, highest).unwrap())
    }

    #[test]
    fn records_with_rules() {
        let mut h = hist(3, 10_000);
        h.record_batch(&[
            f64::NAN,
            -1.0,
            f64::INFINITY,
            0.4,
            2048.6,
            20_000.0,
            10_000.4,
        ]);
        assert_eq!(h.invalid_count(), 3);
        assert_eq!(h.clamped_count(), 1);
        assert_eq!(h.count(), 4);
        assert_eq!(h.min(), 0);
        assert_eq!(h.max(), h.math().highest_equivalent(10_000));
        assert_eq!(h.value_at_percentile(50.0), 2049);
        let empty = hist(3, 10_000);
        assert_eq!(
            (
                empty.min(),
                empty.max(),
                empty.mean(),
                empty.value_at_percentile(50.0)
            ),
            (0, 0, 0.0, 0)
        );
    }

    #[test]
    fn matches_hdr_histogram_js_on_the_fixture() {
        let h = Histogram::decode(JS_FIXTURE).unwrap();
        assert_eq!(h.count(), 19);
        assert_eq!(h.mean(), 189_473_004.315_789_46);
        let ps: Vec<u64> = [0.0, 50.0, 90.0, 99.0, 99.9, 100.0]
            .iter()
            .map(|&p| h.value_at_percentile(p))
            .collect();
        assert_eq!(
            ps,
            vec![
                0,
                5003,
                123_519,
                3_600_809_983,
                3_600_809_983,
                3_600_809_983
            ]
        );
        assert_eq!(h.max(), 3_600_809_983);
        // re-encode and decode: same counts
        let again = Histogram::decode(&h.encode().unwrap()).unwrap();
        assert_eq!(
            again.iter().collect::<Vec<_>>(),
            h.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn merge_clamps_and_counts() {
        let mut small = hist(3, 10_000);
        let mut big = hist(2, 1_000_000);
        big.record_batch(&[5.0, 500.0, 50_000.0, 900_000.0]);
        big.record(f64::NAN);
        small.record(7.0);
        small.merge(&big);
        assert_eq!(small.count(), 5);
        assert_eq!(small.clamped_count(), 2);
        assert_eq!(small.invalid_count(), 0);
        assert_eq!(small.max(), small.math().highest_equivalent(10_000));
        // self-merge through a clone doubles
        let c = small.clone();
        small.merge(&c);
        assert_eq!(small.count(), 10);
        // a decoded histogram whose highest exceeds ours
        let d = Histogram::decode(JS_FIXTURE).unwrap();
        let mut h = hist(3, 100_000);
        h.merge(&d);
        assert_eq!(h.count(), 19);
        assert_eq!(h.clamped_count(), 2);
    }
}
