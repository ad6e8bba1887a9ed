//! Writer and reader of the binary snapshot format, version 2
//! (docs/internals.md, "Snapshot format").

use crate::hdr_math::{HdrMath, MAX_SAFE};
use crate::packed::Entries;
use crate::sparse::{read_entry, SparseIter};

pub const MAGIC: u32 = 0x3153_4d53; // "SMS1"
pub const VERSION: u16 = 2;
pub const WINDOW_COUNT: u8 = 4;
pub const HEADER_LEN: usize = 32;

pub const MASK_LIFETIME: u8 = 1;
pub const MASK_1M: u8 = 1 << 1;
pub const MASK_5M: u8 = 1 << 2;
pub const MASK_15M: u8 = 1 << 3;
pub const MASK_1H: u8 = 1 << 4;
/// Window bits in window order (1m, 5m, 15m, 1h).
pub const WINDOW_MASKS: [u8; 4] = [MASK_1M, MASK_5M, MASK_15M, MASK_1H];

/// Bytes of a series record's header.
pub const SERIES_HEADER_LEN: usize = 32;
/// Bytes of an item's header (before its entries).
pub const ITEM_HEADER_LEN: usize = 25;

/// Writes a snapshot into a buffer whose exact size was computed beforehand
/// (header, then `series` and `item` calls in order).
pub struct SnapshotWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SnapshotWriter<'a> {
    /// Writes the header.
    pub fn new(
        buf: &'a mut [u8],
        digits: u8,
        highest: u64,
        now_ms: f64,
        series_count: u32,
    ) -> Self {
        let mut w = SnapshotWriter { buf, pos: 0 };
        w.put(&MAGIC.to_le_bytes());
        w.put(&VERSION.to_le_bytes());
        w.put(&[digits, WINDOW_COUNT]);
        w.put(&(highest as f64).to_le_bytes());
        w.put(&now_ms.to_le_bytes());
        w.put(&series_count.to_le_bytes());
        w.put(&0u32.to_le_bytes()); // reserved
        w
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
    }

    /// A series record's header; its `item_count` items follow.
    pub fn series(&mut self, id: u32, item_count: u32, sum: f64, min: f64, max: f64) {
        self.put(&id.to_le_bytes());
        self.put(&item_count.to_le_bytes());
        self.put(&sum.to_le_bytes());
        self.put(&min.to_le_bytes());
        self.put(&max.to_le_bytes());
    }

    /// An item with its encoded entries.
    pub fn item(&mut self, mask: u8, count: u64, errors: u64, entries: u32, bytes: &[u8]) {
        self.item_header(mask, count, errors, entries, bytes.len());
        self.put(bytes);
    }

    fn item_header(&mut self, mask: u8, count: u64, errors: u64, entries: u32, len: usize) {
        self.put(&[mask]);
        self.put(&(count as f64).to_le_bytes());
        self.put(&(errors as f64).to_le_bytes());
        self.put(&entries.to_le_bytes());
        self.put(&(len as u32).to_le_bytes());
    }

    /// An item from a piece (inflated into place if it is kept deflated).
    pub fn piece(&mut self, mask: u8, p: &dyn Entries) {
        let len = p.entries_len();
        let (count, errors, entries) = p.totals();
        self.item_header(mask, count, errors, entries, len);
        let end = self.pos + len;
        p.write_entries(&mut self.buf[self.pos..end]);
        self.pos = end;
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

/// A parsed, validated snapshot. Its items' entries stay encoded in the
/// buffer it borrows: decoded up front they took 16 bytes per entry, 8 times
/// the snapshot, for all series at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<'a> {
    pub digits: u8,
    pub highest: u64,
    pub now_ms: f64,
    pub series: Vec<SeriesRecord<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRecord<'a> {
    pub id: u32,
    pub sum_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    pub items: Vec<Item<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item<'a> {
    pub mask: u8,
    pub count: u64,
    pub errors: u64,
    pub entry_count: u32,
    /// The encoded entries: indices ascending and below countsLen, counts > 0
    /// summing to `count` (checked by `parse`, or by `decode` when parsed
    /// with `parse_deferring_entries`).
    pub bytes: &'a [u8],
    /// Where `bytes` start in the snapshot (for error offsets).
    pub at: usize,
}

impl<'a> Item<'a> {
    /// The entries: ascending (index, count), counts > 0.
    pub fn entries(&self) -> SparseIter<'a> {
        SparseIter::new(self.bytes)
    }

    /// The entries, collected.
    pub fn entry_vec(&self) -> Vec<(u32, u64)> {
        self.entries().map(|(i, c)| (i as u32, c)).collect()
    }

    /// Visits every entry, checking it: an error names the first bad one
    /// (a bad varint, an index at or beyond `counts_len`, a count of 0), or
    /// bytes left over, or counts that do not sum to the item's count.
    pub fn decode(
        &self,
        counts_len: u64,
        mut visit: impl FnMut(u32, u64),
    ) -> Result<(), SnapshotError> {
        let bad = |offset: usize, what: String| Err(SnapshotError { offset, what });
        let body = self.bytes;
        let mut pos = 0usize;
        let mut prev: i64 = -1;
        let mut prev_count: u64 = 0;
        let mut total: u64 = 0;
        for _ in 0..self.entry_count {
            let at = self.at + pos;
            let Some((step, c)) = read_entry(body, &mut pos, prev_count) else {
                return bad(at, "bad or truncated entry varint".into());
            };
            let index = ((prev + 1) as u64).saturating_add(step - 1);
            if index >= counts_len {
                return bad(at, format!("entry index {index} >= countsLen {counts_len}"));
            }
            if c == 0 {
                return bad(at, "entry count 0 (or a delta to none)".into());
            }
            total = match total.checked_add(c) {
                Some(t) => t,
                None => return bad(at, "entry counts overflow".into()),
            };
            visit(index as u32, c);
            (prev, prev_count) = (index as i64, c);
        }
        if pos != body.len() {
            return bad(
                self.at + pos,
                format!("entries end at {pos}, byteLength is {}", body.len()),
            );
        }
        if total != self.count {
            // the item's count field: 24 bytes before its entries
            return bad(
                self.at - 24,
                format!("item count {} but entries sum to {total}", self.count),
            );
        }
        Ok(())
    }
}

/// Error naming what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotError {
    pub offset: usize,
    pub what: String,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "spanmeter: bad snapshot: {} at byte {}",
            self.what, self.offset
        )
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err<T>(&self, at: usize, what: impl Into<String>) -> Result<T, SnapshotError> {
        Err(SnapshotError {
            offset: at,
            what: what.into(),
        })
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], SnapshotError> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(s)
            }
            _ => self.err(
                self.pos,
                format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.buf.len() - self.pos
                ),
            ),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, SnapshotError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, SnapshotError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, SnapshotError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self, what: &str) -> Result<f64, SnapshotError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A non-negative integral f64 <= 2^53 - 1.
    fn count(&mut self, what: &str) -> Result<u64, SnapshotError> {
        let at = self.pos;
        let v = self.f64(what)?;
        if !(v >= 0.0 && v <= MAX_SAFE as f64 && v.fract() == 0.0) {
            return self.err(at, format!("{what} {v} is not a count"));
        }
        Ok(v as u64)
    }
}

/// Parses and validates a snapshot, every entry included.
pub fn parse(buf: &[u8]) -> Result<Snapshot<'_>, SnapshotError> {
    parse_checking(buf, true)
}

/// Parses and validates a snapshot but its entries, which `Item::decode`
/// checks as it reads them (`summarize` does): one pass over them, not two.
pub fn parse_deferring_entries(buf: &[u8]) -> Result<Snapshot<'_>, SnapshotError> {
    parse_checking(buf, false)
}

fn parse_checking(buf: &[u8], check_entries: bool) -> Result<Snapshot<'_>, SnapshotError> {
    let mut r = Reader { buf, pos: 0 };
    let magic = r.u32("header")?;
    if magic != MAGIC {
        return r.err(0, format!("magic 0x{magic:08x} is not 0x{MAGIC:08x}"));
    }
    let version = r.u16("version")?;
    if version != VERSION {
        return r.err(4, format!("unsupported version {version}"));
    }
    let digits = r.u8("significantDigits")?;
    if !(1..=5).contains(&digits) {
        return r.err(6, format!("significantDigits {digits} not in 1..=5"));
    }
    let windows = r.u8("windowCount")?;
    if windows != WINDOW_COUNT {
        return r.err(7, format!("windowCount {windows} is not 4"));
    }
    let highest = r.f64("highestTrackableUs")?;
    if !(highest >= 2.0 && highest <= MAX_SAFE as f64 && highest.fract() == 0.0) {
        return r.err(
            8,
            format!("highestTrackableUs {highest} is not an integer in 2..=2^53-1"),
        );
    }
    let highest = highest as u64;
    let now_ms = r.f64("nowMs")?;
    let series_count = r.u32("seriesCount")?;
    let _reserved = r.u32("reserved")?;
    let math = HdrMath::new(digits, highest).map_err(|e| SnapshotError { offset: 6, what: e })?;
    let counts_len = math.counts_len() as u64;

    // every series record takes at least 32 bytes: do not trust seriesCount for allocation
    let mut series = Vec::with_capacity((series_count as usize).min(buf.len() / 32));
    for _ in 0..series_count {
        let id = r.u32("series id")?;
        let item_count = r.u32("itemCount")?;
        let sum_us = r.f64("sumUs")?;
        let min_us = r.f64("minUs")?;
        let max_us = r.f64("maxUs")?;
        let mut items = Vec::with_capacity((item_count as usize).min(64));
        for _ in 0..item_count {
            let item_at = r.pos;
            let mask = r.u8("windowMask")?;
            if mask == 0 || mask > 0x1f {
                return r.err(item_at, format!("windowMask 0x{mask:02x} invalid"));
            }
            let count = r.count("item count")?;
            let errors = r.count("item errors")?;
            let entry_count = r.u32("entryCount")?;
            let len_at = r.pos;
            let byte_len = r.u32("byteLength")? as usize;
            let body_at = r.pos;
            let body = r.take(byte_len, "entries")?;
            if entry_count as usize > byte_len {
                return r.err(
                    len_at,
                    format!("{entry_count} entries cannot fit in {byte_len} bytes"),
                );
            }
            let item = Item {
                mask,
                count,
                errors,
                entry_count,
                bytes: body,
                at: body_at,
            };
            if check_entries {
                item.decode(counts_len, |_, _| {})?;
            }
            items.push(item);
        }
        series.push(SeriesRecord {
            id,
            sum_us,
            min_us,
            max_us,
            items,
        });
    }
    if r.pos != buf.len() {
        return r.err(r.pos, format!("{} trailing bytes", buf.len() - r.pos));
    }
    Ok(Snapshot {
        digits,
        highest,
        now_ms,
        series,
    })
}
