//! Local token bucket vs governor 0.10 (GCRA), on the same machine in the same run.
//!
//! * `token_bucket`: one direct limiter, allowed path, single thread. Both read a frozen fake
//!   clock (Meshplane `ManualClock`, governor `FakeRelativeClock`) and have a quota too big to
//!   run out, so the limiter's own work is measured.
//! * `token_bucket_realtime`: the same on real time. `meshplane` reads it as Envoy's workers
//!   do: a `CachedClock` over `QuantaClock` (the TSC clock governor uses by default), updated
//!   once per event-loop iteration, here one iteration per 16 decisions (the update is inside
//!   the measured loop, so its cost is amortized over the 16). Governor (its default
//!   `QuantaClock` read on every `check`, which is what a governor user gets: it has no cached
//!   time source) is compared with that. The variants read the clock on every decision:
//!   `meshplane_quanta` (`QuantaClock`, the like-for-like comparison with governor's clock
//!   reads) and `meshplane_instant` (`SystemClock`, `Instant`).
//! * `keyed_1024`: 1024 buckets chosen by a string key, round robin: Meshplane's descriptor
//!   limiter (1024 descriptors `generic_key=k<i>`, no default bucket) vs governor's keyed
//!   (DashMap) limiter with `String` keys.
//! * `token_bucket_contended`: two threads hammering one bucket; time per operation (wall time
//!   of both threads / total operations).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use governor::clock::FakeRelativeClock;
use governor::{Quota, RateLimiter};
use mesh_limiter::{
    CachedClock, LocalRateLimiter, ManualClock, QuantaClock, SystemClock, TokenBucket,
};

/// Decisions per event-loop iteration (one `CachedClock::update` each) in
/// `token_bucket_realtime/meshplane`.
const PER_ITERATION: u32 = 16;

const HUGE: u32 = u32::MAX;

fn huge_quota() -> Quota {
    Quota::with_period(Duration::from_nanos(1))
        .unwrap()
        .allow_burst(NonZeroU32::new(HUGE).unwrap())
}

fn mesh_bucket<C: mesh_limiter::Clock>(clock: C) -> TokenBucket<C> {
    TokenBucket::new(HUGE, HUGE, Duration::from_secs(1), clock).unwrap()
}

fn token_bucket(c: &mut Criterion) {
    let mut g = c.benchmark_group("token_bucket");
    let ours = mesh_bucket(ManualClock::new());
    g.bench_function("meshplane", |b| b.iter(|| black_box(ours.try_acquire())));
    let theirs = RateLimiter::direct_with_clock(huge_quota(), FakeRelativeClock::default());
    g.bench_function("governor", |b| b.iter(|| black_box(theirs.check().is_ok())));
    g.finish();

    let mut g = c.benchmark_group("token_bucket_realtime");
    let cached = Arc::new(CachedClock::new(QuantaClock::new()));
    let ours = mesh_bucket(cached.clone());
    let mut n = 0u32;
    g.bench_function("meshplane", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            if n.is_multiple_of(PER_ITERATION) {
                cached.update();
            }
            black_box(ours.try_acquire())
        })
    });
    let ours_quanta = mesh_bucket(QuantaClock::new());
    g.bench_function("meshplane_quanta", |b| {
        b.iter(|| black_box(ours_quanta.try_acquire()))
    });
    let ours_std = mesh_bucket(SystemClock::new());
    g.bench_function("meshplane_instant", |b| {
        b.iter(|| black_box(ours_std.try_acquire()))
    });
    let theirs = RateLimiter::direct(huge_quota());
    g.bench_function("governor", |b| b.iter(|| black_box(theirs.check().is_ok())));
    g.finish();
}

fn keyed_1024(c: &mut Criterion) {
    let keys: Vec<String> = (0..1024).map(|i| format!("k{i}")).collect();
    let descriptors: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                r#"{{"entries":[{{"key":"generic_key","value":"{k}"}}],"tokenBucket":{{"maxTokens":{HUGE},"tokensPerFill":{HUGE},"fillInterval":"1s"}}}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"statPrefix":"bench","descriptors":[{}]}}"#,
        descriptors.join(",")
    );
    let ours = LocalRateLimiter::from_json(&json, ManualClock::new()).unwrap();
    let requests: Vec<[[(&str, &str); 1]; 1]> = keys
        .iter()
        .map(|k| [[("generic_key", k.as_str())]])
        .collect();
    let theirs = RateLimiter::dashmap_with_clock(huge_quota(), FakeRelativeClock::default());
    for k in &keys {
        assert!(theirs.check_key(k).is_ok());
        assert!(ours.check(&[[("generic_key", k.as_str())]]).allowed);
    }

    let mut g = c.benchmark_group("keyed_1024");
    let mut i = 0usize;
    g.bench_function("meshplane", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(ours.check(&requests[i]).allowed)
        })
    });
    let mut i = 0usize;
    g.bench_function("governor", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(theirs.check_key(&keys[i]).is_ok())
        })
    });
    g.finish();
}

/// Runs `op` `iters` times split over two threads; returns wall time (per-op time = this / iters).
fn two_threads(iters: u64, op: impl Fn() -> bool + Sync) -> Duration {
    let barrier = Barrier::new(3);
    std::thread::scope(|s| {
        for share in [iters / 2, iters - iters / 2] {
            let (barrier, op) = (&barrier, &op);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..share {
                    black_box(op());
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("token_bucket_contended");
    let ours = Arc::new(mesh_bucket(ManualClock::new()));
    g.bench_function("meshplane", |b| {
        b.iter_custom(|iters| two_threads(iters, || ours.try_acquire()))
    });
    let theirs = RateLimiter::direct_with_clock(huge_quota(), FakeRelativeClock::default());
    g.bench_function("governor", |b| {
        b.iter_custom(|iters| two_threads(iters, || theirs.check().is_ok()))
    });
    g.finish();
}

criterion_group!(benches, token_bucket, keyed_1024, contended);
criterion_main!(benches);
