//! spanmeter native core: HDR histograms with rolling windows, exposed to
//! Node.js through napi-rs. The contract is docs/internals.md.
//!
//! Every exported function runs its body under `catch_unwind`: a bug becomes
//! a JS Error, never an abort.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod hdr_math;
pub mod histogram;
pub mod packed;
pub mod paged;
pub mod pool;
pub mod sealer;
pub mod series;
pub mod set;
pub mod snapshot;
pub mod sparse;
pub mod summary;
pub mod tickets;
pub mod v2;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::hdr_math::validate_options;

/// Runs `f`, turning a panic into an Error.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error::from_reason(format!(
                "spanmeter: internal error: {msg}"
            )))
        }
    }
}

fn js_err(msg: String) -> Error {
    Error::from_reason(msg)
}

/// `len` as given by JS: values with index `i < len` are read (a fractional
/// len reads ceil(len) values; NaN or negative reads none), as a JS loop does.
fn js_len(len: f64) -> usize {
    if len > 0.0 {
        len.ceil().min(usize::MAX as f64) as usize
    } else {
        0
    }
}

/// A new engine-owned (not external) Buffer of `len` bytes, to be filled.
///
/// napi-rs 3 makes engine-owned buffers only as copies (`BufferSlice::copy_from`);
/// writing the snapshot straight into the Buffer saves building it in a Vec
/// first and copying every byte again: a 5.1 MiB snapshot of 100 series after
/// an hour of traffic took 1.5-1.8 ms with the copy, 0.95 ms without.
fn engine_buffer(env: &Env, len: usize) -> Result<BufferSlice<'_>> {
    let mut data = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: a plain N-API call with valid out-pointers.
    let status = unsafe { napi::sys::napi_create_buffer(env.raw(), len, &mut data, &mut value) };
    if status != napi::sys::Status::napi_ok {
        return Err(js_err(format!(
            "spanmeter: cannot allocate a {len}-byte snapshot"
        )));
    }
    // SAFETY: `value` is the Buffer just created; the slice it gives (from
    // napi_get_buffer_info) lives as long as the Buffer, which the returned
    // value keeps reachable for 'env.
    unsafe { BufferSlice::from_napi_value(env.raw(), value) }
}

/// Options of a histogram set.
#[napi(object)]
pub struct HistogramSetOptions {
    /// Significant decimal digits, integer 1..=5 (default on the TS side: 3).
    pub significant_digits: f64,
    /// Highest trackable value in µs, integer 2..=2^53-1 (default on the TS side: 3 600 000 000).
    pub highest_trackable_us: f64,
    /// Seal full slices on the recording thread instead of the set's sealer
    /// thread (default false; for comparisons and single-threaded hosts).
    pub seal_inline: Option<bool>,
}

/// What sealing full slices has cost a set (see `sealingStats`).
#[napi(object)]
pub struct SealingStats {
    pub slices: f64,
    pub ms: f64,
    pub failed: f64,
    /// 'thread' (the set's sealer thread) or 'inline' (the recording thread).
    pub mode: String,
}

/// One rolling window of a series summary (1m, 5m, 15m, 1h in that order).
#[napi(object)]
pub struct WindowSummary {
    pub count: f64,
    pub errors: f64,
    /// One value per requested window percentile.
    pub percentiles_us: Vec<f64>,
}

/// Summary of one series of a snapshot (see docs/internals.md, "Summaries").
#[napi(object)]
pub struct SeriesSummary {
    pub id: u32,
    pub count: f64,
    pub errors: f64,
    pub sum_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    /// One value per requested percentile, over the lifetime histogram.
    pub percentiles_us: Vec<f64>,
    /// V2 compressed (deflate) base64 of the lifetime histogram; '' if not requested.
    pub histogram: String,
    /// 1m, 5m, 15m, 1h.
    pub windows: Vec<WindowSummary>,
}

/// Per-series HDR histograms (lifetime + 1m/5m/15m/1h rolling windows),
/// recorded in batches and read out as binary snapshots.
#[napi]
pub struct NativeHistogramSet {
    inner: set::HistogramSet,
}

#[napi]
impl NativeHistogramSet {
    /// Throws if significantDigits is not an integer in 1..=5 or
    /// highestTrackableUs is not an integer in 2..=2^53-1.
    #[napi(constructor)]
    pub fn new(options: HistogramSetOptions) -> Result<Self> {
        guard(|| {
            let math = validate_options(options.significant_digits, options.highest_trackable_us)
                .map_err(js_err)?;
            Ok(NativeHistogramSet {
                inner: set::HistogramSet::new(math, options.seal_inline.unwrap_or(false)),
            })
        })
    }

    /// Records `min(len, seriesIds.length, durationsUs.length, flags.length)`
    /// values at `nowMs`, one call per batch. Bit 0 of a flag marks an error.
    /// Never throws for bad values: NaN/infinite/negative durations and ids
    /// >= 1 048 576 are counted as invalid, durations above the highest
    /// trackable value are recorded as that value and counted as clamped.
    #[napi]
    pub fn record(
        &mut self,
        series_ids: Uint32ArraySlice<'_>,
        durations_us: Float64ArraySlice<'_>,
        flags: Uint8ArraySlice<'_>,
        len: f64,
        now_ms: f64,
    ) -> Result<()> {
        guard(|| {
            self.inner
                .record(&series_ids, &durations_us, &flags, js_len(len), now_ms);
            Ok(())
        })
    }

    /// Advances every series to `nowMs` and returns a version 2 snapshot.
    /// The Buffer is engine-owned memory (not external), so its ArrayBuffer
    /// can be transferred to a worker.
    #[napi]
    pub fn snapshot<'env>(&mut self, env: &'env Env, now_ms: f64) -> Result<BufferSlice<'env>> {
        let len = guard(|| Ok(self.inner.prepare_snapshot(now_ms)))?;
        let mut buf = engine_buffer(env, len)?;
        guard(|| {
            self.inner.write_snapshot(&mut buf);
            Ok(())
        })?;
        Ok(buf)
    }

    /// Like `snapshot`, with the copying off the event loop: advances every
    /// series and encodes the open slices here, then has the set's sealer
    /// thread write the snapshot once it has sealed the slices queued before
    /// it (so its bytes are those `snapshot(nowMs)` gives now, whatever is
    /// recorded after). Returns a ticket number for `summarizeSnapshotTicket`
    /// (in any thread of this process) or `releaseSnapshotTicket`.
    #[napi]
    pub fn snapshot_ticket(&mut self, now_ms: f64) -> Result<u32> {
        guard(|| Ok(tickets::register(self.inner.snapshot_later(now_ms))))
    }

    /// Drops all series and counters. Tickets whose snapshot is not written
    /// yet fail (`summarizeSnapshotTicket` throws); written ones keep their bytes.
    #[napi]
    pub fn reset(&mut self) -> Result<()> {
        guard(|| {
            self.inner.reset();
            Ok(())
        })
    }

    /// Series with at least one recorded value.
    #[napi(getter)]
    pub fn series_count(&self) -> u32 {
        self.inner.series_count()
    }

    /// Values not recorded: NaN, infinite or negative durations, and ids >= 1 048 576.
    #[napi(getter)]
    pub fn invalid_count(&self) -> f64 {
        self.inner.invalid_count() as f64
    }

    /// Values above highestTrackableUs, recorded as highestTrackableUs.
    #[napi(getter)]
    pub fn clamped_count(&self) -> f64 {
        self.inner.clamped_count() as f64
    }

    /// Slices lost to a failure while sealing so far (a bug; expected 0).
    /// Unlike `sealingStats`, never waits for the sealer: `stats()` reads it
    /// on the event loop.
    #[napi(getter)]
    pub fn failed_slices(&self) -> f64 {
        self.inner.failed_slices() as f64
    }

    /// Slices sealed so far, the sealer's wall time on them (ms), and slices
    /// lost to a failure while sealing (a bug; expected 0). Waits for queued
    /// slices to be sealed.
    #[napi]
    pub fn sealing_stats(&self) -> Result<SealingStats> {
        guard(|| {
            let store = self.inner.sealed();
            Ok(SealingStats {
                slices: store.slices_sealed as f64,
                ms: store.sealing_ns as f64 / 1e6,
                failed: store.slices_failed as f64,
                mode: if self.inner.seals_inline() {
                    "inline"
                } else {
                    "thread"
                }
                .to_string(),
            })
        })
    }

    /// Heap bytes owned by the set: series table, series structs, page
    /// tables, pages and sparse slice buffers (capacities, not lengths).
    #[napi]
    pub fn memory_bytes(&self) -> Result<f64> {
        guard(|| Ok((std::mem::size_of::<Self>() + self.inner.heap_bytes()) as f64))
    }
}

/// A standalone HDR histogram (lowest discernible value 1) with the same
/// rounding, invalid and clamping rules as the set.
#[napi]
pub struct NativeHistogram {
    inner: RefCell<histogram::Histogram>,
}

impl NativeHistogram {
    fn with<T>(&self, f: impl FnOnce(&histogram::Histogram) -> T) -> Result<T> {
        let h = self
            .inner
            .try_borrow()
            .map_err(|_| js_err("spanmeter: histogram is busy".into()))?;
        Ok(f(&h))
    }

    fn with_mut<T>(&self, f: impl FnOnce(&mut histogram::Histogram) -> T) -> Result<T> {
        let mut h = self
            .inner
            .try_borrow_mut()
            .map_err(|_| js_err("spanmeter: histogram is busy".into()))?;
        Ok(f(&mut h))
    }
}

#[napi]
impl NativeHistogram {
    /// Throws if significantDigits is not an integer in 1..=5 or
    /// highestTrackableUs is not an integer in 2..=2^53-1.
    #[napi(constructor)]
    pub fn new(significant_digits: f64, highest_trackable_us: f64) -> Result<Self> {
        guard(|| {
            let math =
                validate_options(significant_digits, highest_trackable_us).map_err(js_err)?;
            Ok(NativeHistogram {
                inner: RefCell::new(histogram::Histogram::new(math)),
            })
        })
    }

    /// Records one value (rounded; invalid values counted, not recorded; values
    /// above highest recorded as highest and counted as clamped).
    #[napi]
    pub fn record(&self, value_us: f64) -> Result<()> {
        guard(|| self.with_mut(|h| h.record(value_us)))
    }

    /// Records the first `min(len, values.length)` values.
    #[napi]
    pub fn record_batch(&self, values: Float64ArraySlice<'_>, len: f64) -> Result<()> {
        guard(|| {
            let n = js_len(len).min(values.len());
            self.with_mut(|h| h.record_batch(&values[..n]))
        })
    }

    /// Number of recorded values.
    #[napi(getter)]
    pub fn count(&self) -> Result<f64> {
        guard(|| self.with(|h| h.count() as f64))
    }

    /// valueAtPercentile(0): lowest equivalent of the first non-empty bucket; 0 when empty.
    #[napi(getter)]
    pub fn min(&self) -> Result<f64> {
        guard(|| self.with(|h| h.min() as f64))
    }

    /// Highest equivalent of the last non-empty bucket; 0 when empty.
    #[napi(getter)]
    pub fn max(&self) -> Result<f64> {
        guard(|| self.with(|h| h.max() as f64))
    }

    /// sum(medianEquivalent(v) * count) / count, like HdrHistogram; 0 when empty.
    #[napi(getter)]
    pub fn mean(&self) -> Result<f64> {
        guard(|| self.with(|h| h.mean()))
    }

    /// hdr-histogram-js getValueAtPercentile semantics (percentile in 0..=100;
    /// above 100 is 100; NaN or negative gives 0).
    #[napi]
    pub fn value_at_percentile(&self, percentile: f64) -> Result<f64> {
        guard(|| self.with(|h| h.value_at_percentile(percentile) as f64))
    }

    /// Adds other's counts (each bucket's lowest value, re-recorded here);
    /// values above this histogram's highest are recorded as highest and
    /// counted in this histogram's clampedCount. `h.merge(h)` doubles `h`.
    #[napi]
    pub fn merge(&self, other: &NativeHistogram) -> Result<()> {
        guard(|| {
            let copy = other.with(|o| o.clone())?;
            self.with_mut(|h| h.merge(&copy))
        })
    }

    /// Drops all counts and counters.
    #[napi]
    pub fn reset(&self) -> Result<()> {
        guard(|| self.with_mut(|h| h.reset()))
    }

    /// V2 compressed (deflate) base64, readable by HdrHistogram, hdr-histogram-js
    /// (decodeFromCompressedBase64) and NativeHistogram.decode.
    #[napi]
    pub fn encode(&self) -> Result<String> {
        guard(|| self.with(|h| h.encode())?.map_err(js_err))
    }

    /// Reads V2 compressed or plain V2 base64 (HdrHistogram Java,
    /// hdr-histogram-js, Rust hdrhistogram). The result has the encoding's
    /// significant digits and highest trackable value (capped at 2^53-1).
    /// Throws an Error starting with `spanmeter: cannot decode histogram:` on bad input.
    #[napi]
    pub fn decode(base64: String) -> Result<NativeHistogram> {
        guard(|| {
            let h = histogram::Histogram::decode(&base64).map_err(js_err)?;
            Ok(NativeHistogram {
                inner: RefCell::new(h),
            })
        })
    }

    /// Heap bytes owned (page table and pages).
    #[napi]
    pub fn memory_bytes(&self) -> Result<f64> {
        guard(|| self.with(|h| h.heap_bytes() as f64))
    }

    /// Values not recorded (NaN, infinite, negative).
    #[napi(getter)]
    pub fn invalid_count(&self) -> Result<f64> {
        guard(|| self.with(|h| h.invalid_count() as f64))
    }

    /// Values above highest, recorded as highest.
    #[napi(getter)]
    pub fn clamped_count(&self) -> Result<f64> {
        guard(|| self.with(|h| h.clamped_count() as f64))
    }
}

/// Parses a snapshot made by `NativeHistogramSet.snapshot` and summarizes every
/// series record, in order. `percentiles` apply to the lifetime histogram,
/// `windowPercentiles` to each window. Throws an Error starting with
/// `spanmeter: bad snapshot:` (naming the byte offset) for a malformed buffer.
#[napi]
pub fn summarize_snapshot(
    snapshot: BufferSlice<'_>,
    percentiles: Vec<f64>,
    window_percentiles: Vec<f64>,
    include_histogram: bool,
) -> Result<Vec<SeriesSummary>> {
    guard(|| {
        summaries(
            &snapshot,
            &percentiles,
            &window_percentiles,
            include_histogram,
        )
    })
}

/// Waits for the snapshot of a ticket from `NativeHistogramSet.snapshotTicket`
/// (blocking the calling thread: call it on a worker) and summarizes it as
/// `summarizeSnapshot` does. A ticket is redeemed once; an unknown, redeemed,
/// released or expired ticket, one whose set was reset or dropped before its
/// snapshot was written, or a snapshot not written within 60 s, throws.
#[napi]
pub fn summarize_snapshot_ticket(
    ticket: u32,
    percentiles: Vec<f64>,
    window_percentiles: Vec<f64>,
    include_histogram: bool,
) -> Result<Vec<SeriesSummary>> {
    guard(|| {
        let t = tickets::take(ticket).ok_or_else(|| {
            js_err(format!(
                "spanmeter: snapshot ticket {ticket} is unknown (redeemed, released, or expired {} s after it was issued)",
                tickets::TICKET_TTL.as_secs()
            ))
        })?;
        let bytes = t.wait(std::time::Duration::from_secs(60)).map_err(js_err)?;
        summaries(&bytes, &percentiles, &window_percentiles, include_histogram)
    })
}

/// Gives up a ticket that will not be redeemed; false when it was unknown.
#[napi]
pub fn release_snapshot_ticket(ticket: u32) -> bool {
    tickets::take(ticket).is_some()
}

/// Tickets from `snapshotTicket` not yet redeemed or released.
#[napi]
pub fn outstanding_snapshot_tickets() -> u32 {
    tickets::outstanding() as u32
}

fn summaries(
    snapshot: &[u8],
    percentiles: &[f64],
    window_percentiles: &[f64],
    include_histogram: bool,
) -> Result<Vec<SeriesSummary>> {
    // entries are checked as the summary decodes them: one pass
    let snap = snapshot::parse_deferring_entries(snapshot).map_err(|e| js_err(e.to_string()))?;
    let out = summary::summarize(&snap, percentiles, window_percentiles, include_histogram)
        .map_err(js_err)?;
    Ok(out
        .into_iter()
        .map(|s| SeriesSummary {
            id: s.id,
            count: s.count,
            errors: s.errors,
            sum_us: s.sum_us,
            min_us: s.min_us,
            max_us: s.max_us,
            percentiles_us: s.percentiles_us,
            histogram: s.histogram,
            windows: s
                .windows
                .into_iter()
                .map(|w| WindowSummary {
                    count: w.count,
                    errors: w.errors,
                    percentiles_us: w.percentiles_us,
                })
                .collect(),
        })
        .collect())
}

/// CPU time the calling thread has used, in nanoseconds
/// (`CLOCK_THREAD_CPUTIME_ID`); NaN where the platform has no such clock.
/// For the benchmarks: Linux's `/proc/thread-self/schedstat` only advances
/// at scheduler ticks (4 ms), too coarse for runs of a few tens of ms.
#[napi]
pub fn thread_cpu_time_ns() -> f64 {
    thread_cpu_time()
}

#[cfg(unix)]
fn thread_cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
    } else {
        f64::NAN
    }
}

#[cfg(not(unix))]
fn thread_cpu_time() -> f64 {
    f64::NAN
}
