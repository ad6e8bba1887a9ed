//! HDR index math (lowest discernible value 1), value rounding and the
//! percentile target arithmetic of docs/internals.md.

/// Largest integer a JS number holds exactly (2^53 - 1).
pub const MAX_SAFE: u64 = (1 << 53) - 1;
pub(crate) const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// Index math of an HdrHistogram with `lowest = 1`, `d` significant digits and
/// a highest trackable value. Identical to HdrHistogram / hdr-histogram-js.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HdrMath {
    pub digits: u8,
    pub highest: u64,
    half_mag: u32,
    half_count: u64,
    mask: u64,
    bucket_count: u32,
    counts_len: usize,
}

impl HdrMath {
    /// `digits` 0..=5 (0 only reachable through decode), `highest` >= 2.
    pub fn new(digits: u8, highest: u64) -> Result<HdrMath, String> {
        if digits > 5 {
            return Err(format!("significantDigits must be in 0..=5, got {digits}"));
        }
        if highest < 2 {
            return Err(format!("highestTrackableUs must be >= 2, got {highest}"));
        }
        let largest_single_unit: u64 = 2 * 10u64.pow(digits as u32);
        // ceil(log2(x)) for x >= 2
        let count_mag = 64 - (largest_single_unit - 1).leading_zeros();
        let half_mag = count_mag.max(1) - 1;
        let sub_count: u64 = 1 << (half_mag + 1);
        let half_count = sub_count / 2;
        let mut bucket_count: u32 = 1;
        let mut smallest_untrackable: u128 = sub_count as u128;
        while smallest_untrackable <= highest as u128 {
            smallest_untrackable <<= 1;
            bucket_count += 1;
        }
        let counts_len = (bucket_count as usize + 1) * half_count as usize;
        Ok(HdrMath {
            digits,
            highest,
            half_mag,
            half_count,
            mask: sub_count - 1,
            bucket_count,
            counts_len,
        })
    }

    #[inline(always)]
    pub fn counts_len(&self) -> usize {
        self.counts_len
    }

    /// Sub-bucket half magnitude (d=1..5: 4, 7, 10, 14, 17).
    #[inline(always)]
    pub fn half_mag(&self) -> u32 {
        self.half_mag
    }

    #[inline(always)]
    pub fn bucket_count(&self) -> u32 {
        self.bucket_count
    }

    #[inline(always)]
    fn bucket_index(&self, v: u64) -> u32 {
        63 - self.half_mag - (v | self.mask).leading_zeros()
    }

    /// Counts index of `v`. `v` must be <= highest for the result to be < counts_len.
    #[inline(always)]
    pub fn index(&self, v: u64) -> usize {
        let b = self.bucket_index(v);
        let sub = v >> b;
        ((((b + 1) as u64) << self.half_mag) + sub - self.half_count) as usize
    }

    /// Lowest value of the bucket at counts index `i` (u64 arithmetic, saturating).
    pub fn value_from_index(&self, i: usize) -> u64 {
        let i = i as u64;
        let mut b = (i >> self.half_mag) as i64 - 1;
        let mut s = (i & (self.half_count - 1)) + self.half_count;
        if b < 0 {
            s -= self.half_count;
            b = 0;
        }
        s.checked_shl(b as u32)
            .filter(|x| x >> b == s)
            .unwrap_or(u64::MAX)
    }

    pub fn size_of_range(&self, v: u64) -> u64 {
        1u64 << self.bucket_index(v)
    }

    pub fn lowest_equivalent(&self, v: u64) -> u64 {
        let b = self.bucket_index(v);
        (v >> b) << b
    }

    pub fn highest_equivalent(&self, v: u64) -> u64 {
        self.lowest_equivalent(v)
            .saturating_add(self.size_of_range(v) - 1)
    }

    pub fn median_equivalent(&self, v: u64) -> u64 {
        self.lowest_equivalent(v)
            .saturating_add(self.size_of_range(v) / 2)
    }
}

/// Outcome of turning an input f64 into a recordable value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounded {
    Invalid,
    Ok(u64),
    Clamped(u64),
}

/// `Math.round` then clamp to `highest`; NaN, +-inf and negatives are invalid
/// (-0 is 0).
#[inline(always)]
pub fn round_value(v: f64, highest: u64) -> Rounded {
    let r = if let Some(r) = round_small(v) {
        r
    } else if v >= TWO_POW_52 && v != f64::INFINITY {
        v as u64 // already an integer; saturates above u64::MAX
    } else {
        return Rounded::Invalid;
    };
    if r > highest {
        Rounded::Clamped(highest)
    } else {
        Rounded::Ok(r)
    }
}

/// `Math.round(v)` for `0 <= v < 2^52` (-0 included), None otherwise.
#[inline(always)]
pub fn round_small(v: f64) -> Option<u64> {
    if (0.0..TWO_POW_52).contains(&v) {
        let t = v as i64;
        // v - t is exact below 2^52
        Some((t + ((v - t as f64) >= 0.5) as i64) as u64)
    } else {
        None
    }
}

/// `ulp(x) = 2^(floor(log2(x)) - 52)`, 0 for x = 0 (and for subnormals, where
/// the JS formula underflows to 0 as well or is irrelevant: the target is 1).
fn ulp(x: f64) -> f64 {
    let exp = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if exp == 0 {
        return 0.0;
    }
    let e = exp - 1023 - 52;
    if e < -1074 {
        0.0
    } else {
        2f64.powi(e)
    }
}

/// Rank (1-based cumulative count) that `p` selects in a histogram of `total`
/// values, or None when the answer is 0 (empty, or p NaN / negative, as
/// hdr-histogram-js does).
pub fn percentile_target(p: f64, total: u64) -> Option<u64> {
    if total == 0 || p.is_nan() || p < 0.0 {
        return None;
    }
    let fp = (p.min(100.0) / 100.0) * total as f64;
    let t = (fp - ulp(fp)).ceil().max(1.0);
    Some(t as u64)
}

/// `valueAtPercentile` over ascending (index, count) pairs whose counts sum to `total`.
pub fn value_at_percentile<I>(math: &HdrMath, entries: I, total: u64, p: f64) -> u64
where
    I: IntoIterator<Item = (usize, u64)>,
{
    values_at_percentiles(math, entries, total, &[p])[0]
}

/// `valueAtPercentile` of every `ps[k]` in one walk over the entries (any
/// order of `ps`; 0 for a NaN or negative one, or when `total` is 0): the
/// lowest equivalent value of the entry at the percentile's rank for p0, the
/// highest for the others.
pub fn values_at_percentiles<I>(math: &HdrMath, entries: I, total: u64, ps: &[f64]) -> Vec<u64>
where
    I: IntoIterator<Item = (usize, u64)>,
{
    let mut out = vec![0; ps.len()];
    // (target rank, slot), ascending
    let mut targets: Vec<(u64, usize)> = ps
        .iter()
        .enumerate()
        .filter_map(|(k, &p)| percentile_target(p, total).map(|t| (t, k)))
        .collect();
    targets.sort_unstable();
    let mut next = targets.iter().peekable();
    let mut cum: u64 = 0;
    for (i, c) in entries {
        cum = cum.saturating_add(c);
        while let Some(&&(target, k)) = next.peek() {
            if cum < target {
                break;
            }
            let v = math.value_from_index(i);
            out[k] = if ps[k] == 0.0 {
                math.lowest_equivalent(v)
            } else {
                math.highest_equivalent(v)
            };
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    out
}

/// Validates a user-supplied (significantDigits, highestTrackableUs) pair.
pub fn validate_options(digits: f64, highest: f64) -> Result<HdrMath, String> {
    if !(digits.fract() == 0.0 && (1.0..=5.0).contains(&digits)) {
        return Err(format!(
            "spanmeter: significantDigits must be an integer in 1..=5, got {digits}"
        ));
    }
    if !(highest.fract() == 0.0 && highest >= 2.0 && highest <= MAX_SAFE as f64) {
        return Err(format!(
            "spanmeter: highestTrackableUs must be an integer in 2..=2^53-1, got {highest}"
        ));
    }
    HdrMath::new(digits as u8, highest as u64).map_err(|e| format!("spanmeter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000_000;

    // (value, index, lowestEquivalent, highestEquivalent), hand-checked and
    // identical to hdr-histogram-js 3.0.1 (countsArrayIndex / *EquivalentValue).
    #[test]
    #[allow(clippy::type_complexity)]
    fn bucket_edges_d1_to_d5() {
        let cases: [(u8, usize, u32, &[(u64, usize, u64, u64)]); 5] = [
            (
                1,
                464,
                28,
                &[
                    (0, 0, 0, 0),
                    (31, 31, 31, 31),
                    (32, 32, 32, 33),
                    (33, 32, 32, 33),
                    (34, 33, 34, 35),
                    (63, 47, 62, 63),
                    (64, 48, 64, 67),
                    (256, 80, 256, 271),
                    (3_600_000_000, 458, 3_489_660_928, 3_623_878_655),
                ],
            ),
            (
                2,
                3328,
                25,
                &[
                    (255, 255, 255, 255),
                    (256, 256, 256, 257),
                    (257, 256, 256, 257),
                    (511, 383, 510, 511),
                    (512, 384, 512, 515),
                    (3_600_000_000, 3286, 3_590_324_224, 3_607_101_439),
                ],
            ),
            (
                3,
                23552,
                22,
                &[
                    (1, 1, 1, 1),
                    (2047, 2047, 2047, 2047),
                    (2048, 2048, 2048, 2049),
                    (2049, 2048, 2048, 2049),
                    (2050, 2049, 2050, 2051),
                    (4095, 3071, 4094, 4095),
                    (4096, 3072, 4096, 4099),
                    (32768, 6144, 32768, 32799),
                    (3_600_000_000, 23220, 3_598_712_832, 3_600_809_983),
                ],
            ),
            (
                4,
                311_296,
                18,
                &[
                    (32767, 32767, 32767, 32767),
                    (32768, 32768, 32768, 32769),
                    (32769, 32768, 32768, 32769),
                    (65535, 49151, 65534, 65535),
                    (65536, 49152, 65536, 65539),
                    (3_600_000_000, 305_993, 3_599_892_480, 3_600_023_551),
                ],
            ),
            (
                5,
                2_097_152,
                15,
                &[
                    (262_143, 262_143, 262_143, 262_143),
                    (262_144, 262_144, 262_144, 262_145),
                    (262_145, 262_144, 262_144, 262_145),
                    (524_287, 393_215, 524_286, 524_287),
                    (524_288, 393_216, 524_288, 524_291),
                    (3_600_000_000, 2_054_734, 3_599_990_784, 3_600_007_167),
                ],
            ),
        ];
        for (d, len, buckets, values) in cases {
            let m = HdrMath::new(d, HOUR).unwrap();
            assert_eq!(m.counts_len(), len, "d={d}");
            assert_eq!(m.bucket_count(), buckets, "d={d}");
            for &(v, i, lo, hi) in values {
                assert_eq!(m.index(v), i, "d={d} v={v}");
                assert_eq!(m.lowest_equivalent(v), lo, "d={d} v={v}");
                assert_eq!(m.highest_equivalent(v), hi, "d={d} v={v}");
                assert_eq!(m.value_from_index(i), lo, "d={d} i={i}");
            }
            // every index round-trips through value_from_index
            for i in (0..len).step_by(7) {
                assert_eq!(m.index(m.value_from_index(i)), i, "d={d} i={i}");
            }
            assert!(m.index(HOUR) < len);
        }
    }

    #[test]
    fn tiny_highest() {
        let m = HdrMath::new(3, 2).unwrap();
        assert_eq!(m.bucket_count(), 1);
        assert_eq!(m.counts_len(), 2048);
        let m = HdrMath::new(0, 1 << 62).unwrap();
        assert_eq!(m.index(1 << 62), m.counts_len() - 1);
    }

    #[test]
    fn rounding_like_math_round() {
        let h = HOUR;
        assert_eq!(round_value(0.5, h), Rounded::Ok(1));
        assert_eq!(round_value(2.5, h), Rounded::Ok(3));
        assert_eq!(round_value(2.4999999999999996, h), Rounded::Ok(2));
        assert_eq!(round_value(0.49999999999999994, h), Rounded::Ok(0));
        assert_eq!(round_value(-0.0, h), Rounded::Ok(0));
        assert_eq!(round_value(-0.1, h), Rounded::Invalid);
        assert_eq!(round_value(f64::NAN, h), Rounded::Invalid);
        assert_eq!(round_value(f64::INFINITY, h), Rounded::Invalid);
        assert_eq!(round_value(f64::NEG_INFINITY, h), Rounded::Invalid);
        assert_eq!(round_value(3_600_000_000.4, h), Rounded::Ok(h));
        assert_eq!(round_value(3_600_000_000.5, h), Rounded::Clamped(h));
        assert_eq!(round_value(1e300, h), Rounded::Clamped(h));
        assert_eq!(
            round_value(9_007_199_254_740_991.0, MAX_SAFE),
            Rounded::Ok(MAX_SAFE)
        );
    }

    #[test]
    fn percentile_targets() {
        // p99 of 100 000: fp = 99000 exactly -> rank 99 000, not 99 001
        assert_eq!(percentile_target(99.0, 100_000), Some(99_000));
        // p99.9: fp = 99900.00000000001; the ulp correction gives 99 900, naive ceil 99 901
        assert_eq!((99.9 / 100.0) * 100_000f64, 99_900.000_000_000_01);
        assert_eq!(percentile_target(99.9, 100_000), Some(99_900));
        assert_eq!(percentile_target(0.07, 100_000), Some(70));
        assert_eq!(percentile_target(0.0, 100_000), Some(1));
        assert_eq!(percentile_target(100.0, 100_000), Some(100_000));
        assert_eq!(percentile_target(250.0, 7), Some(7));
        assert_eq!(percentile_target(50.0, 0), None);
        assert_eq!(percentile_target(f64::NAN, 5), None);
        assert_eq!(percentile_target(-1.0, 5), None);
        assert_eq!(percentile_target(1e-300, 5), Some(1));
        assert_eq!(ulp(1.0), f64::EPSILON);
        assert_eq!(ulp(0.0), 0.0);
    }

    #[test]
    fn percentile_walk() {
        let m = HdrMath::new(5, HOUR).unwrap();
        // values 1..=100000 once each: distinct indices at d=5
        let entries: Vec<(usize, u64)> = (1..=100_000u64).map(|v| (m.index(v), 1)).collect();
        let at = |p| value_at_percentile(&m, entries.iter().copied(), 100_000, p);
        assert_eq!(at(99.0), 99_000);
        assert_eq!(at(99.9), 99_900);
        assert_eq!(at(0.0), 1);
        assert_eq!(at(100.0), 100_000);
        assert_eq!(at(50.0), 50_000);
        // d=3: highest equivalent of the bucket for p > 0, lowest for p = 0
        let m = HdrMath::new(3, HOUR).unwrap();
        let e = [(m.index(2049), 3u64)];
        assert_eq!(value_at_percentile(&m, e, 3, 50.0), 2049);
        assert_eq!(value_at_percentile(&m, e, 3, 0.0), 2048);
    }

    #[test]
    fn all_percentiles_in_one_walk_match_one_at_a_time() {
        let m = HdrMath::new(3, 3_600_000_000).unwrap();
        let entries: Vec<(usize, u64)> = (0..5000)
            .map(|k| (k * 7 + 3, (k % 13 + 1) as u64))
            .collect();
        let total: u64 = entries.iter().map(|e| e.1).sum();
        let ps = [
            99.9,
            0.0,
            50.0,
            f64::NAN,
            100.0,
            -1.0,
            25.0,
            99.0,
            250.0,
            50.0,
        ];
        let all = values_at_percentiles(&m, entries.iter().copied(), total, &ps);
        for (k, &p) in ps.iter().enumerate() {
            let one = value_at_percentile(&m, entries.iter().copied(), total, p);
            assert_eq!(all[k], one, "p{p}");
        }
        assert_eq!(all[3], 0);
        assert_eq!(all[5], 0);
        assert!(all[2] > 0 && all[2] < all[0]);
    }

    #[test]
    fn options() {
        assert!(validate_options(3.0, 3.6e9).is_ok());
        assert!(validate_options(0.0, 3.6e9).is_err());
        assert!(validate_options(6.0, 3.6e9).is_err());
        assert!(validate_options(2.5, 3.6e9).is_err());
        assert!(validate_options(f64::NAN, 3.6e9).is_err());
        assert!(validate_options(3.0, 1.0).is_err());
        assert!(validate_options(3.0, 1000.5).is_err());
        assert!(validate_options(3.0, f64::INFINITY).is_err());
        assert!(validate_options(3.0, 2f64.powi(53)).is_err());
    }
}
