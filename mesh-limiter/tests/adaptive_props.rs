//! Invariants of every adaptive limiter under arbitrary operation sequences (ManualClock, no
//! sleeping): admission never exceeds the limit of that instant, the in-flight count is exact,
//! and limits stay within each algorithm's bounds.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use mesh_limiter::ManualClock;
use mesh_limiter::adaptive::{
    AdaptiveLimiter, Aimd, BbrConfig, BbrGuard, EnvoyGradient, Gradient2, GradientConfig, Limiter,
    Outcome, Vegas, Windowed, WindowedConfig,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Acquire(u8),
    Release { idx: u16, outcome: u8, rtt_us: u32 },
    Advance(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..40).prop_map(Op::Acquire),
        (any::<u16>(), 0u8..3, 1u32..200_000).prop_map(|(idx, outcome, rtt_us)| Op::Release {
            idx,
            outcome,
            rtt_us
        }),
        (1u32..300_000).prop_map(Op::Advance),
    ]
}

fn build(kind: u8, clock: &ManualClock) -> (Box<dyn Limiter>, u32, u32) {
    let c = Arc::new(clock.clone());
    match kind {
        0 => (
            Box::new(AdaptiveLimiter::new(
                EnvoyGradient::new(GradientConfig {
                    request_count: 5,
                    min_rtt_interval: Duration::from_millis(500),
                    ..GradientConfig::default()
                })
                .unwrap(),
                c,
            )),
            3,
            1000,
        ),
        1 => (
            Box::new(AdaptiveLimiter::new(Gradient2::default(), c)),
            20,
            200,
        ),
        2 => (Box::new(AdaptiveLimiter::new(Vegas::default(), c)), 1, 1000),
        3 => (Box::new(AdaptiveLimiter::new(Aimd::default(), c)), 20, 200),
        4 => (
            Box::new(AdaptiveLimiter::new(
                Windowed::new(Aimd::default(), WindowedConfig::default()),
                c,
            )),
            20,
            200,
        ),
        _ => (
            Box::new(AdaptiveLimiter::new(
                BbrGuard::new(
                    BbrConfig {
                        cpu_decay: 0.0,
                        ..BbrConfig::default()
                    },
                    Arc::new(AtomicU32::new(900)),
                ),
                c,
            )),
            2,
            u32::MAX,
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn admission_respects_the_limit(kind in 0u8..6, ops in prop::collection::vec(op(), 1..300)) {
        let clock = ManualClock::new();
        let (l, min, max) = build(kind, &clock);
        let mut held = Vec::new();
        for op in ops {
            match op {
                Op::Acquire(n) => {
                    for _ in 0..n {
                        let limit = l.limit();
                        prop_assert!(limit >= min && limit <= max, "limit {} not in [{}, {}]", limit, min, max);
                        match l.acquire() {
                            Some(p) => {
                                prop_assert!(p.in_flight() <= limit);
                                prop_assert_eq!(p.in_flight() as usize, held.len() + 1);
                                held.push(p);
                            }
                            None => prop_assert!(held.len() as u64 >= limit as u64, "rejected below the limit"),
                        }
                    }
                }
                Op::Release { idx, outcome, rtt_us } => {
                    if !held.is_empty() {
                        let p = held.swap_remove(idx as usize % held.len());
                        let outcome = [Outcome::Success, Outcome::Dropped, Outcome::Ignored][outcome as usize];
                        l.release(p, outcome, Duration::from_micros(rtt_us as u64));
                    }
                }
                Op::Advance(us) => clock.advance(Duration::from_micros(us as u64)),
            }
            prop_assert_eq!(l.in_flight() as usize, held.len());
        }
    }
}
