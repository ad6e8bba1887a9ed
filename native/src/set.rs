//! The histogram set: series addressed by dense u32 ids, batch recording and
//! snapshots.

use std::mem::size_of;

use crate::hdr_math::{round_small, round_value, HdrMath, Rounded};
use crate::series::{sanitize_now, slice_index, slice_indices, Series};
use crate::snapshot::SnapshotWriter;

pub const MAX_SERIES: u32 = 1 << 20;

/// Values per recording chunk (pass 1 then pass 2).
const CHUNK: usize = 4096;

pub struct HistogramSet {
    math: HdrMath,
    series: Vec<Option<Box<Series>>>,
    /// pass-2 work: (series id << 32) | counts index
    pending: Vec<u64>,
    /// Recording chunk counter: a series whose `epoch` differs is prepared
    /// (advanced, spilled if needed) at its first value of the chunk.
    epoch: u64,
    live: u32,
    invalid: u64,
    clamped: u64,
}

impl HistogramSet {
    pub fn new(math: HdrMath) -> Self {
        HistogramSet {
            math,
            series: Vec::new(),
            pending: Vec::new(),
            epoch: 0,
            live: 0,
            invalid: 0,
            clamped: 0,
        }
    }

    pub fn math(&self) -> &HdrMath {
        &self.math
    }

    /// Records `min(len, ids, values, flags)` values at `now_ms`.
    ///
    /// Two passes per chunk of values: pass 1 validates, rotates and updates
    /// the totals; pass 2 only increments counters, a loop short enough for
    /// the CPU to overlap many of their cache misses. A series is
    /// advanced (and its u32 counters spilled if the chunk could make one
    /// wrap) at its first value of a chunk, before any of its increments of
    /// that chunk: all values of a batch share `now_ms`.
    pub fn record(&mut self, ids: &[u32], values: &[f64], flags: &[u8], len: usize, now_ms: f64) {
        let n = len.min(ids.len()).min(values.len()).min(flags.len());
        let n0 = slice_index(now_ms);
        let mut start = 0;
        while start < n {
            let end = (start + CHUNK).min(n);
            self.pass1(
                &ids[start..end],
                &values[start..end],
                &flags[start..end],
                n0,
            );
            self.pass2();
            start = end;
        }
    }

    fn pass1(&mut self, ids: &[u32], values: &[f64], flags: &[u8], n0: i64) {
        // size the series table once per chunk, so that the loop below works
        // on a plain slice (pointer and length stay in registers)
        if let Some(&max_id) = ids.iter().filter(|&&id| id < MAX_SERIES).max() {
            if self.series.len() <= max_id as usize {
                self.series.resize_with(max_id as usize + 1, || None);
            }
        }
        let math = self.math;
        let highest = math.highest;
        let mut invalid = 0u64;
        let mut clamped = 0u64;
        let mut live = 0u32;
        self.epoch += 1;
        let epoch = self.epoch;
        let chunk_len = ids.len() as u64;
        let mut pending = std::mem::take(&mut self.pending);
        pending.clear();
        pending.reserve(ids.len());
        let table: &mut [Option<Box<Series>>] = &mut self.series;
        for ((&id, &v), &f) in ids.iter().zip(values).zip(flags) {
            let r = match round_small(v) {
                Some(r) if id < MAX_SERIES => {
                    if r > highest {
                        clamped += 1;
                        highest
                    } else {
                        r
                    }
                }
                _ => match round_value(v, highest) {
                    _ if id >= MAX_SERIES => {
                        invalid += 1;
                        continue;
                    }
                    Rounded::Ok(r) => r,
                    Rounded::Clamped(r) => {
                        clamped += 1;
                        r
                    }
                    Rounded::Invalid => {
                        invalid += 1;
                        continue;
                    }
                },
            };
            let Some(slot) = table.get_mut(id as usize) else {
                continue;
            };
            let s = match slot {
                Some(s) => s,
                None => {
                    live += 1;
                    slot.insert(Box::new(Series::new(n0)))
                }
            };
            if s.epoch != epoch {
                s.epoch = epoch;
                if s.cur.index < n0 {
                    s.advance(n0);
                }
                s.prepare(chunk_len);
            }
            let idx = math.index(r);
            s.note(r, (f & 1) as u64);
            pending.push(((id as u64) << 32) | idx as u64);
        }
        self.pending = pending;
        self.invalid += invalid;
        self.clamped += clamped;
        self.live += live;
    }

    fn pass2(&mut self) {
        let table: &mut [Option<Box<Series>>] = &mut self.series;
        for &p in &self.pending {
            if let Some(Some(s)) = table.get_mut((p >> 32) as usize) {
                s.incr(p as u32 as usize);
            }
        }
        self.pending.clear();
    }

    /// Advances every series to `now_ms` and writes a v1 snapshot.
    pub fn snapshot(&mut self, now_ms: f64) -> Vec<u8> {
        let now = sanitize_now(now_ms);
        let n = slice_indices(now);
        let mut w = SnapshotWriter::new(self.math.digits, self.math.highest, now);
        for (id, s) in self.series.iter_mut().enumerate() {
            let Some(s) = s else { continue };
            if s.count() > 0 {
                s.advance(n[0]);
                s.write_snapshot(id as u32, &n, &mut w);
            }
        }
        w.finish()
    }

    pub fn reset(&mut self) {
        self.series = Vec::new();
        self.pending = Vec::new();
        self.live = 0;
        self.invalid = 0;
        self.clamped = 0;
    }

    pub fn series_count(&self) -> u32 {
        self.live
    }

    pub fn invalid_count(&self) -> u64 {
        self.invalid
    }

    pub fn clamped_count(&self) -> u64 {
        self.clamped
    }

    pub fn series(&self, id: u32) -> Option<&Series> {
        self.series.get(id as usize).and_then(|s| s.as_deref())
    }

    /// Heap bytes owned: the series table, the pass-2 buffer and every series.
    pub fn heap_bytes(&self) -> usize {
        self.series.capacity() * size_of::<Option<Box<Series>>>()
            + self.pending.capacity() * size_of::<u64>()
            + self
                .series
                .iter()
                .flatten()
                .map(|s| s.heap_bytes())
                .sum::<usize>()
    }
}
