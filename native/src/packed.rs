//! Sealed pieces (ring entries, accumulators and the sealed lifetime), kept
//! deflated.
//!
//! A piece in a ring is never merged again: it is only copied into snapshots
//! and dropped when its window has passed. So its entries can stay
//! compressed until a snapshot needs them. Raw deflate at the fastest level
//! halves a busy series' 10 s slices (the entries are mostly one-byte
//! "adjacent, count 1" runs and short gaps, which Huffman coding packs) and
//! takes a quarter to a third off the longer levels. The cost lands on the
//! sealer thread (deflate, once per piece) and on whoever writes a snapshot
//! (inflate, straight into the snapshot's buffer); the snapshot's bytes are
//! the same as before.
//!
//! Accumulators and the sealed lifetime are merged into (acc1 once per 10 s
//! slice, the lifetime once per 15 minutes), so each merge inflates one,
//! merges and deflates the result: more work on the sealer thread, for the
//! bytes they hold in between.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::sparse::Piece;

thread_local! {
    // a deflate or inflate state takes a few hundred KiB to set up: one per
    // thread that packs (the sealer) or writes snapshots, reset for each piece
    static DEFLATER: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(2), false));
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Pieces shorter than this stay as they are: deflate's block header and
/// code tables would take most of what it saves.
const MIN_PACKED_LEN: usize = 256;

/// What every item of a snapshot is written from: a piece as it is, or one
/// kept deflated.
pub trait Entries {
    /// Count, errors and number of entries.
    fn totals(&self) -> (u64, u64, u32);
    /// Length of the encoded entries.
    fn entries_len(&self) -> usize;
    /// Writes the encoded entries into `out` (exactly `entries_len()` bytes).
    fn write_entries(&self, out: &mut [u8]);
}

impl Entries for Piece {
    fn totals(&self) -> (u64, u64, u32) {
        (self.count, self.errors, self.entries)
    }
    fn entries_len(&self) -> usize {
        self.bytes.len()
    }
    fn write_entries(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.bytes);
    }
}

/// A sealed piece of a ring, its entries deflated when that saves at least
/// an eighth of them.
#[derive(Debug, Default)]
pub struct Packed {
    pub index: i64,
    pub count: u64,
    pub errors: u64,
    pub entries: u32,
    /// Length of the entries inflated.
    raw_len: u32,
    deflated: bool,
    bytes: Box<[u8]>,
}

impl Packed {
    /// Packs a sealed piece (deflating its entries if that pays).
    pub fn pack(piece: Piece) -> Packed {
        Packed::pack_as(piece, true)
    }

    /// `piece`, deflated if `deflate` and that pays, else kept as it is.
    fn pack_as(piece: Piece, deflate: bool) -> Packed {
        let raw_len = piece.bytes.len();
        let deflated = if deflate && raw_len >= MIN_PACKED_LEN {
            deflate_bytes(&piece.bytes, raw_len - raw_len / 8)
        } else {
            None
        };
        Packed {
            index: piece.index,
            count: piece.count,
            errors: piece.errors,
            entries: piece.entries,
            // pieces are far below 4 GiB (a histogram's entries take a few bytes each)
            raw_len: raw_len as u32,
            deflated: deflated.is_some(),
            bytes: deflated.unwrap_or(piece.bytes).into_boxed_slice(),
        }
    }

    /// An empty piece (count 0) at `index`.
    pub fn empty(index: i64) -> Packed {
        Packed {
            index,
            ..Packed::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds `other`'s counts (its index is left unchanged): inflates, merges
    /// and, if `deflate`, deflates again (else keeps the result as it is).
    /// For the accumulators and the sealed lifetime, merged into once per
    /// slice of the level below.
    pub fn merge_from(&mut self, other: &Piece, deflate: bool) {
        let mut piece = self.unpack();
        piece.merge_from(other);
        *self = Packed::pack_as(piece, deflate);
    }

    /// True when the entries are kept deflated.
    pub fn is_deflated(&self) -> bool {
        self.deflated
    }

    /// The piece as it was sealed.
    pub fn unpack(&self) -> Piece {
        let mut bytes = vec![0; self.raw_len as usize];
        self.write_entries(&mut bytes);
        Piece {
            index: self.index,
            count: self.count,
            errors: self.errors,
            entries: self.entries,
            bytes,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }
}

impl Entries for Packed {
    fn totals(&self) -> (u64, u64, u32) {
        (self.count, self.errors, self.entries)
    }
    fn entries_len(&self) -> usize {
        self.raw_len as usize
    }
    /// Panics if the deflated bytes do not inflate to exactly the sealed
    /// length (they are this module's own output: a bug). The snapshot
    /// writers run under `catch_unwind`, so a panic fails that snapshot and
    /// nothing else.
    fn write_entries(&self, out: &mut [u8]) {
        if !self.deflated {
            out.copy_from_slice(&self.bytes);
            return;
        }
        let inflated = INFLATER.with_borrow_mut(|z| {
            z.reset(false);
            let status = z.decompress(&self.bytes, out, FlushDecompress::Finish);
            matches!(status, Ok(Status::StreamEnd)) && z.total_out() == out.len() as u64
        });
        assert!(
            inflated,
            "a packed piece did not inflate to its sealed length"
        );
    }
}

/// `bytes` deflated (raw, level 2), if that takes at most `limit` bytes.
fn deflate_bytes(bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(limit);
    let status = DEFLATER.with_borrow_mut(|z| {
        z.reset();
        z.compress_vec(bytes, &mut out, FlushCompress::Finish)
    });
    match status {
        Ok(Status::StreamEnd) => {
            out.shrink_to_fit();
            Some(out)
        }
        // the output did not fit in `limit`, or deflate failed: keep the entries as they are
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::SparseWriter;

    fn piece(entries: &[(usize, u64)]) -> Piece {
        let mut w = SparseWriter::with_capacity(16);
        for &(i, c) in entries {
            w.push(i, c);
        }
        Piece {
            index: 7,
            count: w.total,
            errors: 3,
            entries: w.entries,
            bytes: w.buf,
        }
    }

    #[test]
    fn a_packed_piece_writes_the_entries_it_was_sealed_with() {
        // a busy slice: runs of adjacent small counts with short gaps
        let mut rng = 12345u64;
        let mut at = 1000;
        let entries: Vec<(usize, u64)> = (0..3000)
            .map(|_| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                at += 1 + ((rng >> 60) as usize % 3);
                (at, 1 + (rng >> 62))
            })
            .collect();
        let p = piece(&entries);
        let packed = Packed::pack(p.clone());
        assert!(packed.is_deflated());
        assert!(
            packed.heap_bytes() <= p.bytes.len() * 7 / 8,
            "{} of {}",
            packed.heap_bytes(),
            p.bytes.len()
        );
        assert_eq!(packed.entries_len(), p.bytes.len());
        let mut out = vec![0xAA; p.bytes.len()];
        packed.write_entries(&mut out);
        assert_eq!(out, p.bytes);
        assert_eq!(packed.unpack(), p);
    }

    #[test]
    fn short_or_incompressible_pieces_stay_as_they_are() {
        let short = piece(&[(5, 1), (9, 300)]);
        let packed = Packed::pack(short.clone());
        assert!(!packed.is_deflated());
        assert_eq!(packed.unpack(), short);
        // counts that look random to deflate
        let mut rng = 99u64;
        let noisy: Vec<(usize, u64)> = (0..2000)
            .map(|i| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (i * 300 + (rng >> 56) as usize, 1 + (rng >> 20))
            })
            .collect();
        let p = piece(&noisy);
        let packed = Packed::pack(p.clone());
        assert!(
            !packed.is_deflated(),
            "{} of {}",
            packed.heap_bytes(),
            p.bytes.len()
        );
        assert_eq!(packed.unpack(), p);
    }

    #[test]
    fn merging_into_a_packed_piece_is_merging_the_pieces() {
        let mut rng = 7u64;
        let mut busy = |start: usize| {
            let mut at = start;
            let entries: Vec<(usize, u64)> = (0..2000)
                .map(|_| {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    at += 1 + ((rng >> 61) as usize);
                    (at, 1 + (rng >> 58))
                })
                .collect();
            piece(&entries)
        };
        let (a, b) = (busy(100), busy(900));
        let mut expected = a.clone();
        expected.merge_from(&b);
        for deflate in [true, false] {
            let mut packed = Packed::pack(a.clone());
            packed.merge_from(&b, deflate);
            assert_eq!(packed.is_deflated(), deflate);
            assert_eq!(packed.unpack(), expected);
        }
        let mut empty = Packed::empty(7);
        empty.merge_from(&a, true);
        assert_eq!(empty.unpack(), a);
    }

    /// Timing, on slices like a busy series' (1,000 spans/s, lognormal
    /// sigma = 1): `cargo test --release --lib packing_cost -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn packing_cost() {
        let math = crate::hdr_math::HdrMath::new(3, 3_600_000_000).unwrap();
        let mut rng = crate::tests::Rng(5);
        for (label, values) in [("10 s", 10_000), ("1 m", 60_000), ("15 m", 900_000)] {
            let mut counts = std::collections::BTreeMap::new();
            for _ in 0..values {
                let v = rng.lognormal(20_000.0, 1.0).round() as u64;
                *counts.entry(math.index(v)).or_insert(0u64) += 1;
            }
            let p = piece(&counts.into_iter().collect::<Vec<_>>());
            let (mut pack_us, mut unpack_us) = (f64::MAX, f64::MAX);
            let mut packed = Packed::default();
            let mut out = vec![0; p.bytes.len()];
            for _ in 0..20 {
                let t0 = std::time::Instant::now();
                packed = Packed::pack(p.clone());
                pack_us = pack_us.min(t0.elapsed().as_secs_f64() * 1e6);
                let t1 = std::time::Instant::now();
                packed.write_entries(&mut out);
                unpack_us = unpack_us.min(t1.elapsed().as_secs_f64() * 1e6);
            }
            assert_eq!(out, p.bytes);
            println!(
                "{label}: {} -> {} bytes, pack {pack_us:.0} us, unpack {unpack_us:.0} us",
                p.bytes.len(),
                packed.heap_bytes()
            );
        }
    }
}
