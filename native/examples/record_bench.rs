//! Recording micro-benchmark, for instruction counts under callgrind:
//!
//! ```text
//! cargo build --release --example record_bench --manifest-path native/Cargo.toml
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     native/target/release/examples/record_bench 100 lognormal 200
//! ```
//!
//! Arguments: series count, `lognormal` (median 20 ms, sigma 1) or `constant`
//! (20 ms), measured batches of 4096 values (after as many warm-up batches), and
//! optionally `rotate` (time advances 41 ms per batch) and `snapshot` (measures
//! `snapshot()` after the recording instead: `--toggle-collect='*snapshots*'`,
//! 20 snapshots). Ids are `i % series`
//! and every 50th value is an error, as in bench/histogram.js. Prints
//! ns/value (wall clock, best of 5 runs) as a sanity check; divide
//! callgrind's Ir by `5 * batches * 4096` for instructions per value.

use spanmeter_native::hdr_math::HdrMath;
use spanmeter_native::set::HistogramSet;

const BATCH: usize = 4096;
const POOL: usize = 64;

/// The generator of bench/lib.js (`lognormalUs`): `seed = (seed * 1103515245 + 12345) % 2^31`.
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = (self.0 * 1_103_515_245 + 12_345) % (1 << 31);
        self.0 as f64 / (1u64 << 31) as f64
    }
}

#[inline(never)]
fn measured(
    s: &mut HistogramSet,
    data: &[(Vec<u32>, Vec<f64>, Vec<u8>)],
    batches: usize,
    now: &mut f64,
    step: f64,
) {
    for b in 0..batches {
        let (ids, vals, flags) = &data[b % POOL];
        s.record(ids, vals, flags, BATCH, *now);
        *now += step;
    }
}

#[inline(never)]
fn snapshots(s: &mut HistogramSet, now: f64) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut bytes = 0;
    for _ in 0..20 {
        let t0 = std::time::Instant::now();
        let len = s.prepare_snapshot(now);
        let mut out = vec![0u8; len];
        s.write_snapshot(&mut out);
        best = best.min(t0.elapsed().as_nanos() as f64 / 1000.0);
        bytes = std::hint::black_box(out).len();
    }
    (best, bytes)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let series: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let lognormal = args.get(2).is_none_or(|a| a != "constant");
    let batches: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(200);
    let step = if args.iter().any(|a| a == "rotate") {
        41.0
    } else {
        0.0
    };
    let snapshot = args.iter().any(|a| a == "snapshot");
    let mut rng = Lcg(99);
    let data: Vec<(Vec<u32>, Vec<f64>, Vec<u8>)> = (0..POOL)
        .map(|p| {
            let ids = (0..BATCH)
                .map(|i| ((p * BATCH + i) % series) as u32)
                .collect();
            let vals = (0..BATCH)
                .map(|_| {
                    if lognormal {
                        let z = (-2.0 * (1.0 - rng.unit()).ln()).sqrt()
                            * (std::f64::consts::TAU * rng.unit()).cos();
                        20_000.0 * z.exp()
                    } else {
                        20_000.0
                    }
                })
                .collect();
            let flags = (0..BATCH)
                .map(|i| (p * BATCH + i).is_multiple_of(50) as u8)
                .collect();
            (ids, vals, flags)
        })
        .collect();
    let mut s = HistogramSet::new(
        HdrMath::new(3, 3_600_000_000).expect("valid options"),
        false,
    );
    let mut now = 1_767_225_600_000.0;
    // warm up: pages allocated, counters in cache
    for b in 0..batches.max(POOL) {
        let (ids, vals, flags) = &data[b % POOL];
        s.record(ids, vals, flags, BATCH, now);
        now += step;
    }
    // best of 5 (wall clock: the best run is the one least disturbed on a shared machine)
    let mut ns = f64::MAX;
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        measured(&mut s, &data, batches, &mut now, step);
        ns = ns.min(t0.elapsed().as_nanos() as f64 / (batches * BATCH) as f64);
    }
    println!(
        "{series} series, {}, 5 x {batches} x {BATCH} values{}: {ns:.2} ns/value (best of 5)",
        if lognormal { "lognormal" } else { "constant" },
        if step > 0.0 { ", rotating" } else { "" }
    );
    if snapshot {
        let (us, bytes) = snapshots(&mut s, now);
        println!(
            "snapshot: {us:.0} µs ({:.1} µs/series), {} KiB (best of 20)",
            us / series as f64,
            bytes / 1024
        );
    }
}
