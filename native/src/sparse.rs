//! Sparse sorted `(index, count)` lists, stored in the snapshot's entry
//! encoding (version 2): indices ascending, counts > 0, `previous` the
//! previous entry's index (-1 before the first). An entry at `previous + 1`
//! is one unsigned LEB128 varint `count << 1`; any other entry is the varint
//! `((index - previous - 2) << 1) | 1`, then the varint `count`.
//!
//! Why: a busy histogram is mostly runs of adjacent buckets with small
//! counts, so most entries take one byte instead of the two of an
//! `(indexDelta, count)` pair (38% less memory per busy series).

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
}

impl SparseWriter {
    pub fn new() -> Self {
        SparseWriter {
            buf: Vec::new(),
            entries: 0,
            total: 0,
            prev: -1,
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
        }
    }

    /// Appends an entry; `index` must be above the previous one, `count` > 0.
    #[inline]
    pub fn push(&mut self, index: usize, count: u64) {
        debug_assert!(index as i64 > self.prev && count > 0);
        let gap = (index as i64 - self.prev - 1) as u64;
        let mut entry = [0u8; MAX_ENTRY_BYTES + 4];
        let len = put_entry(&mut entry, 0, gap, count);
        self.buf
            .extend_from_slice(&entry[..len.min(MAX_ENTRY_BYTES)]);
        self.prev = index as i64;
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
        let mut prev = self.prev;
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
            // 64 past the previous one: the last seven entries are one byte
            // each, `count << 1` (each byte doubled: no bit crosses a byte)
            if word.wrapping_sub(LOW) & !word & HIGH == 0 && word & TOP2 == 0 && gap <= 0x40 {
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
                prev = index;
                entries += 1;
                total += c;
                len = put_entry(out, len, gap, c);
            }
        }
        self.append_page(&out[..len.min(out.len())], prev, entries, total);
    }

    /// Appends a page's encoded entries and their totals.
    fn append_page(&mut self, encoded: &[u8], prev: i64, entries: u32, total: u64) {
        self.buf.extend_from_slice(encoded);
        self.prev = prev;
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
        let (mut len, mut prev, mut entries, mut total) = (0, self.prev, 0u32, 0u64);
        for half in 0..2 {
            let mut bits = (mask >> (64 * half)) as u64;
            while bits != 0 {
                let o = (64 * half + bits.trailing_zeros() as usize) & 127;
                bits &= bits - 1;
                let c = (carries[o].into() << 8) + lo[o] as u64;
                let index = (base + o) as i64;
                len = put_entry(out, len, (index - prev - 1) as u64, c);
                prev = index;
                entries += 1;
                total = total.saturating_add(c);
            }
        }
        self.append_page(&out[..len.min(out.len())], prev, entries, total);
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

/// Writes the entry with `gap` indices between it and the previous one and
/// `count` at `out[at..]`, returns its end (writes nothing past the end of
/// `out`). An adjacent entry with a count below 8192 (almost every entry)
/// takes one 2-byte store. Counts are below 2^63 (a valid snapshot's are
/// below 2^53); larger ones are written as 2^63 - 1.
#[inline(always)]
fn put_entry(out: &mut [u8], at: usize, gap: u64, count: u64) -> usize {
    let count = count.min(u64::MAX >> 1);
    if gap == 0 {
        if count < 0x2000 {
            // v = count << 1 < 2^14: [v] or [(v & 0x7f) | 0x80, v >> 7]
            let v = (count << 1) as u16;
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
        return put_varint(out, at, count << 1);
    }
    let at = put_varint(out, at, ((gap - 1) << 1) | 1);
    put_varint(out, at, count)
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
}

impl<'a> SparseIter<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        SparseIter {
            buf,
            pos: 0,
            prev: -1,
        }
    }
}

impl Iterator for SparseIter<'_> {
    type Item = (usize, u64);
    #[inline]
    fn next(&mut self) -> Option<(usize, u64)> {
        let v = read_varint(self.buf, &mut self.pos)?;
        let (step, c) = if v & 1 == 0 {
            (1, v >> 1)
        } else {
            (
                (v >> 1).saturating_add(2),
                read_varint(self.buf, &mut self.pos)?,
            )
        };
        self.prev = self.prev.saturating_add(step.min(i64::MAX as u64) as i64);
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
/// encoding, with no spare capacity, and its entry count. The result is no
/// longer than both inputs together: merging only shortens deltas, and two
/// entries with one index become one.
pub fn merge_bytes(a: &[u8], b: &[u8]) -> (Vec<u8>, u32) {
    let mut out = vec![0u8; a.len() + b.len() + 16];
    let (mut pa, mut pb) = (0, 0);
    let (mut ia, mut ca) = next_entry(a, &mut pa, NONE);
    let (mut ib, mut cb) = next_entry(b, &mut pb, NONE);
    let (mut len, mut prev, mut entries) = (0, NONE, 0u32);
    while ia != END || ib != END {
        let index = ia.min(ib);
        let mut c = 0u64;
        if ia == index {
            c = c.saturating_add(ca);
            (ia, ca) = next_entry(a, &mut pa, ia);
        }
        if ib == index {
            c = c.saturating_add(cb);
            (ib, cb) = next_entry(b, &mut pb, ib);
        }
        len = put_entry(&mut out, len, index.wrapping_sub(prev).wrapping_sub(1), c);
        prev = index;
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
/// one with index `prev`: (index, count), or (END, 0) at the end.
#[inline(always)]
fn next_entry(buf: &[u8], pos: &mut usize, prev: u64) -> (u64, u64) {
    let Some(v) = read_varint(buf, pos) else {
        return (END, 0);
    };
    if v & 1 == 0 {
        return (prev.wrapping_add(1).min(END - 1), v >> 1);
    }
    match read_varint(buf, pos) {
        Some(count) => (
            prev.wrapping_add(2).wrapping_add(v >> 1).min(END - 1),
            count,
        ),
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
        // 200 = [0xc8, 0x01]; 301 adjacent, 64 << 1 = 128 = [0x80, 0x01]
        assert_eq!(
            enc(&[(0, 1), (1, 2), (5, 1), (300, 200), (301, 64)]),
            vec![2, 4, 5, 1, 0xcb, 0x04, 0xc8, 0x01, 0x80, 0x01]
        );
        let v: Vec<_> =
            SparseIter::new(&enc(&[(0, 1), (1, 2), (5, 1), (300, 200), (301, 64)])).collect();
        assert_eq!(v, vec![(0, 1), (1, 2), (5, 1), (300, 200), (301, 64)]);
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
            for count in [1u8, 63, 64] {
                let mut page = [0u8; 128];
                page[..8].fill(count);
                let mut a = SparseWriter::new();
                let mut b = SparseWriter::new();
                a.push(127 - gap, 1);
                b.push(127 - gap, 1);
                a.push_page(128, &page, &mut PageScratch::default());
                for i in 0..8 {
                    b.push(128 + i, count as u64);
                }
                assert_eq!(a.buf, b.buf, "gap {gap} count {count}");
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
