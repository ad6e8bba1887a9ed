//! Sealing full slices off the recording thread.
//!
//! When a series' `cur` moves to a new 10 s slice, the recording thread only
//! takes the old slice's pages out of the pool (a copy of ~13 KB for a busy
//! series, ~1 µs) and queues them. One sealer thread per set encodes them and
//! merges them into the rings and accumulators (`Series::seal_slice`): the
//! 100–170 µs per busy series that used to stall the event loop once per
//! 10 s. Readers of the sealed state (snapshots, memory accounting) first
//! wait for the queue to drain, so what they see is exactly what sealing on
//! the recording thread would have given.
//!
//! Jobs of one set are sealed in queue order by one thread, so the slices of
//! a series reach its rings in time order. When the thread cannot be started
//! (or `inline` is asked for), slices are sealed on the caller's thread.
//!
//! A snapshot can be written there too (`read`): queued behind the slices
//! its call filled, it sees the sealed state as of that call; the caller
//! gets a `Ticket` that a worker thread waits on.

use std::collections::VecDeque;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::series::{FullSlice, Series};
use crate::sparse::PageScratch;

/// Work for the sealer, done in queue order.
enum Job {
    /// A full slice of series `id`, to be sealed.
    Seal { id: u32, slice: FullSlice },
    /// A snapshot to write from the sealed state.
    Read(ReadJob),
}

impl Job {
    /// Heap bytes the job holds while queued (a full slice's pages).
    fn queued_bytes(&self) -> usize {
        match self {
            Job::Seal { slice, .. } => slice.pages.heap_bytes(),
            Job::Read(_) => 0,
        }
    }
}

/// The sealer's queue may hold this many bytes of full slices at least
/// before `flush` waits (see `Sealer::flush`).
const MIN_QUEUE_LIMIT: usize = 64 << 20;

/// Writes bytes from the sealed state (a snapshot) into a ticket.
pub type Reader = Box<dyn FnOnce(&Store) -> Vec<u8> + Send>;

struct ReadJob {
    reader: Option<Reader>,
    ticket: Arc<Ticket>,
}

impl ReadJob {
    /// Runs the reader with `store`; a panic fails the ticket.
    fn run(mut self, store: &Store) {
        if let Some(reader) = self.reader.take() {
            let bytes = catch_unwind(AssertUnwindSafe(|| reader(store)));
            self.ticket.fulfil(
                bytes.map_err(|_| "spanmeter: writing the snapshot failed (a bug)".to_string()),
            );
        }
    }
}

impl Drop for ReadJob {
    /// A job dropped unrun (its set went away) fails its ticket, so that
    /// nobody waits on it for ever.
    fn drop(&mut self) {
        self.ticket.fulfil(Err(
            "spanmeter: the histogram set was reset or dropped before this snapshot was written"
                .into(),
        ));
    }
}

/// The bytes a `read` job writes, for a thread to wait on.
#[derive(Default)]
pub struct Ticket {
    result: Mutex<Option<Result<Vec<u8>, String>>>,
    ready: Condvar,
}

impl Ticket {
    /// Sets the result, once (later calls are ignored).
    fn fulfil(&self, result: Result<Vec<u8>, String>) {
        let mut r = lock(&self.result);
        if r.is_none() {
            *r = Some(result);
            self.ready.notify_all();
        }
    }

    /// Waits up to `timeout` for the result and takes it.
    pub fn wait(&self, timeout: Duration) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        let mut r = lock(&self.result);
        loop {
            if let Some(result) = r.take() {
                *r = Some(Err("spanmeter: this snapshot was taken already".into()));
                return result;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "spanmeter: the snapshot was not written within {} s",
                    timeout.as_secs()
                ));
            }
            r = self
                .ready
                .wait_timeout(r, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The sealed parts of every series of a set, indexed by series id (None:
/// nothing sealed yet), with what sealing cost.
#[derive(Default)]
pub struct Store {
    series: Vec<Option<Box<Series>>>,
    /// Slices sealed, and the sealer's wall time spent on them.
    pub slices_sealed: u64,
    pub sealing_ns: u64,
    /// Slices lost to a panic while sealing (a bug; counted, never silent).
    pub slices_failed: u64,
    /// The thread that sealed the latest slice.
    pub sealed_by: Option<std::thread::ThreadId>,
    /// `heap_bytes()`, kept up to date by `seal` (walking every series for
    /// it took the store's lock for as long, and waited for the sealer).
    bytes: usize,
}

impl Store {
    /// The sealed part of series `id`, if any slice of it was sealed.
    pub fn get(&self, id: u32) -> Option<&Series> {
        self.series.get(id as usize).and_then(|s| s.as_deref())
    }

    fn seal(&mut self, id: u32, piece: crate::sparse::Piece) {
        #[cfg(test)]
        if tests::PANIC_SERIES
            .compare_exchange(id, u32::MAX, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            panic!("injected panic while sealing series {id}");
        }
        let id = id as usize;
        let table_before = self.table_bytes();
        if self.series.len() <= id {
            self.series.resize_with(id + 1, || None);
        }
        let slot = &mut self.series[id];
        let before = slot.as_ref().map_or(0, |s| s.heap_bytes());
        let series = slot.get_or_insert_with(Box::default);
        series.seal_slice(piece);
        let after = series.heap_bytes();
        self.bytes =
            (self.bytes + after + self.table_bytes()).saturating_sub(before + table_before);
    }

    fn table_bytes(&self) -> usize {
        self.series.capacity() * size_of::<Option<Box<Series>>>()
    }

    /// `heap_bytes()` as `seal` keeps it, without walking the series.
    pub fn tracked_bytes(&self) -> usize {
        self.bytes
    }

    /// Heap bytes owned: the table and every series (walks them all).
    pub fn heap_bytes(&self) -> usize {
        self.table_bytes()
            + self
                .series
                .iter()
                .flatten()
                .map(|s| s.heap_bytes())
                .sum::<usize>()
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The sealer holds a job it took from `jobs`.
    busy: bool,
    /// The sealer waits on `work` (only then is it worth a wake-up call:
    /// each costs a syscall, and a busy sealer finds the job by itself).
    sleeping: bool,
    /// The set is gone: the sealer stops.
    closed: bool,
    /// Heap bytes of the queued jobs' slices.
    queued_bytes: usize,
    /// A `flush` waits on `room` for the queue to shrink to this many bytes (0: none waits).
    room_at: usize,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued or the set closes.
    work: Condvar,
    /// Signalled when the queue is drained and no job is held.
    idle: Condvar,
    /// Signalled when the queue has shrunk to `room_at` bytes, or the set closes.
    room: Condvar,
    store: Mutex<Store>,
    /// The store's heap bytes after the latest job, readable without its lock.
    store_bytes: AtomicUsize,
    /// `Store::slices_failed`, readable without waiting or locking.
    slices_failed: AtomicUsize,
}

/// Locks `m`, also after a panic elsewhere (the data stay consistent: every
/// critical section here either completes or only loses the job it held).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Does `job`: a slice is sealed, a read job run with the store.
    fn run_job(&self, job: Job, scratch: &mut PageScratch) {
        match job {
            Job::Seal { id, slice } => self.seal(id, slice, scratch),
            Job::Read(read) => read.run(&lock(&self.store)),
        }
    }

    /// Encodes a slice of series `id` and seals it into the store, timing
    /// it; a panic loses the slice and is counted.
    fn seal(&self, id: u32, slice: FullSlice, scratch: &mut PageScratch) {
        #[cfg(test)]
        while tests::HOLD_SERIES.load(Ordering::SeqCst) == id {
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        let sealed = catch_unwind(AssertUnwindSafe(|| {
            let piece = slice.encode(scratch);
            lock(&self.store).seal(id, piece);
        }));
        let mut store = lock(&self.store);
        match sealed {
            Ok(()) => store.slices_sealed += 1,
            Err(_) => {
                store.slices_failed += 1;
                self.slices_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        store.sealing_ns += started.elapsed().as_nanos() as u64;
        store.sealed_by = Some(std::thread::current().id());
        self.store_bytes.store(store.bytes, Ordering::Relaxed);
    }

    fn run(&self) {
        let mut scratch = PageScratch::default();
        loop {
            let job = {
                let mut q = lock(&self.queue);
                loop {
                    if q.closed {
                        return;
                    }
                    if let Some(job) = q.jobs.pop_front() {
                        q.busy = true;
                        q.queued_bytes -= job.queued_bytes();
                        if q.room_at > 0 && q.queued_bytes <= q.room_at {
                            q.room_at = 0;
                            self.room.notify_all();
                        }
                        break job;
                    }
                    q.sleeping = true;
                    q = self.work.wait(q).unwrap_or_else(|e| e.into_inner());
                    q.sleeping = false;
                }
            };
            self.run_job(job, &mut scratch);
            let mut q = lock(&self.queue);
            q.busy = false;
            if q.jobs.is_empty() {
                self.idle.notify_all();
            }
        }
    }
}

enum Mode {
    /// No slice sealed yet: the thread starts with the first one.
    NotStarted,
    Thread,
    Inline(Box<PageScratch>),
}

/// Seals the full slices of one set, on its own thread (see the module doc).
pub struct Sealer {
    shared: Arc<Shared>,
    mode: Mode,
    /// Full slices not yet queued: they go in one lock and at most one
    /// wake-up call per `flush` (a wake-up costs ~10 µs on a VM).
    outbox: Vec<Job>,
    /// The most bytes one `flush` has queued (one boundary's slices, as a rule).
    largest_flush: usize,
}

impl Sealer {
    /// A sealer that starts its thread at the first slice, or seals on the
    /// caller's thread when `inline`.
    pub fn new(inline: bool) -> Self {
        Sealer {
            shared: Arc::default(),
            mode: if inline {
                Mode::Inline(Box::default())
            } else {
                Mode::NotStarted
            },
            outbox: Vec::new(),
            largest_flush: 0,
        }
    }

    /// True when slices are sealed on the caller's thread.
    pub fn is_inline(&self) -> bool {
        matches!(self.mode, Mode::Inline(_))
    }

    /// Has `slice` of series `id` sealed: sealed here when there is no
    /// sealer thread, else queued at the next `flush`.
    pub fn submit(&mut self, id: u32, slice: FullSlice) {
        if let Mode::NotStarted = self.mode {
            self.mode = self.start();
        }
        match &mut self.mode {
            Mode::Inline(scratch) => self.shared.seal(id, slice, scratch),
            _ => self.outbox.push(Job::Seal { id, slice }),
        }
    }

    /// Has `reader` write bytes from the sealed state once the slices
    /// submitted so far are sealed: queued behind them for the sealer
    /// thread, or run here when there is none (or nothing was ever queued).
    /// Flushes.
    pub fn read(&mut self, reader: Reader) -> Arc<Ticket> {
        let ticket = Arc::new(Ticket::default());
        let job = ReadJob {
            reader: Some(reader),
            ticket: Arc::clone(&ticket),
        };
        match self.mode {
            Mode::Thread => {
                self.outbox.push(Job::Read(job));
                self.flush();
            }
            _ => {
                self.flush();
                job.run(&self.store());
            }
        }
        ticket
    }

    /// Queues the submitted slices for the sealer thread. Callers flush
    /// before they return to JS.
    ///
    /// The queue is bounded: past three times the largest flush (one 10 s
    /// boundary's slices, normally sealed long before the next) and 64 MiB,
    /// the caller waits until the sealer has brought it down to half that.
    /// Without the bound, slices that came faster than they were sealed (a
    /// replayed or simulated clock; more busy series than the thread seals
    /// in 10 s) piled up without end: 817 MB in 300 batches of 2,000 series.
    pub fn flush(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        let bytes: usize = self.outbox.iter().map(Job::queued_bytes).sum();
        self.largest_flush = self.largest_flush.max(bytes);
        let limit = MIN_QUEUE_LIMIT.max(self.largest_flush.saturating_mul(3));
        let mut q = lock(&self.shared.queue);
        q.jobs.extend(self.outbox.drain(..));
        q.queued_bytes += bytes;
        if q.sleeping {
            self.shared.work.notify_one();
        }
        if q.queued_bytes > limit && matches!(self.mode, Mode::Thread) {
            q.room_at = limit / 2;
            while q.queued_bytes > limit / 2 && !q.closed {
                let before = q.queued_bytes;
                let (guard, waited) = self
                    .shared
                    .room
                    .wait_timeout(q, Duration::from_secs(10))
                    .unwrap_or_else(|e| e.into_inner());
                q = guard;
                // a sealer that makes no progress at all (it should not happen): recording goes on
                if waited.timed_out() && q.queued_bytes == before {
                    q.room_at = 0;
                    break;
                }
            }
        }
    }

    fn start(&self) -> Mode {
        let shared = Arc::clone(&self.shared);
        // sealing needs little stack: the merges work on the heap
        match std::thread::Builder::new()
            .name("spanmeter-sealer".into())
            .stack_size(256 << 10)
            .spawn(move || shared.run())
        {
            Ok(_) => Mode::Thread,
            Err(_) => Mode::Inline(Box::default()),
        }
    }

    /// Heap bytes of the sealed state as of the latest slice sealed: no
    /// waiting for the queue, no lock (`stats()` reports it on the event
    /// loop, right when a 10 s boundary may have queued every busy series).
    pub fn stored_bytes(&self) -> usize {
        self.shared.store_bytes.load(Ordering::Relaxed)
    }

    /// Heap bytes of the full slices queued for the sealer and not yet
    /// taken by it (their pages): memory the set holds meanwhile.
    pub fn queued_bytes(&self) -> usize {
        let outbox: usize = self.outbox.iter().map(Job::queued_bytes).sum();
        outbox + lock(&self.shared.queue).queued_bytes
    }

    /// Slices lost to a failure while sealing so far (no waiting, no lock).
    pub fn failed_slices(&self) -> usize {
        self.shared.slices_failed.load(Ordering::Relaxed)
    }

    /// The sealed state once every queued slice is sealed (waits for the
    /// sealer thread; nothing is queued meanwhile, as the caller is the only
    /// thread that queues, and it has flushed).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        debug_assert!(self.outbox.is_empty(), "store() before flush()");
        let mut q = lock(&self.shared.queue);
        while q.busy || !q.jobs.is_empty() {
            q = self.shared.idle.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        drop(q);
        lock(&self.shared.store)
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        let mut q = lock(&self.shared.queue);
        q.closed = true;
        q.jobs.clear();
        q.queued_bytes = 0;
        drop(q);
        self.shared.work.notify_all();
        self.shared.room.notify_all();
    }
}

#[cfg(test)]
pub mod tests {
    use std::sync::atomic::AtomicU32;

    /// A series whose next sealing panics while the store is locked (once).
    pub static PANIC_SERIES: AtomicU32 = AtomicU32::new(u32::MAX);

    /// A series whose sealing waits (before it starts) while this holds its id.
    pub static HOLD_SERIES: AtomicU32 = AtomicU32::new(u32::MAX);
}
