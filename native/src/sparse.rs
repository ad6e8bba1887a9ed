//! Sparse sorted `(index, count)` lists, stored in the snapshot's entry
//! encoding: unsigned LEB128 pairs `(index - previousIndex - 1, count)`,
//! previousIndex starting at -1, counts > 0, indices ascending.

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
        write_varint(&mut self.buf, (index as i64 - self.prev - 1) as u64);
        write_varint(&mut self.buf, count);
        self.prev = index as i64;
        self.entries += 1;
        self.total = self.total.saturating_add(count);
    }
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
        let d = read_varint(self.buf, &mut self.pos)?;
        let c = read_varint(self.buf, &mut self.pos)?;
        self.prev = self.prev.saturating_add(d as i64).saturating_add(1);
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
/// encoding, with no spare capacity, and its entry count.
pub fn merge_bytes(a: &[u8], b: &[u8]) -> (Vec<u8>, u32) {
    let mut w = SparseWriter::with_capacity(a.len() + b.len());
    let mut ia = SparseIter::new(a);
    let mut ib = SparseIter::new(b);
    let mut x = ia.next();
    let mut y = ib.next();
    loop {
        match (x, y) {
            (Some((i, c)), Some((j, d))) => {
                if i < j {
                    w.push(i, c);
                    x = ia.next();
                } else if j < i {
                    w.push(j, d);
                    y = ib.next();
                } else {
                    w.push(i, c.saturating_add(d));
                    x = ia.next();
                    y = ib.next();
                }
            }
            (Some((i, c)), None) => {
                w.push(i, c);
                x = ia.next();
            }
            (None, Some((j, d))) => {
                w.push(j, d);
                y = ib.next();
            }
            (None, None) => break,
        }
    }
    w.buf.shrink_to_fit();
    (w.buf, w.entries)
}

/// Merges ascending (index, count) lists held in plain vectors.
pub fn merge_pairs(acc: &[(u32, u64)], add: &[(u32, u64)]) -> Vec<(u32, u64)> {
    let mut out = Vec::with_capacity(acc.len() + add.len());
    let (mut i, mut j) = (0, 0);
    while i < acc.len() && j < add.len() {
        let (a, b) = (acc[i], add[j]);
        if a.0 < b.0 {
            out.push(a);
            i += 1;
        } else if b.0 < a.0 {
            out.push(b);
            j += 1;
        } else {
            out.push((a.0, a.1.saturating_add(b.1)));
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&acc[i..]);
    out.extend_from_slice(&add[j..]);
    out
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
        // indices 0, 1, 5, 300 -> deltas 0, 0, 3, 294
        assert_eq!(
            enc(&[(0, 1), (1, 2), (5, 1), (300, 200)]),
            vec![0, 1, 0, 2, 3, 1, 0xa6, 0x02, 0xc8, 0x01]
        );
        let v: Vec<_> = SparseIter::new(&enc(&[(0, 1), (1, 2), (5, 1), (300, 200)])).collect();
        assert_eq!(v, vec![(0, 1), (1, 2), (5, 1), (300, 200)]);
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
        assert_eq!(
            merge_pairs(&[(1, 1), (3, 1)], &[(0, 2), (3, 4), (7, 1)]),
            vec![(0, 2), (1, 1), (3, 5), (7, 1)]
        );
    }
}
