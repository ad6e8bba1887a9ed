//! Sparse sorted `(index, count)` lists, stored in the snapshot's entry
//! encoding (version 2): indices ascending, counts > 0, `p` and `q` the
//! previous entry's index and count (-1 and 0 before the first). An entry at
//! `p + 1` is one unsigned LEB128 varint `z << 1`, `z` being its count, or,
//! when `64 <= q < 2^50`, the zigzag of `count - q`; any other entry is the
//! varint `((index - p - 2) << 1) | 1`, then the varint `count`.
//!
//! Why: a busy histogram is mostly runs of adjacent buckets. Where counts are
//! small (a 10 s slice) an entry takes one byte instead of the two of an
//! `(indexDelta, count)` pair; where they are large (an hour) neighbours
//! differ much less than they count. Measured per busy series: 330 -> 205
//! KiB for the one-byte form (at one hour), 181 -> 157 KiB for the deltas
//! (at two). The delta's bounds keep every varint below 2^55 and exact in
//! the JS back end's doubles.

use std::mem::size_of;

#[inline]
pub fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads one unsigned LEB128 value (at most 10 bytes, no bits beyond 64).
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    // fast path: most deltas and counts fit in one byte
    let b = *buf.get(*pos)?;
    if b < 0x80 {
        *pos += 1;
        return Some(b as u64);
    }
    read_varint_slow(buf, pos)
}

#[inline(never)]
fn read_varint_slow(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Encoder of an ascending (index, count) sequence.
#[derive(Default)]
pub struct SparseWriter {
    pub buf: Vec<u8>,
    pub entries: u32,
    pub total: u64,
    prev: i64,
    prev_count: u64,
}

impl SparseWriter {
    pub fn new() -> Self {
        SparseWriter {
            buf: Vec::new(),
            entries: 0,
            total: 0,
            prev: -1,
            prev_count: 0,
        }
    }

    pub fn with_capacity(n: usize) -> Self {
        Self::with_buf(Vec::with_capacity(n))
    }

    /// Appends to `buf` (which may already hold other bytes).
    pub fn with_buf(buf: Vec<u8>) -> Self {
        SparseWriter {
            buf,
            entries: 0,
            total: 0,
            prev: -1,
            prev_count: 0,
        }
    }

    /// Appends an entry; `index` must be above the previous one, `count` > 0.
    #[inline]
    pub fn push(&mut self, index: usize, count: u64) {
        debug_assert!(index as i64 > self.prev && count > 0);
        let gap = (index as i64 - self.prev - 1) as u64;
        let mut entry = [0u8; MAX_ENTRY_BYTES + 4];
        let len = put_entry(&mut entry, 0, gap, count, self.prev_count);
        self.buf
            .extend_from_slice(&entry[..len.min(MAX_ENTRY_BYTES)]);
        self.prev = index as i64;
        self.prev_count = count;
        self.entries += 1;
        self.total = self.total.saturating_add(count);
    }

    /// Appends the non-zero counters of a page of 128 u8 counters whose
    /// first index is `base` (above the previous entry). Skips zeros eight at
    /// a time; eight consecutive counts below 64 (the dense middle of a busy
    /// histogram) are encoded at once. Entries are encoded into `scratch`
    /// (any content), then appended at once.
    pub fn push_page(&mut self, base: usize, lo: &[u8; 128], scratch: &mut PageScratch) {
        const LOW: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const TOP2: u64 = 0xc0c0_c0c0_c0c0_c0c0;
        let out = &mut scratch.0;
        let mut len = 0;
        let (mut prev, mut prev_count) = (self.prev, self.prev_count);
        let mut entries = 0u32;
        let mut total = 0u64;
        for (w, chunk) in lo.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
            let first = (base + w * 8) as i64;
            if word == 0 {
                continue;
            }
            let gap = (first - prev - 1) as u64;
            // no zero byte, every byte below 64, and the first entry at most
            // 64 past the previous one (and, adjacent, after a count below
            // 64): the last seven entries are one byte each, `count << 1`
            // (each byte doubled: no bit crosses a byte)
            if word.wrapping_sub(LOW) & !word & HIGH == 0
                && word & TOP2 == 0
                && gap <= 0x40
                && (gap > 0 || prev_count < 0x40)
            {
                let doubled = word << 1;
                let (bytes, n) = if gap == 0 {
                    (doubled as u128, 8)
                } else {
                    // [((gap - 1) << 1) | 1, count] then the doubled rest:
                    // the first byte of `doubled` back to the count
                    let head = (((gap - 1) << 1) | 1) as u128;
                    (head | (((doubled - (word & 0xff)) as u128) << 8), 9)
                };
                if let Some(dst) = out.get_mut(len..len + 16) {
                    dst.copy_from_slice(&bytes.to_le_bytes());
                }
                len += n;
                prev = first + 7;
                prev_count = word >> 56;
                entries += 8;
                // sum of the eight bytes: pairwise into 16-bit lanes, then across
                let s = (word & 0x00ff_00ff_00ff_00ff) + ((word >> 8) & 0x00ff_00ff_00ff_00ff);
                total += s.wrapping_mul(0x0001_0001_0001_0001) >> 48;
                continue;
            }
            let mut nonzero = nonzero_bytes(word);
            while nonzero != 0 {
                let j = (nonzero.trailing_zeros() / 8) as usize;
                nonzero &= nonzero - 1;
                let c = chunk[j] as u64;
                let index = first + j as i64;
                let gap = (index - prev - 1) as u64;
                len = put_entry(out, len, gap, c, prev_count);
                (prev, prev_count) = (index, c);
                entries += 1;
                total += c;
            }
        }
        self.append_page(&out[..len.min(out.len())], prev, prev_count, entries, total);
    }

    /// Appends a page's encoded entries and their totals.
    fn append_page(
        &mut self,
        encoded: &[u8],
        prev: i64,
        prev_count: u64,
        entries: u32,
        total: u64,
    ) {
        self.buf.extend_from_slice(encoded);
        self.prev = prev;
        self.prev_count = prev_count;
        self.entries += entries;
        self.total = self.total.saturating_add(total);
    }

    /// `push_page` for a page with carries: counts `lo + 256 * carries`,
    /// `any` marking the counters with carries. The non-zero counters are
    /// found as a 128-bit mask (low bytes' bit 7s gathered eight at a time,
    /// or carries), then visited in one loop without per-group branches.
    pub fn push_page_with_carries<C: Copy + Into<u64>>(
        &mut self,
        base: usize,
        lo: &[u8; 128],
        carries: &[C; 128],
        any: u128,
        scratch: &mut PageScratch,
    ) {
        let mut mask = any;
        for (w, chunk) in lo.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
            // bit 7 of each byte, gathered into the low 8 bits
            let bits = nonzero_bytes(word).wrapping_mul(0x0002_0408_1020_4081) >> 56;
            mask |= (bits as u128) << (8 * w);
        }
        let out = &mut scratch.0;
        let (mut len, mut prev, mut prev_count) = (0, self.prev, self.prev_count);
        let (mut entries, mut total) = (0u32, 0u64);
        for half in 0..2 {
            let mut bits = (mask >> (64 * half)) as u64;
            while bits != 0 {
                let o = (64 * half + bits.trailing_zeros() as usize) & 127;
                bits &= bits - 1;
                let c = (carries[o].into() << 8) + lo[o] as u64;
                let index = (base + o) as i64;
                len = put_entry(out, len, (index - prev - 1) as u64, c, prev_count);
                (prev, prev_count) = (index, c);
                entries += 1;
                total = total.saturating_add(c);
            }
        }
        self.append_page(&out[..len.min(out.len())], prev, prev_count, entries, total);
    }
}

/// Bit 7 of each non-zero byte of `word`.
#[inline(always)]
fn nonzero_bytes(word: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    (word | ((word & !HIGH) + !HIGH)) & HIGH
}

/// The longest entry: a 10-byte gap varint and a 10-byte count varint.
const MAX_ENTRY_BYTES: usize = 20;

/// Room to encode one page: 128 entries of at most `MAX_ENTRY_BYTES` (and
/// 16 bytes of slack for the dense path's and `put_entry`'s stores).
pub struct PageScratch(pub [u8; 128 * MAX_ENTRY_BYTES + 16]);

impl Default for PageScratch {
    fn default() -> Self {
        PageScratch([0; 128 * MAX_ENTRY_BYTES + 16])
    }
}

/// Counts at most this (2^61 - 1; a valid snapshot's are below 2^53): so
/// that `z << 1` fits in a u64.
const MAX_COUNT: u64 = (1 << 61) - 1;

/// Adjacent entries after a count in `DELTA_FROM..DELTA_BELOW` store the
/// zigzag of their difference to it.
const DELTA_FROM: u64 = 64;
const DELTA_BELOW: u64 = 1 << 50;

/// The `z` of an adjacent entry with `count` after `prev_count`.
#[inline(always)]
fn adjacent_z(count: u64, prev_count: u64) -> u64 {
    if (DELTA_FROM..DELTA_BELOW).contains(&prev_count) {
        // zigzag: 2d for d >= 0, -2d - 1 below
        if count >= prev_count {
            (count - prev_count) << 1
        } else {
            ((prev_count - count) << 1) - 1
        }
    } else {
        count
    }
}

/// The count of an adjacent entry with `z` after `prev_count` (0, invalid,
/// when it is not in 1..=MAX_COUNT). Selects rather than branches on the
/// data: the sign of a delta is a coin toss.
#[inline(always)]
fn adjacent_count(z: u64, prev_count: u64) -> u64 {
    // unzigzag: z >> 1 for even z, -(z >> 1) - 1 for odd
    let d = (z >> 1) ^ (z & 1).wrapping_neg();
    let from_delta = prev_count.wrapping_add(d);
    let is_delta = prev_count.wrapping_sub(DELTA_FROM) < DELTA_BELOW - DELTA_FROM;
    let c = if is_delta { from_delta } else { z };
    // a negative result wrapped above MAX_COUNT
    if c <= MAX_COUNT {
        c
    } else {
        0
    }
}

/// Writes the entry with `gap` indices between it and the previous one (whose
/// count was `prev_count`) and `count` at `out[at..]`, returns its end
/// (writes nothing past the end of `out`). An adjacent entry whose `z` is
/// below 8192 (almost every entry) takes one 2-byte store. Counts above
/// `MAX_COUNT` are written as `MAX_COUNT`.
#[inline(always)]
fn put_entry(out: &mut [u8], at: usize, gap: u64, count: u64, prev_count: u64) -> usize {
    let count = count.min(MAX_COUNT);
    if gap == 0 {
        let z = adjacent_z(count, prev_count.min(MAX_COUNT));
        if z < 0x2000 {
            // v = z << 1 < 2^14: [v] or [(v & 0x7f) | 0x80, v >> 7]
            let v = (z << 1) as u16;
            let long = (v >> 7 != 0) as u16;
            let bytes = if long != 0 {
                (v & 0x7f) | 0x80 | ((v >> 7) << 8)
            } else {
                v
            };
            if let Some(dst) = out.get_mut(at..at + 2) {
                dst.copy_from_slice(&bytes.to_le_bytes());
            }
            return at + 1 + long as usize;
        }
        return put_varint(out, at, z << 1);
    }
    let at = put_varint(out, at, ((gap - 1) << 1) | 1);
    put_varint(out, at, count)
}

/// Reads the entry at `*pos` after one with count `prev_count`: how many
/// indices past the previous one it is (1 when adjacent), and its count (0
/// when a delta gives no valid count). None: bytes end or a bad varint.
#[inline(always)]
pub fn read_entry(buf: &[u8], pos: &mut usize, prev_count: u64) -> Option<(u64, u64)> {
    let v = read_varint(buf, pos)?;
    if v & 1 == 0 {
        Some((1, adjacent_count(v >> 1, prev_count)))
    } else {
        Some(((v >> 1).saturating_add(2), read_varint(buf, pos)?))
    }
}

/// Writes `v` as LEB128 at `out[at..]`, returns the end (writes nothing past
/// the end of `out`).
#[inline]
fn put_varint(out: &mut [u8], mut at: usize, mut v: u64) -> usize {
    while v >= 0x80 {
        if let Some(b) = out.get_mut(at) {
            *b = (v as u8) | 0x80;
        }
        at += 1;
        v >>= 7;
    }
    if let Some(b) = out.get_mut(at) {
        *b = v as u8;
    }
    at + 1
}

/// Decoder of trusted (self-written) entries.
pub struct SparseIter<'a> {
    buf: &'a [u8],
    pos: usize,
    prev: i64,
    prev_count: u64,
}

impl<'a> SparseIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        SparseIter {
            buf,
            pos: 0,
            prev: -1,
            prev_count: 0,
        }
    }
}

impl Iterator for SparseIter<'_> {
    type Item = (usize, u64);
    #[inline]
    fn next(&mut self) -> Option<(usize, u64)> {
        let (step, c) = read_entry(self.buf, &mut self.pos, self.prev_count)?;
        self.prev = self.prev.saturating_add(step.min(i64::MAX as u64) as i64);
        self.prev_count = c;
        Some((self.prev as usize, c))
    }
}

/// A sparse histogram piece: entries plus its count and errors, tagged with
/// the index of the slice it covers at its level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Piece {
    pub index: i64,
    pub count: u64,
    pub errors: u64,
    pub entries: u32,
    pub bytes: Vec<u8>,
}

impl Piece {
    pub fn empty(index: i64) -> Self {
        Piece {
            index,
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> SparseIter<'_> {
        SparseIter::new(&self.bytes)
    }

    /// Adds `other`'s counts into this piece (the index is left unchanged).
    pub fn merge_from(&mut self, other: &Piece) {
        self.count += other.count;
        self.errors += other.errors;
        if self.entries == 0 {
            self.bytes.clear();
            self.bytes.extend_from_slice(&other.bytes);
            self.bytes.shrink_to_fit();
            self.entries = other.entries;
            return;
        }
        let (bytes, entries) = merge_bytes(&self.bytes, &other.bytes);
        self.bytes = bytes;
        self.entries = entries;
    }

    /// A copy whose byte buffer has no spare capacity (`Vec::clone` allocates
    /// exactly `len`).
    pub fn sealed_copy(&self) -> Piece {
        self.clone()
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Merges two encoded lists (sums counts of equal indices). Returns the new
/// encoding, with no spare capacity, and its entry count. The result is
/// about as long as the inputs together or shorter (merging shortens gaps,
/// and two entries with one index become one), but a count's delta to a new
/// neighbour can take more bytes than to its old one: the buffer grows when
/// an entry might not fit.
pub fn merge_bytes(a: &[u8], b: &[u8]) -> (Vec<u8>, u32) {
    let mut out = vec![0u8; a.len() + b.len() + 2 * MAX_ENTRY_BYTES];
    let (mut pa, mut pb) = (0, 0);
    let (mut ia, mut ca) = next_entry(a, &mut pa, NONE, 0);
    let (mut ib, mut cb) = next_entry(b, &mut pb, NONE, 0);
    let (mut len, mut prev, mut prev_count, mut entries) = (0, NONE, 0u64, 0u32);
    while ia != END || ib != END {
        let index = ia.min(ib);
        let mut c = 0u64;
        if ia == index {
            c = c.saturating_add(ca);
            (ia, ca) = next_entry(a, &mut pa, ia, ca);
        }
        if ib == index {
            c = c.saturating_add(cb);
            (ib, cb) = next_entry(b, &mut pb, ib, cb);
        }
        if len + MAX_ENTRY_BYTES + 4 > out.len() {
            out.resize(out.len() * 2, 0);
        }
        let gap = index.wrapping_sub(prev).wrapping_sub(1);
        len = put_entry(&mut out, len, gap, c, prev_count);
        (prev, prev_count) = (index, c);
        entries += 1;
    }
    out.truncate(len);
    out.shrink_to_fit();
    (out, entries)
}

/// The index before the first entry (-1, wrapping).
const NONE: u64 = u64::MAX;
/// The index of an exhausted list.
const END: u64 = u64::MAX - 1;

/// The entry of `buf` at `*pos` (trusted, self-written encoding), after the
/// one with index `prev` and count `prev_count`: (index, count), or (END, 0)
/// at the end.
#[inline(always)]
fn next_entry(buf: &[u8], pos: &mut usize, prev: u64, prev_count: u64) -> (u64, u64) {
    match read_entry(buf, pos, prev_count) {
        Some((step, count)) => (prev.wrapping_add(step).min(END - 1), count),
        None => (END, 0),
    }
}

pub const PIECE_SIZE: usize = size_of::<Piece>();

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(pairs: &[(usize, u64)]) -> Vec<u8> {
        let mut w = SparseWriter::new();
        for &(i, c) in pairs {
            w.push(i, c);
        }
        w.buf
    }

    #[test]
    fn varints() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut b = vec![];
            write_varint(&mut b, v);
            let mut p = 0;
            assert_eq!(read_varint(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
        }
        let mut p = 0;
        assert_eq!(read_varint(&[0x80, 0x80], &mut p), None);
        let mut p = 0;
        assert_eq!(read_varint(&[0xff; 11], &mut p), None);
        // 10th byte may only carry the top bit
        let mut p = 0;
        assert_eq!(
            read_varint(
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
                &mut p
            ),
            None
        );
    }

    #[test]
    fn encoding_matches_the_documented_form() {
        // indices 0, 1 adjacent: count << 1; 5 (3 after 1): (3 - 1) << 1 | 1
        // then 1; 300 (294 after 5): 293 << 1 | 1 = 587 = [0xcb, 0x04], then
        // 200 = [0xc8, 0x01]; 301 adjacent after a count >= 64: the zigzag of
        // 64 - 200 = -136 is 271, << 1 = 542 = [0x9e, 0x04]; 302 after 64:
        // zigzag of 70 - 64 is 12, << 1 = 24; 303 after 70: 2^50 - 70, zigzag
        // 2^51 - 140, << 1 = 2^52 - 280 (eight bytes); 304 after 2^50: the
        // count itself, 7 << 1 = 14
        let entries = [
            (0, 1),
            (1, 2),
            (5, 1),
            (300, 200),
            (301, 64),
            (302, 70),
            (303, 1 << 50),
            (304, 7),
        ];
        let mut want = vec![2, 4, 5, 1, 0xcb, 0x04, 0xc8, 0x01, 0x9e, 0x04, 24];
        let mut v: u64 = (1 << 52) - 280;
        while v >= 0x80 {
            want.push((v as u8) | 0x80);
            v >>= 7;
        }
        want.extend([v as u8, 14]);
        assert_eq!(enc(&entries), want);
        let back: Vec<_> = SparseIter::new(&enc(&entries)).collect();
        assert_eq!(back, entries.to_vec());
    }

    #[test]
    fn u8_pages_encode_like_push() {
        let mut page = [0u8; 128];
        for (i, c) in page.iter_mut().enumerate() {
            *c = match i {
                0..=7 => 1 + i as u8,     // dense word
                8..=15 => 120 + i as u8,  // dense but >= 128 from 8
                16..=23 => (i % 2) as u8, // sparse
                40..=47 => 9,             // dense after a gap of 16
                48..=55 => 5,             // dense, adjacent
                56..=63 => i as u8,       // dense, some counts >= 64
                96..=103 => 63,           // dense after a gap of 16 (from 79)
                64..=71 => 255,           // two-byte counts
                72..=79 => 1,             // dense, adjacent
                _ => 0,
            };
        }
        for base in [0usize, 128, 200_000] {
            let mut a = SparseWriter::new();
            a.push(3, 1); // a previous entry
            let mut b = SparseWriter::new();
            b.push(3, 1);
            a.push_page(base + 128, &page, &mut PageScratch::default());
            for (i, &c) in page.iter().enumerate() {
                if c != 0 {
                    b.push(base + 128 + i, c as u64);
                }
            }
            assert_eq!(a.buf, b.buf);
            assert_eq!((a.entries, a.total, a.prev), (b.entries, b.total, b.prev));
            // with carries in some words
            let mut hi = [0u64; 128];
            hi[1] = 2;
            hi[30] = 1;
            hi[127] = u64::MAX >> 8;
            let mut a = SparseWriter::new();
            let any = (0..128)
                .filter(|&o| hi[o] != 0)
                .fold(0u128, |m, o| m | 1 << o);
            a.push_page_with_carries(base, &page, &hi, any, &mut PageScratch::default());
            let mut b = SparseWriter::new();
            for (i, (&l, &h)) in page.iter().zip(&hi).enumerate() {
                if l != 0 || h != 0 {
                    b.push(base + i, (h << 8) + l as u64);
                }
            }
            assert_eq!(a.buf, b.buf);
            assert_eq!((a.entries, a.total, a.prev), (b.entries, b.total, b.prev));
        }
    }

    #[test]
    fn dense_words_encode_like_push_at_every_gap() {
        // a previous entry at 127 - gap, then eight counts from 128: the dense
        // path takes gaps up to 64 and counts up to 63
        for gap in 0..=127usize {
            for (count, before) in [(1u8, 1u64), (63, 1), (64, 1), (5, 63), (5, 64), (63, 1000)] {
                let mut page = [0u8; 128];
                page[..8].fill(count);
                let mut a = SparseWriter::new();
                let mut b = SparseWriter::new();
                a.push(127 - gap, before);
                b.push(127 - gap, before);
                a.push_page(128, &page, &mut PageScratch::default());
                for i in 0..8 {
                    b.push(128 + i, count as u64);
                }
                assert_eq!(a.buf, b.buf, "gap {gap} count {count} after {before}");
                assert_eq!((a.entries, a.total, a.prev), (b.entries, b.total, b.prev));
                let back: Vec<_> = SparseIter::new(&a.buf).collect();
                assert_eq!(back.len(), 9);
                assert_eq!(
                    back[1..],
                    (128..136).map(|i| (i, count as u64)).collect::<Vec<_>>()[..]
                );
            }
        }
    }

    /// Merges of random lists, with counts from 1 to 2^52, equal the sum
    /// of their entries; lists whose merge takes more bytes than both
    /// (small deltas that become large) grow the buffer.
    #[test]
    fn random_merges_sum_their_entries() {
        use std::collections::BTreeMap;
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for round in 0..300 {
            let mut lists: [BTreeMap<usize, u64>; 2] = Default::default();
            for list in lists.iter_mut() {
                let mut i = rnd(5) as usize;
                for _ in 0..rnd(400) {
                    let c = match rnd(4) {
                        0 => 1 + rnd(63),
                        1 => 60 + rnd(10),
                        2 => 1 + rnd(100_000),
                        _ => 1 + rnd(1 << 52),
                    };
                    list.insert(i, c);
                    i += 1 + if rnd(3) == 0 { rnd(200) as usize } else { 0 };
                }
            }
            let encoded = lists
                .clone()
                .map(|l| enc(&l.into_iter().collect::<Vec<_>>()));
            let (m, n) = merge_bytes(&encoded[0], &encoded[1]);
            let mut want = lists[0].clone();
            for (&i, &c) in &lists[1] {
                *want.entry(i).or_default() += c;
            }
            assert_eq!(n as usize, want.len(), "round {round}");
            assert_eq!(
                SparseIter::new(&m).collect::<BTreeMap<_, _>>(),
                want,
                "round {round}"
            );
            assert_eq!(
                m,
                enc(&want.into_iter().collect::<Vec<_>>()),
                "round {round}"
            );
        }
        // a run of equal counts (one-byte deltas) merged with huge counts at
        // every other index: every merged delta is huge, longer than both
        // inputs together
        let a: Vec<(usize, u64)> = (0..200).map(|i| (i, 1000)).collect();
        let b: Vec<(usize, u64)> = (0..100).map(|i| (2 * i, 1 << 40)).collect();
        let (ea, eb) = (enc(&a), enc(&b));
        let (m, _) = merge_bytes(&ea, &eb);
        assert!(
            m.len() > ea.len() + eb.len(),
            "{} vs {} + {}",
            m.len(),
            ea.len(),
            eb.len()
        );
        let sum: Vec<(usize, u64)> = a
            .iter()
            .map(|&(i, x)| (i, x + if i % 2 == 0 { 1 << 40 } else { 0 }))
            .collect();
        assert_eq!(SparseIter::new(&m).collect::<Vec<_>>(), sum);
    }

    #[test]
    fn merges() {
        let a = enc(&[(1, 1), (4, 2), (9, 3)]);
        let b = enc(&[(0, 5), (4, 1), (10, 1)]);
        let (m, n) = merge_bytes(&a, &b);
        assert_eq!(n, 5);
        assert_eq!(
            SparseIter::new(&m).collect::<Vec<_>>(),
            vec![(0, 5), (1, 1), (4, 3), (9, 3), (10, 1)]
        );
        let mut p = Piece {
            index: 3,
            count: 6,
            errors: 1,
            entries: 3,
            bytes: a,
        };
        p.merge_from(&Piece {
            index: 9,
            count: 7,
            errors: 2,
            entries: 3,
            bytes: b,
        });
        assert_eq!((p.index, p.count, p.errors, p.entries), (3, 13, 3, 5));
        assert_eq!(p.bytes, m);
    }
}
