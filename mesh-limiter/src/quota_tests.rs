use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::ManualClock;

fn config(quota: u32, secs: u64, id: &str) -> LocalRateLimit {
    LocalRateLimit::from_json(&format!(
        r#"{{"statPrefix":"http_local_rate_limiter",
           "tokenBucket":{{"maxTokens":100000,"tokensPerFill":100000,"fillInterval":"1s"}},
           "descriptors":[{{"entries":[{{"key":"generic_key","value":"Service[a.default]-Id[{id}]"}}],
             "tokenBucket":{{"maxTokens":{quota},"tokensPerFill":{quota},"fillInterval":"{secs}s"}}}}]}}"#
    ))
    .unwrap()
}

const D0: QuotaBucket = QuotaBucket::Descriptor(0);

/// Requests admitted when one is offered every `step` for `total`, starting with a drained
/// bucket (the first `drain` admissions are not counted).
fn admitted_over(
    q: &SmartQuota<ManualClock>,
    clock: &ManualClock,
    total: Duration,
    step: Duration,
) -> u32 {
    let mut n = 0;
    let mut t = Duration::ZERO;
    while t < total {
        clock.advance(step);
        t += step;
        if q.try_acquire(D0, 1).unwrap() {
            n += 1;
        }
    }
    n
}

fn drain(q: &SmartQuota<ManualClock>) -> u32 {
    let mut n = 0;
    while q.try_acquire(D0, 1).unwrap() {
        n += 1;
    }
    n
}

#[test]
fn admitted_rate_follows_each_quota() {
    let clock = ManualClock::new();
    let q = SmartQuota::new(&config(10, 60, "1"), clock.clone()).unwrap();
    assert_eq!(drain(&q), 10, "starts full at quota 10");
    let minute = Duration::from_secs(60);
    let step = Duration::from_millis(100);
    assert_eq!(admitted_over(&q, &clock, minute, step), 10);

    // The material moved: the quota is now 30 per minute (the Id changed with it).
    let changes = q.update(&config(30, 60, "2")).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].bucket, D0);
    assert_eq!(changes[0].before.0, 10);
    assert_eq!(changes[0].after.0, 30);
    assert!(
        changes[0].tokens_after <= changes[0].tokens_before,
        "no free refill"
    );
    assert_eq!(admitted_over(&q, &clock, minute, step), 30);
    // The new descriptor value is the one matched now.
    drain(&q);
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        q.check(&[("generic_key", "Service[a.default]-Id[2]")]),
        Some((true, D0))
    );
    assert_eq!(
        q.check(&[("generic_key", "Service[a.default]-Id[1]")]),
        Some((true, QuotaBucket::Default))
    );

    // Down to 5 per minute.
    q.update(&config(5, 60, "3")).unwrap();
    drain(&q);
    assert_eq!(admitted_over(&q, &clock, minute, step), 5);
}

#[test]
fn tokens_are_scaled_down_and_never_refilled_up() {
    let clock = ManualClock::new();
    let q = SmartQuota::new(&config(100, 60, "1"), clock.clone()).unwrap();
    for _ in 0..50 {
        assert!(q.try_acquire(D0, 1).unwrap());
    }
    // 50 of 100 left; capacity 10 keeps the same fraction: 5.
    let c = q.update(&config(10, 60, "2")).unwrap();
    assert!((c[0].tokens_after - 5.0).abs() < 1e-9, "{c:?}");
    assert_eq!(drain(&q), 5);
    // Growing to 1000 keeps the tokens in hand (0), it does not fill the new capacity.
    q.update(&config(1000, 60, "3")).unwrap();
    assert_eq!(drain(&q), 0);
    clock.advance(Duration::from_millis(60));
    assert_eq!(drain(&q), 1, "1000 per minute: one token per 60 ms");
}

#[test]
fn unchanged_rate_reports_nothing_and_shape_changes_are_refused() {
    let clock = ManualClock::new();
    let q = SmartQuota::new(&config(10, 60, "1"), clock.clone()).unwrap();
    assert!(q.update(&config(10, 60, "9")).unwrap().is_empty());
    let mut two = config(10, 60, "1");
    two.descriptors.push(two.descriptors[0].clone());
    let e = q.update(&two).unwrap_err();
    assert!(
        matches!(
            e,
            QuotaError::ShapeChanged {
                have: 1,
                got: 2,
                ..
            }
        ),
        "{e}"
    );
    let bad = r#"{"statPrefix":"x","descriptors":[{"entries":[{"key":"k","value":"v"}],
        "tokenBucket":{"maxTokens":1,"tokensPerFill":0,"fillInterval":"1s"}}]}"#;
    assert_eq!(
        SmartQuota::from_json(bad, clock.clone()).unwrap_err(),
        QuotaError::ZeroRate {
            bucket: "descriptors[0]".into()
        }
    );
    assert!(matches!(
        SmartQuota::from_json("[", clock).unwrap_err(),
        QuotaError::Config(_)
    ));
}

#[test]
fn shared_between_threads() {
    let clock = ManualClock::new();
    let q = std::sync::Arc::new(SmartQuota::new(&config(1000, 60, "1"), clock.clone()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                for j in 0..500 {
                    if j == 100 && i == 0 {
                        q.update(&config(600, 60, "2")).unwrap();
                    }
                    if q.try_acquire(D0, 1).unwrap() {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    // The clock never moved: at most the 1000 tokens there were at the start.
    assert!(total <= 1000, "{total}");
    assert!(total >= 600, "{total}");
}

proptest! {
    /// After a change at time t, the admissions up to `t + e` never exceed
    /// `tokens(t) + new_rate × e` (and `tokens(t)` never exceeds the tokens in hand before).
    #[test]
    fn a_change_never_admits_more_than_tokens_plus_new_rate(
        old_q in 1u32..500, old_s in 1u64..120,
        new_q in 1u32..500, new_s in 1u64..120,
        before in 0u32..600,
        steps in proptest::collection::vec((1u64..5_000, 1u32..4), 1..200),
    ) {
        let clock = ManualClock::new();
        let q = SmartQuota::new(&config(old_q, old_s, "1"), clock.clone()).unwrap();
        for _ in 0..before {
            q.try_acquire(D0, 1);
        }
        clock.advance(Duration::from_millis(u64::from(before) * 7));
        let held = q.tokens(D0).unwrap();
        let changes = q.update(&config(new_q, new_s, "2")).unwrap();
        let at_change = q.tokens(D0).unwrap();
        prop_assert!(at_change <= held + 1e-9);
        prop_assert!(at_change <= f64::from(new_q));
        if let Some(c) = changes.first() {
            prop_assert!((c.tokens_after - at_change).abs() < 1e-9);
        }
        let rate = f64::from(new_q) / new_s as f64;
        let mut elapsed = Duration::ZERO;
        let mut admitted = 0u64;
        for (ms, n) in steps {
            clock.advance(Duration::from_millis(ms));
            elapsed += Duration::from_millis(ms);
            if q.try_acquire(D0, n).unwrap() {
                admitted += u64::from(n);
            }
            let bound = at_change + rate * elapsed.as_secs_f64();
            prop_assert!(admitted as f64 <= bound + 1e-6, "admitted {} > bound {}", admitted, bound);
        }
    }
}
