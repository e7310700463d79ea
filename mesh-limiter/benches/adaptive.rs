//! Concurrency limiters: one admission + one release, single thread, frozen `ManualClock`.
//!
//! * `concurrency_acquire_release`: a static limit — Meshplane `AdaptiveLimiter<Fixed>` vs
//!   tokio's `Semaphore::try_acquire` (the usual Rust building block for a concurrency limit).
//! * `adaptive_acquire_release`: the adaptive algorithms behind the same trait (each release
//!   feeds one RTT sample to the algorithm).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mesh_limiter::ManualClock;
use mesh_limiter::adaptive::{
    AdaptiveLimiter, Aimd, AimdConfig, EnvoyGradient, Fixed, Gradient2, GradientConfig,
    LimitAlgorithm, Limiter, Outcome, Vegas,
};

const RTT: Duration = Duration::from_millis(10);

fn cycle(l: &dyn Limiter) {
    if let Some(p) = l.acquire() {
        l.release(p, Outcome::Success, black_box(RTT));
    }
}

fn limiter<A: LimitAlgorithm + 'static>(a: A) -> Box<dyn Limiter> {
    Box::new(AdaptiveLimiter::new(a, Arc::new(ManualClock::new())))
}

fn concurrency(c: &mut Criterion) {
    let mut g = c.benchmark_group("concurrency_acquire_release");
    let ours = limiter(Fixed(1000));
    g.bench_function("meshplane", |b| b.iter(|| cycle(ours.as_ref())));
    let sem = tokio::sync::Semaphore::new(1000);
    g.bench_function("tokio_semaphore", |b| {
        b.iter(|| drop(black_box(sem.try_acquire())))
    });
    g.finish();

    let mut g = c.benchmark_group("adaptive_acquire_release");
    let algos: [(&str, Box<dyn Limiter>); 4] = [
        (
            "gradient",
            limiter(
                EnvoyGradient::new(GradientConfig {
                    fixed_min_rtt: Some(RTT),
                    ..GradientConfig::default()
                })
                .unwrap(),
            ),
        ),
        ("gradient2", limiter(Gradient2::default())),
        ("vegas", limiter(Vegas::default())),
        (
            "aimd",
            limiter(Aimd::new(AimdConfig {
                max_limit: 1000,
                ..AimdConfig::default()
            })),
        ),
    ];
    for (name, l) in &algos {
        g.bench_function(*name, |b| b.iter(|| cycle(l.as_ref())));
    }
    g.finish();
}

criterion_group!(benches, concurrency);
criterion_main!(benches);
