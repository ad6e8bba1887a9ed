//! HdrHistogram V2 encoding: writing uses the hdrhistogram crate's
//! `V2DeflateSerializer`; reading is done here, because the crate's
//! `Deserializer` rejects what hdr-histogram-js writes (it stores the
//! integer-to-double ratio field as int64 1, not as the double 1.0).

use std::io::{Read, Write};

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::{alphabet, Engine};

use crate::hdr_math::HdrMath;

const V2_COOKIE_BASE: u32 = 0x1c84_9303;
const V2_COMPRESSED_COOKIE_BASE: u32 = 0x1c84_9304;
const V2_HEADER_LEN: usize = 40;

const B64_DECODE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const B64_ENCODE: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new());

/// V2 compressed base64 of the histogram (lowest 1, `math.highest`,
/// `math.digits`) holding the ascending (index, count) pairs.
///
/// Writes the V2 bytes straight from the pairs, as HdrHistogram's
/// `V2EncodingSerializer` lays them out (header, then zig-zag LEB128 counts
/// up to the last non-zero one, a run of more than one zero as its negated
/// length), and deflates them with zlib-rs at the default level. Building an
/// `hdrhistogram` histogram first meant zeroing and scanning its whole counts
/// array (185 KB at 3 digits up to an hour) for a few thousand pairs, and
/// miniz_oxide's deflate took 2.5 times as long for the same size: the two
/// made up most of `stats()`'s worker time on busy series.
pub fn encode_base64(
    math: &HdrMath,
    pairs: impl IntoIterator<Item = (usize, u64)>,
) -> Result<String, String> {
    let plain = encode_plain(math, pairs)?;
    let mut out = Vec::with_capacity(plain.len() / 2 + 16);
    out.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
    z.write_all(&plain)
        .map_err(|e| format!("spanmeter: cannot encode histogram: {e}"))?;
    let mut out = z
        .finish()
        .map_err(|e| format!("spanmeter: cannot encode histogram: {e}"))?;
    let len = u32::try_from(out.len() - 8)
        .map_err(|_| "spanmeter: cannot encode histogram: over 4 GiB".to_string())?;
    out[4..8].copy_from_slice(&len.to_be_bytes());
    Ok(B64_ENCODE.encode(out))
}

/// HdrHistogram's cookies for 8-byte counts ("word size" 8 in bits 4-7).
const V2_COOKIE: u32 = V2_COOKIE_BASE | 0x10;
const V2_COMPRESSED_COOKIE: u32 = V2_COMPRESSED_COOKIE_BASE | 0x10;

/// The uncompressed V2 bytes of the histogram holding the pairs; an error
/// when they are not strictly ascending, a count is 0 or above `i64::MAX`,
/// or an index is past `math`'s counts. Counters above the highest
/// trackable value's are written: HdrHistogram and hdr-histogram-js record
/// values there (their counts array ends at a power of two), and a
/// histogram decoded from theirs keeps them.
pub fn encode_plain(
    math: &HdrMath,
    pairs: impl IntoIterator<Item = (usize, u64)>,
) -> Result<Vec<u8>, String> {
    let fail = |what: String| format!("spanmeter: cannot encode histogram: {what}");
    let mut b = Vec::with_capacity(V2_HEADER_LEN + 256);
    b.extend_from_slice(&V2_COOKIE.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes()); // payload length, below
    b.extend_from_slice(&0u32.to_be_bytes()); // normalizing index offset
    b.extend_from_slice(&(math.digits as u32).to_be_bytes());
    b.extend_from_slice(&1u64.to_be_bytes()); // lowest discernible value
    b.extend_from_slice(&math.highest.to_be_bytes());
    b.extend_from_slice(&1.0f64.to_be_bytes()); // integer to double ratio
    let limit = math.counts_len() - 1;
    let mut next = 0usize; // the first index not written yet
    for (index, count) in pairs {
        if index < next {
            return Err(fail(format!("index {index} is not ascending")));
        }
        if index > limit {
            return Err(fail(format!("index {index} is past the last ({limit})")));
        }
        if count == 0 || count > i64::MAX as u64 {
            return Err(fail(format!("count {count} at index {index}")));
        }
        match index - next {
            0 => {}
            1 => write_zigzag(&mut b, 0),
            zeros => write_zigzag(&mut b, -(zeros as i64)),
        }
        write_zigzag(&mut b, count as i64);
        next = index + 1;
    }
    if next == 0 {
        // an empty histogram: HdrHistogram writes the count at index 0
        write_zigzag(&mut b, 0);
    }
    let payload = u32::try_from(b.len() - V2_HEADER_LEN).map_err(|_| fail("over 4 GiB".into()))?;
    b[4..8].copy_from_slice(&payload.to_be_bytes());
    Ok(b)
}

/// Zig-zag LEB128 as HdrHistogram writes it: the ninth byte, if any, holds
/// the top 8 bits whole.
fn write_zigzag(b: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    for _ in 0..8 {
        if z < 0x80 {
            b.push(z as u8);
            return;
        }
        b.push((z as u8) | 0x80);
        z >>= 7;
    }
    b.push(z as u8);
}

/// The header of a V2 histogram, with the total of its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub digits: u8,
    pub lowest: u64,
    pub highest: u64,
    /// Index math of the encoded histogram with values divided by 2^unit_magnitude.
    pub scaled: HdrMath,
    pub unit_magnitude: u32,
    /// The sum of the counts.
    pub total: u64,
}

impl Header {
    /// Lowest value of the bucket at `index` of the encoded histogram.
    pub fn value_from_index(&self, index: usize) -> u64 {
        let v = self.scaled.value_from_index(index);
        v.checked_shl(self.unit_magnitude)
            .filter(|x| x >> self.unit_magnitude == v)
            .unwrap_or(u64::MAX)
    }
}

/// A decoded V2 histogram, in its own index space: the header and every
/// non-zero count (16 bytes each: `decode_base64_into` fills a histogram
/// without them).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub header: Header,
    /// ascending (index, count), counts > 0
    pub counts: Vec<(usize, u64)>,
}

impl std::ops::Deref for Decoded {
    type Target = Header;
    fn deref(&self) -> &Header {
        &self.header
    }
}

fn bad(what: impl std::fmt::Display) -> String {
    format!("spanmeter: cannot decode histogram: {what}")
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Reads V2 (plain or deflate-compressed) base64, as written by
/// HdrHistogram (Java), hdr-histogram-js and the hdrhistogram crate, into a
/// list of its non-zero counts.
pub fn decode_base64(text: &str) -> Result<Decoded, String> {
    decode_base64_into(
        text,
        |header| {
            Ok(Decoded {
                header: header.clone(),
                counts: Vec::new(),
            })
        },
        |d, index, count| d.counts.push((index, count)),
    )
}

/// Reads V2 (plain or deflate-compressed) base64 into what `start` makes of
/// its header, `add`ing each non-zero count to it, in ascending index order.
///
/// What a decode holds is bounded by the encoding itself, never by what its
/// header claims: the payload is inflated and read a few KiB at a time, not
/// into a buffer of the header's payload length (a 52-character string
/// could claim 55 MB), and it is read twice: `start` and `add` only run once
/// the whole encoding is known to be valid, so a bad one (6.2 MB of payload
/// deflate into 8 KB) costs its reading and nothing else. `add` is called
/// once per count encoded, at most once per counter of the header's
/// histogram (at most 6.2 million, at 5 digits up to 2^63).
pub fn decode_base64_into<T>(
    text: &str,
    start: impl FnOnce(&Header) -> Result<T, String>,
    mut add: impl FnMut(&mut T, usize, u64),
) -> Result<T, String> {
    let bytes = B64_DECODE
        .decode(text.trim())
        .map_err(|e| bad(format!("invalid base64 ({e})")))?;
    let header = walk(&bytes, &mut |_, _| {})?;
    let mut out = start(&header)?;
    walk(&bytes, &mut |index, count| add(&mut out, index, count))?;
    Ok(out)
}

/// Reads the V2 encoding `bytes` (base64-decoded), calling `f` with each
/// non-zero count; returns its header.
fn walk(bytes: &[u8], f: &mut dyn FnMut(usize, u64)) -> Result<Header, String> {
    if bytes.len() < 8 {
        return Err(bad(format!("{} bytes is too short", bytes.len())));
    }
    let cookie = be_u32(bytes, 0);
    match cookie & !0xf0 {
        V2_COMPRESSED_COOKIE_BASE => {
            let len = be_u32(bytes, 4) as usize;
            let Some(data) = bytes.get(8..8usize.saturating_add(len)) else {
                return Err(bad(format!(
                    "compressed length {len} but {} bytes follow",
                    bytes.len() - 8
                )));
            };
            let mut z = flate2::read::ZlibDecoder::new(data);
            let mut header = [0u8; V2_HEADER_LEN];
            z.read_exact(&mut header)
                .map_err(|e| bad(format!("cannot inflate header ({e})")))?;
            let payload_len = be_u32(&header, 4);
            let header = decode_v2(&header, &mut z, f)?;
            // read on to the end of the stream so that its checksum is verified; a
            // stream that goes on 64 KiB past its payload is refused, as the JS
            // fallback refuses it (a 65 KB string inflated 50 MB there)
            let trailing = std::io::copy(&mut (&mut z).take((1 << 16) + 1), &mut std::io::sink())
                .map_err(|e| bad(format!("corrupt deflate stream ({e})")))?;
            if trailing > 1 << 16 {
                return Err(bad(format!(
                    "inflates past the {payload_len} bytes of payload its header claims"
                )));
            }
            Ok(header)
        }
        V2_COOKIE_BASE => {
            if bytes.len() < V2_HEADER_LEN {
                return Err(bad("truncated V2 header"));
            }
            let (header, mut rest) = bytes.split_at(V2_HEADER_LEN);
            decode_v2(header, &mut rest, f)
        }
        _ => Err(bad(format!(
            "cookie 0x{cookie:08x} is not V2 (only V2 encodings are supported)"
        ))),
    }
}

/// The header in `header`, its payload read from `body` (the bytes after
/// the header, past the payload too), `f` called with each non-zero count.
fn decode_v2(
    header: &[u8],
    body: &mut dyn Read,
    f: &mut dyn FnMut(usize, u64),
) -> Result<Header, String> {
    let cookie = be_u32(header, 0);
    if cookie & !0xf0 != V2_COOKIE_BASE {
        return Err(bad(format!("inner cookie 0x{cookie:08x} is not V2")));
    }
    let payload_len = be_u32(header, 4) as usize;
    // header[8..12]: normalizing index offset, ignored (as hdr-histogram-js does)
    let digits = be_u32(header, 12);
    let lowest = be_u64(header, 16);
    let highest = be_u64(header, 24);
    // header[32..40]: integer to double ratio, ignored (hdr-histogram-js writes int64 1)
    if digits > 5 {
        return Err(bad(format!("significant digits {digits} not in 0..=5")));
    }
    if lowest < 1 || lowest > i64::MAX as u64 {
        return Err(bad(format!("lowest discernible value {lowest} invalid")));
    }
    if highest > i64::MAX as u64 || highest < lowest.saturating_mul(2) {
        return Err(bad(format!(
            "highest trackable value {highest} invalid for lowest {lowest}"
        )));
    }
    let unit_magnitude = 63 - lowest.leading_zeros();
    let scaled = HdrMath::new(digits as u8, (highest >> unit_magnitude).max(2)).map_err(bad)?;
    let counts_len = scaled.counts_len();
    if payload_len > counts_len.saturating_mul(9) {
        return Err(bad(format!("payload length {payload_len} too large")));
    }
    let mut payload = Payload {
        body: body.take(payload_len as u64),
        buf: [0; 4096],
        at: 0,
        end: 0,
        read: 0,
    };
    let truncated = |read: usize| bad(format!("payload truncated: {read} of {payload_len} bytes"));
    let mut total: u64 = 0;
    let mut dst: usize = 0;
    loop {
        let zz = match read_v2_varint(&mut payload)? {
            Varint::Value(zz) => zz,
            Varint::End if payload.read == payload_len => break,
            Varint::End => return Err(truncated(payload.read)),
            Varint::Truncated if payload.read < payload_len => return Err(truncated(payload.read)),
            Varint::Truncated => return Err(bad("truncated count varint")),
        };
        let n = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        if n < 0 {
            // a zero run never reaches past the counters (a run of 2^63 wrapped
            // `dst` and refilled the same counters from a 364-character string)
            dst = usize::try_from(n.unsigned_abs())
                .ok()
                .and_then(|run| dst.checked_add(run))
                .filter(|&at| at <= counts_len)
                .ok_or_else(|| {
                    bad(format!(
                        "zero run from index {dst} past {counts_len} counters"
                    ))
                })?;
        } else {
            if n > 0 {
                if dst >= counts_len {
                    return Err(bad(format!(
                        "count at index {dst} beyond {counts_len} counters"
                    )));
                }
                total = total
                    .checked_add(n as u64)
                    .ok_or_else(|| bad("total count overflows"))?;
                f(dst, n as u64);
            }
            dst += 1;
        }
    }
    Ok(Header {
        digits: digits as u8,
        lowest,
        highest,
        scaled,
        unit_magnitude,
        total,
    })
}

/// A payload read a buffer at a time.
struct Payload<R: Read> {
    body: std::io::Take<R>,
    buf: [u8; 4096],
    at: usize,
    end: usize,
    /// Bytes taken so far.
    read: usize,
}

impl<R: Read> Payload<R> {
    /// The next byte, None at the end of the payload (or of the body).
    fn next(&mut self) -> Result<Option<u8>, String> {
        if self.at == self.end {
            self.end = loop {
                match self.body.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(bad(format!("cannot inflate payload ({e})"))),
                }
            };
            self.at = 0;
            if self.end == 0 {
                return Ok(None);
            }
        }
        let b = self.buf[self.at];
        self.at += 1;
        self.read += 1;
        Ok(Some(b))
    }
}

enum Varint {
    Value(u64),
    /// The payload ends before the varint.
    End,
    /// The payload ends inside the varint.
    Truncated,
}

/// LEB128-64b9B: up to 8 bytes of 7 bits, a 9th byte carries 8 bits.
fn read_v2_varint<R: Read>(p: &mut Payload<R>) -> Result<Varint, String> {
    let mut v: u64 = 0;
    for k in 0..8 {
        let Some(b) = p.next()? else {
            return Ok(if k == 0 {
                Varint::End
            } else {
                Varint::Truncated
            });
        };
        v |= ((b & 0x7f) as u64) << (7 * k);
        if b & 0x80 == 0 {
            return Ok(Varint::Value(v));
        }
    }
    let Some(b) = p.next()? else {
        return Ok(Varint::Truncated);
    };
    Ok(Varint::Value(v | ((b as u64) << 56)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Made with hdr-histogram-js 3.0.1 (node 20):
    /// `h = build({lowestDiscernibleValue: 1, highestTrackableValue: 3600000000,
    ///   numberOfSignificantValueDigits: 3})`, recordValue of
    /// 0,1,2,1000,2047,2048,2049,20000,20000,20001,123456,3600000000, then
    /// recordValueWithCount(5000, 7), then `encodeIntoCompressedBase64(h)`.
    /// hdr-histogram-js says: totalCount 19, mean 189473004.31578946,
    /// p0 0, p50 5003, p90 123519, p99 = p99.9 = p100 = 3600809983.
    pub const JS_FIXTURE: &str =
        "HISTFAAAADt4nJNpmSzMwMAgzsDAwMjAwMDMAAEgNsO1yUsYYHwmJqaT/EyrBZhYDgrz/ZVnO63FdPkNIxMA29MJzw==";

    #[test]
    fn decodes_hdr_histogram_js_output() {
        let d = decode_base64(JS_FIXTURE).unwrap();
        assert_eq!((d.digits, d.lowest, d.highest), (3, 1, 3_600_000_000));
        assert_eq!(d.total, 19);
        let m = HdrMath::new(3, 3_600_000_000).unwrap();
        assert_eq!(d.scaled, m);
        let values: Vec<(u64, u64)> = d
            .counts
            .iter()
            .map(|&(i, c)| (d.value_from_index(i), c))
            .collect();
        assert_eq!(
            values,
            vec![
                (0, 1),
                (1, 1),
                (2, 1),
                (1000, 1),
                (2047, 1),
                (2048, 2),
                (5000, 7),
                (20_000, 3),
                (123_456, 1),
                (3_598_712_832, 1)
            ]
        );
    }

    #[test]
    fn encode_decode_round_trip() {
        let m = HdrMath::new(2, 1_000_000).unwrap();
        let pairs = vec![(0usize, 3u64), (17, 1), (300, 5), (m.index(1_000_000), 2)];
        let s = encode_base64(&m, pairs.clone()).unwrap();
        assert!(s.starts_with("HISTF"));
        let d = decode_base64(&s).unwrap();
        assert_eq!(
            (d.digits, d.lowest, d.highest, d.total),
            (2, 1, 1_000_000, 11)
        );
        assert_eq!(d.counts, pairs);
        // empty histogram
        let d = decode_base64(&encode_base64(&m, []).unwrap()).unwrap();
        assert_eq!(d.total, 0);
        assert!(d.counts.is_empty());
    }

    /// The direct writer lays out the same bytes as the hdrhistogram crate's
    /// `V2Serializer` fed the same values, for sparse, dense, empty and
    /// extreme histograms at several precisions.
    #[test]
    fn plain_bytes_match_the_hdrhistogram_crate() {
        use hdrhistogram::serialization::{Serializer, V2Serializer};
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for (digits, highest) in [
            (1u8, 1000u64),
            (2, 1_000_000),
            (3, 3_600_000_000),
            (5, 1 << 40),
        ] {
            let m = HdrMath::new(digits, highest).unwrap();
            let last = m.index(highest);
            for case in 0..40 {
                let mut pairs: Vec<(usize, u64)> = Vec::new();
                let mut i = next(3) as usize; // starts at 0, 1 or 2
                while i <= last && pairs.len() < 5000 {
                    let count = match case % 4 {
                        0 => 1,
                        1 => 1 + next(300),
                        2 => 1 + next(1 << 40),
                        _ => [1, 127, 128, 16_383, 16_384, i64::MAX as u64][next(6) as usize],
                    };
                    pairs.push((i, count));
                    // dense runs, single gaps and long gaps
                    i += [1, 1, 2, 3, 200][next(5) as usize]
                        + if case % 5 == 0 {
                            next(5000) as usize
                        } else {
                            0
                        };
                }
                if case == 39 {
                    pairs.clear(); // the empty histogram
                } else if case == 38 {
                    pairs = vec![(last, 1)];
                }
                let mut h =
                    hdrhistogram::Histogram::<u64>::new_with_bounds(1, highest, digits).unwrap();
                for &(i, c) in &pairs {
                    h.record_n(m.value_from_index(i), c).unwrap();
                }
                let mut theirs = Vec::new();
                V2Serializer::new().serialize(&h, &mut theirs).unwrap();
                let ours = encode_plain(&m, pairs.iter().copied()).unwrap();
                assert_eq!(ours, theirs, "digits {digits}, case {case}");
                // and the compressed base64 reads back to the same pairs
                // (where the total fits the decoder's u64)
                let encoded = encode_base64(&m, pairs.iter().copied()).unwrap();
                if pairs
                    .iter()
                    .try_fold(0u64, |t, p| t.checked_add(p.1))
                    .is_some()
                {
                    assert_eq!(
                        decode_base64(&encoded).unwrap().counts,
                        pairs,
                        "digits {digits}, case {case}"
                    );
                }
            }
        }
    }

    /// Counters past the highest trackable value's, up to the last of the
    /// counts array, are written as HdrHistogram writes them.
    #[test]
    fn encodes_counters_above_the_highest_value() {
        let m = HdrMath::new(3, 1_000_000).unwrap();
        let above = m.index(1_000_000) + 1;
        let pairs = vec![(3usize, 1u64), (above, 2), (m.counts_len() - 1, 5)];
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
        for &(i, c) in &pairs {
            h.record_n(m.value_from_index(i), c).unwrap();
        }
        let mut theirs = Vec::new();
        use hdrhistogram::serialization::{Serializer, V2Serializer};
        V2Serializer::new().serialize(&h, &mut theirs).unwrap();
        assert_eq!(encode_plain(&m, pairs.iter().copied()).unwrap(), theirs);
        let d = decode_base64(&encode_base64(&m, pairs.iter().copied()).unwrap()).unwrap();
        assert_eq!(d.counts, pairs);
    }

    #[test]
    fn encode_rejects_pairs_it_cannot_write() {
        let m = HdrMath::new(3, 1_000_000).unwrap();
        for pairs in [
            vec![(5usize, 1u64), (5, 1)],
            vec![(5, 1), (4, 1)],
            vec![(3, 0)],
            vec![(3, u64::MAX)],
            vec![(m.counts_len(), 1)],
        ] {
            let e = encode_base64(&m, pairs.clone()).unwrap_err();
            assert!(
                e.starts_with("spanmeter: cannot encode histogram:"),
                "{pairs:?}: {e}"
            );
        }
    }

    #[test]
    fn plain_v2_and_lowest_above_one() {
        // plain V2 with lowest 1000 (unit magnitude 9), d=2, highest 10^7:
        // counts: index 1 -> 2, then a zero run of 200, then 5
        // payload: index 0 -> 0, index 1 -> 2, 200 zeros, index 202 -> 5
        // zigzag: 0 -> 0, 2 -> 4, -200 -> 399 = varint 0x8f 0x03, 5 -> 10
        let payload = [0u8, 4, 0x8f, 0x03, 10];
        let d = decode_base64(&plain_v2(2, 1000, 10_000_000, &payload)).unwrap();
        assert_eq!(d.unit_magnitude, 9);
        assert_eq!(d.counts, vec![(1, 2), (202, 5)]);
        assert_eq!(d.value_from_index(1), 512);
        assert_eq!(d.value_from_index(202), d.scaled.value_from_index(202) << 9);
    }

    /// Plain (uncompressed) V2 base64 with `payload`.
    fn plain_v2(digits: u32, lowest: u64, highest: u64, payload: &[u8]) -> String {
        B64_ENCODE.encode(v2_bytes(digits, lowest, highest, payload, None))
    }

    /// Plain V2 bytes: the header with these fields, then `payload`; the
    /// header's payload length is `claimed_len`, or the payload's own.
    pub fn v2_bytes(
        digits: u32,
        lowest: u64,
        highest: u64,
        payload: &[u8],
        claimed_len: Option<u32>,
    ) -> Vec<u8> {
        let mut b = vec![];
        b.extend_from_slice(&0x1c84_9313u32.to_be_bytes());
        b.extend_from_slice(&claimed_len.unwrap_or(payload.len() as u32).to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&digits.to_be_bytes());
        b.extend_from_slice(&lowest.to_be_bytes());
        b.extend_from_slice(&highest.to_be_bytes());
        b.extend_from_slice(&1.0f64.to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn zero_runs_past_the_counters_are_errors() {
        // count 1 at 0 (zigzag 2), two zero runs of -2^63 (9-byte varints of
        // all ones), then a zero count and a count 2 (zigzag 4): the runs
        // wrapped the index back to 0
        let mut payload = vec![2u8];
        payload.extend_from_slice(&[0xff; 9]);
        payload.extend_from_slice(&[0xff; 9]);
        payload.extend_from_slice(&[0, 4]);
        let e = decode_base64(&plain_v2(3, 1, 3_600_000_000, &payload)).unwrap_err();
        assert!(e.contains("zero run from index 1 past"), "{e}");
        // a run to the end of the counters is fine
        let len = HdrMath::new(3, 3_600_000_000).unwrap().counts_len() as i64;
        let mut payload = vec![2u8];
        let zz = ((-(len - 1)) << 1) ^ ((-(len - 1)) >> 63);
        let mut v = zz as u64;
        while v >= 0x80 {
            payload.push((v as u8) | 0x80);
            v >>= 7;
        }
        payload.push(v as u8);
        let d = decode_base64(&plain_v2(3, 1, 3_600_000_000, &payload)).unwrap();
        assert_eq!(d.counts, vec![(0, 1)]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        for s in [
            "",
            "!!!",
            "AAAA",
            "HISTFAAAADt4nJNpmSzMwMAgzsDAwMjAwMDMAAEgNsO1",
            "SGVsbG8gd29ybGQhISE=",
        ] {
            let e = decode_base64(s).unwrap_err();
            assert!(
                e.starts_with("spanmeter: cannot decode histogram:"),
                "{s}: {e}"
            );
        }
        // flip a byte inside the deflate stream
        let mut raw = B64_DECODE.decode(JS_FIXTURE).unwrap();
        let n = raw.len();
        raw[n - 6] ^= 0x55;
        assert!(decode_base64(&B64_ENCODE.encode(&raw)).is_err());
        // huge declared compressed length
        let mut raw = B64_DECODE.decode(JS_FIXTURE).unwrap();
        raw[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_base64(&B64_ENCODE.encode(&raw)).is_err());
    }
}
