//! `CachedClock` (time read once per event-loop iteration) keeps the limiters' refill
//! semantics: a limiter on a cache updated at the top of every "iteration" decides exactly as
//! one reading the source clock directly, and between updates time stands still.

use std::sync::Arc;
use std::time::Duration;

use mesh_limiter::{CachedClock, Clock, LocalRateLimiter, ManualClock, TokenBucket};

/// A fixed pseudo-random schedule: (time to advance before the iteration, requests in it).
fn schedule() -> Vec<(Duration, u32)> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..400)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (Duration::from_millis(x % 700), (x >> 32) as u32 % 6)
        })
        .collect()
}

#[test]
fn token_bucket_decides_as_on_the_source_clock() {
    let direct_clock = ManualClock::new();
    let direct = TokenBucket::new(5, 3, Duration::from_secs(1), direct_clock.clone()).unwrap();
    let source = ManualClock::new();
    let cached = Arc::new(CachedClock::new(source.clone()));
    let via_cache = TokenBucket::new(5, 3, Duration::from_secs(1), cached.clone()).unwrap();
    let (mut allowed, mut denied) = (0, 0);
    for (dt, requests) in schedule() {
        direct_clock.advance(dt);
        source.advance(dt);
        cached.update();
        for _ in 0..requests {
            let (a, b) = (direct.check(), via_cache.check());
            assert_eq!(a, b);
            if a.0 { allowed += 1 } else { denied += 1 }
        }
    }
    // The schedule exercises both outcomes.
    assert!(
        allowed > 100 && denied > 100,
        "{allowed} allowed, {denied} denied"
    );
}

#[test]
fn local_rate_limiter_decides_as_on_the_source_clock() {
    let json = r#"{"statPrefix":"t","tokenBucket":{"maxTokens":4,"tokensPerFill":2,"fillInterval":"1s"},
        "descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":2,"tokensPerFill":1,"fillInterval":"2s"}}]}"#;
    let direct_clock = ManualClock::new();
    let direct = LocalRateLimiter::from_json(json, direct_clock.clone()).unwrap();
    let source = ManualClock::new();
    let cached = Arc::new(CachedClock::new(source.clone()));
    let via_cache = LocalRateLimiter::from_json(json, cached.clone()).unwrap();
    for (i, (dt, requests)) in schedule().into_iter().enumerate() {
        direct_clock.advance(dt);
        source.advance(dt);
        cached.update();
        for r in 0..requests {
            let req = [[(
                "k",
                if (i as u32 + r).is_multiple_of(3) {
                    "v"
                } else {
                    "w"
                },
            )]];
            let (a, b) = (direct.check(&req), via_cache.check(&req));
            assert_eq!(a.allowed, b.allowed);
            assert_eq!(a.x_ratelimit(), b.x_ratelimit());
        }
    }
}

#[test]
fn time_stands_still_between_updates() {
    let source = ManualClock::new();
    let cached = Arc::new(CachedClock::new(source.clone()));
    // 1 token per 100 ms, burst 1.
    let bucket = TokenBucket::new(1, 1, Duration::from_millis(100), cached.clone()).unwrap();
    assert!(bucket.try_acquire());
    source.advance(Duration::from_secs(10));
    assert!(
        !bucket.try_acquire(),
        "the iteration still sees its start time"
    );
    assert_eq!(cached.now(), Duration::ZERO);
    cached.update();
    assert!(bucket.try_acquire());
    assert!(
        !bucket.try_acquire(),
        "refill is capped at the burst, as on the source clock"
    );
}
