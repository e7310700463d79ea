//! Envoy local_ratelimit semantics, pinned as decision sequences (limiter.md §1 and §4).

use std::time::Duration;

use mesh_limiter::local::{BucketId, LimiterOptions, LocalConfigError, RefillModel, XRateLimit};
use mesh_limiter::{LocalRateLimit, LocalRateLimiter, ManualClock};

const S: Duration = Duration::from_secs(1);

fn limiter(json: &str) -> (LocalRateLimiter<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    (
        LocalRateLimiter::from_json(json, clock.clone()).unwrap(),
        clock,
    )
}

fn timer_limiter(json: &str) -> (LocalRateLimiter<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    let cfg = LocalRateLimit::from_json(json).unwrap();
    let opts = LimiterOptions {
        refill: RefillModel::TimerStepped,
    };
    (
        LocalRateLimiter::with_options(&cfg, clock.clone(), opts).unwrap(),
        clock,
    )
}

const NONE: [[(&str, &str); 0]; 0] = [];

/// Allowed (1) / denied (0) for `n` requests with the given descriptors.
fn run(rl: &LocalRateLimiter<ManualClock>, req: &[Vec<(&str, &str)>], n: usize) -> String {
    (0..n)
        .map(|_| if rl.check(req).allowed { '1' } else { '0' })
        .collect()
}

// §1.2 worked example: max 10, 10 per 60 s. Atomic: 1 token every 6 s. Timer: 10 at +60 s.
const TEN_PER_MINUTE: &str =
    r#"{"statPrefix":"p","tokenBucket":{"maxTokens":10,"tokensPerFill":10,"fillInterval":"60s"}}"#;

#[test]
fn worked_example_atomic_refills_one_token_every_6s() {
    let (rl, clock) = limiter(TEN_PER_MINUTE);
    assert_eq!(run(&rl, &[], 11), "11111111110");
    clock.advance(Duration::from_millis(5999));
    assert_eq!(run(&rl, &[], 1), "0");
    clock.advance(Duration::from_millis(1));
    assert_eq!(run(&rl, &[], 2), "10");
    clock.advance(6 * S);
    assert_eq!(run(&rl, &[], 2), "10");
    // Burst after idle is capped at max_tokens, as with the timer bucket.
    clock.advance(3600 * S);
    assert_eq!(run(&rl, &[], 11), "11111111110");
}

#[test]
fn worked_example_timer_refills_ten_tokens_at_60s() {
    let (rl, clock) = timer_limiter(TEN_PER_MINUTE);
    assert_eq!(run(&rl, &[], 11), "11111111110");
    clock.advance(6 * S);
    assert_eq!(run(&rl, &[], 1), "0", "no continuous refill");
    clock.advance(53 * S);
    assert_eq!(run(&rl, &[], 1), "0");
    clock.advance(S); // t = 60 s: the tick
    assert_eq!(run(&rl, &[], 11), "11111111110");
    clock.advance(3600 * S);
    assert_eq!(run(&rl, &[], 11), "11111111110");
}

// §4 Slime doc example: quota `10/{{._base.pod}}` with 1 pod, fill_interval 60 s → the 11th
// request in the minute gets 429. The default bucket is Slime's 100000/1s placeholder.
const SLIME: &str = r#"{"statPrefix":"http_local_rate_limiter",
  "tokenBucket":{"maxTokens":100000,"tokensPerFill":100000,"fillInterval":"1s"},
  "filterEnabled":{"defaultValue":{"numerator":100,"denominator":"HUNDRED"},"runtimeKey":"local_rate_limit_enabled"},
  "filterEnforced":{"defaultValue":{"numerator":100,"denominator":"HUNDRED"},"runtimeKey":"local_rate_limit_enforced"},
  "descriptors":[{"entries":[{"key":"generic_key","value":"Service[reviews.default]-Id[2411990316]"}],
                  "tokenBucket":{"maxTokens":10,"tokensPerFill":10,"fillInterval":"60s"}}]}"#;

#[test]
fn slime_example_eleventh_request_in_the_minute_is_limited() {
    let (rl, clock) = limiter(SLIME);
    let req = vec![vec![(
        "generic_key",
        "Service[reviews.default]-Id[2411990316]",
    )]];
    assert_eq!(run(&rl, &req, 11), "11111111110");
    let d = rl.check(&req);
    assert_eq!(d.reported.unwrap().bucket, BucketId::Descriptor(0));
    assert_eq!(
        d.x_ratelimit(),
        Some(XRateLimit {
            limit: 10,
            remaining: 0,
            reset: 6
        })
    );
    // Other routes only see the placeholder default bucket.
    let other = vec![vec![("generic_key", "Service[ratings.default]-Id[1]")]];
    assert_eq!(run(&rl, &other, 5), "11111");
    let d = rl.check(&other);
    assert_eq!(d.reported.unwrap().bucket, BucketId::Default);
    assert_eq!(d.x_ratelimit().unwrap().limit, 100000);
    clock.advance(60 * S);
    assert_eq!(run(&rl, &req, 11), "11111111110");
}

#[test]
fn match_needs_full_ordered_equality() {
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","descriptors":[{"entries":[{"key":"a","value":"1"},{"key":"b","value":"2"}],
            "tokenBucket":{"maxTokens":1,"fillInterval":"60s"}}]}"#,
    );
    // No default bucket: unmatched requests are allowed and report nothing.
    for req in [
        vec![vec![("a", "1")]],
        vec![vec![("b", "2"), ("a", "1")]],
        vec![vec![("a", "1"), ("b", "2"), ("c", "3")]],
        vec![vec![("a", "1")], vec![("b", "2")]],
    ] {
        let d = rl.check(&req);
        assert!(d.allowed && d.reported.is_none(), "{req:?}");
    }
    let full = vec![vec![("a", "1"), ("b", "2")]];
    assert_eq!(run(&rl, &full, 2), "10");
}

const TWO_DESCRIPTORS: &str = r#"{"statPrefix":"p",
  "tokenBucket":{"maxTokens":5,"tokensPerFill":5,"fillInterval":"60s"},
  "descriptors":[
    {"entries":[{"key":"client","value":"c"}],"tokenBucket":{"maxTokens":3,"tokensPerFill":3,"fillInterval":"1s"}},
    {"entries":[{"key":"path","value":"/p"}],"tokenBucket":{"maxTokens":2,"tokensPerFill":1,"fillInterval":"60s"}}]}"#;

#[test]
fn all_matches_charged_strictest_first_and_first_failure_rejects() {
    let (rl, _) = limiter(TWO_DESCRIPTORS);
    // path (1/60 s) is stricter than client (3/s): it is charged first whatever the order.
    let req = vec![vec![("client", "c")], vec![("path", "/p")]];
    let d = rl.check(&req);
    assert!(d.allowed);
    assert_eq!(
        d.reported.unwrap().bucket,
        BucketId::Descriptor(1),
        "strictest reported"
    );
    assert_eq!(d.x_ratelimit().unwrap().remaining, 1);
    assert!(rl.check(&req).allowed);
    // path is empty now: it rejects before client or default are touched.
    let d = rl.check(&req);
    assert!(!d.allowed);
    assert_eq!(d.reported.unwrap().bucket, BucketId::Descriptor(1));
    // client spent exactly 2, default spent exactly 2 (the denied request cost neither).
    let client = vec![vec![("client", "c")]];
    assert_eq!(run(&rl, &client, 2), "10");
    // default: 5 - 2 (pairs) - 1 (client alone) = 2 left; unmatched requests use it.
    assert_eq!(run(&rl, &[vec![("x", "y")]], 3), "110");
}

#[test]
fn descriptor_deny_does_not_burn_a_default_token() {
    let (rl, _) = limiter(TWO_DESCRIPTORS);
    let path = vec![vec![("path", "/p")]];
    assert_eq!(run(&rl, &path, 10), "1100000000");
    // Default still has 5 - 2 = 3 tokens.
    assert_eq!(run(&rl, &[], 4), "1110");
}

#[test]
fn default_bucket_denial_is_reported_and_keeps_descriptor_debit() {
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","tokenBucket":{"maxTokens":1,"fillInterval":"60s"},
        "descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":5,"fillInterval":"60s"}}]}"#,
    );
    let req = vec![vec![("k", "v")]];
    assert!(rl.check(&req).allowed);
    let d = rl.check(&req);
    assert!(!d.allowed);
    assert_eq!(d.reported.unwrap().bucket, BucketId::Default);
    // Each request the default bucket denies has already debited the descriptor (5 tokens):
    for _ in 0..3 {
        assert_eq!(
            rl.check(&req).reported.map(|r| r.bucket),
            Some(BucketId::Default)
        );
    }
    // ... so after 5 requests the descriptor itself is empty and is the one that denies.
    let d = rl.check(&req);
    assert!(!d.allowed);
    assert_eq!(d.reported.map(|r| r.bucket), Some(BucketId::Descriptor(0)));
}

#[test]
fn always_consume_default_false_skips_default_when_a_descriptor_matched() {
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","alwaysConsumeDefaultTokenBucket":false,
        "tokenBucket":{"maxTokens":1,"fillInterval":"60s"},
        "descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":5,"fillInterval":"60s"}}]}"#,
    );
    let req = vec![vec![("k", "v")]];
    assert_eq!(run(&rl, &req, 6), "111110");
    assert_eq!(run(&rl, &[vec![("k", "other")]], 2), "10");
}

#[test]
fn wildcard_descriptors_get_a_bucket_per_value_in_an_lru() {
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","maxDynamicDescriptors":2,
        "descriptors":[{"entries":[{"key":"user","value":""}],"tokenBucket":{"maxTokens":1,"fillInterval":"60s"}},
                       {"entries":[{"key":"user","value":"vip"}],"tokenBucket":{"maxTokens":3,"fillInterval":"60s"}}]}"#,
    );
    let u = |v: &'static str| vec![vec![("user", v)]];
    assert_eq!(run(&rl, &u("a"), 2), "10");
    assert_eq!(run(&rl, &u("b"), 2), "10");
    // Exact descriptors win over the wildcard.
    assert_eq!(run(&rl, &u("vip"), 4), "1110");
    let d = rl.check(&u("a"));
    assert_eq!(d.reported.unwrap().bucket, BucketId::Descriptor(0));
    // LRU order is now (a, b): inserting c evicts b, the least recently used.
    assert_eq!(run(&rl, &u("c"), 1), "1");
    assert_eq!(run(&rl, &u("a"), 1), "0", "a survived in the LRU");
    assert_eq!(
        run(&rl, &u("b"), 1),
        "1",
        "b was evicted: fresh full bucket"
    );
    // Wildcard needs the same length.
    assert!(
        rl.check(&[vec![("user", "a"), ("x", "y")]])
            .reported
            .is_none()
    );
}

#[test]
fn default_max_dynamic_descriptors_is_20() {
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","descriptors":[{"entries":[{"key":"ip","value":""}],"tokenBucket":{"maxTokens":1,"fillInterval":"60s"}}]}"#,
    );
    let vals: Vec<String> = (0..21).map(|i| format!("10.0.0.{i}")).collect();
    for v in &vals[..20] {
        assert!(rl.check(&[vec![("ip", v.as_str())]]).allowed);
    }
    // All 20 are remembered (empty buckets) ...
    assert!(!rl.check(&[vec![("ip", vals[0].as_str())]]).allowed);
    // ... the 21st evicts the least recently used (10.0.0.1, since .0 was just touched).
    assert!(rl.check(&[vec![("ip", vals[20].as_str())]]).allowed);
    assert!(rl.check(&[vec![("ip", vals[1].as_str())]]).allowed);
    // Re-creating .1 evicted .2; .3 is still remembered (and empty).
    assert!(!rl.check(&[vec![("ip", vals[3].as_str())]]).allowed);
}

#[test]
fn x_ratelimit_values_follow_the_bucket() {
    let (rl, clock) = limiter(
        r#"{"statPrefix":"p","enableXRatelimitHeaders":"DRAFT_VERSION_03",
        "tokenBucket":{"maxTokens":3,"tokensPerFill":1,"fillInterval":"10s"}}"#,
    );
    assert!(rl.x_ratelimit_headers_enabled());
    let x = |rl: &LocalRateLimiter<ManualClock>| {
        let d = rl.check(&NONE);
        (
            d.allowed,
            d.x_ratelimit().map(|x| (x.limit, x.remaining, x.reset)),
        )
    };
    assert_eq!(x(&rl), (true, Some((3, 2, 0))));
    assert_eq!(x(&rl), (true, Some((3, 1, 0))));
    assert_eq!(x(&rl), (true, Some((3, 0, 10))));
    assert_eq!(x(&rl), (false, Some((3, 0, 10))));
    clock.advance(Duration::from_millis(2500));
    assert_eq!(x(&rl), (false, Some((3, 0, 7))));
    clock.advance(Duration::from_millis(7500));
    assert_eq!(x(&rl), (true, Some((3, 0, 10))));
    let headers = rl.check(&NONE).x_ratelimit().unwrap().headers();
    assert_eq!(headers[0], ("x-ratelimit-limit", "3".to_string()));
}

#[test]
fn timer_model_reset_counts_down_the_fill_interval() {
    let (rl, clock) = timer_limiter(
        r#"{"statPrefix":"p","tokenBucket":{"maxTokens":2,"tokensPerFill":1,"fillInterval":"60s"}}"#,
    );
    let d = rl.check(&NONE);
    assert_eq!(
        d.x_ratelimit().map(|x| (x.remaining, x.reset)),
        Some((1, 60))
    );
    clock.advance(Duration::from_millis(10_500));
    let d = rl.check(&NONE);
    assert_eq!(
        d.x_ratelimit().map(|x| (x.remaining, x.reset)),
        Some((0, 50))
    );
    clock.advance(Duration::from_millis(49_500)); // t = 60 s: +1 token
    let d = rl.check(&NONE);
    assert!(d.allowed);
    assert_eq!(
        d.x_ratelimit().map(|x| (x.remaining, x.reset)),
        Some((0, 60))
    );
}

#[test]
fn timer_descriptors_refill_every_nth_tick() {
    let (rl, clock) = timer_limiter(
        r#"{"statPrefix":"p","tokenBucket":{"maxTokens":100,"tokensPerFill":100,"fillInterval":"0.050s"},
        "descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"0.150s"}}]}"#,
    );
    let req = vec![vec![("k", "v")]];
    assert_eq!(run(&rl, &req, 2), "10");
    clock.advance(Duration::from_millis(100)); // 2nd tick: not a multiple of 3
    assert_eq!(run(&rl, &req, 1), "0");
    clock.advance(Duration::from_millis(50)); // 3rd tick
    assert_eq!(run(&rl, &req, 2), "10");
}

fn err(json: &str) -> LocalConfigError {
    LocalRateLimiter::from_json(json, ManualClock::new()).unwrap_err()
}

#[test]
fn config_errors_are_typed() {
    assert_eq!(
        err(r#"{"statPrefix":"p","tokenBucket":{"maxTokens":1,"fillInterval":"0.049s"}}"#),
        LocalConfigError::FillIntervalTooShort {
            path: "token_bucket.fill_interval".into(),
            interval: Duration::from_millis(49)
        }
    );
    assert!(matches!(
        err(r#"{"statPrefix":"p","descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"0.010s"}}]}"#),
        LocalConfigError::FillIntervalTooShort { path, .. } if path == "descriptors[0].token_bucket.fill_interval"
    ));
    // max_tokens 0 (always deny) skips the interval check.
    let (rl, _) = limiter(
        r#"{"statPrefix":"p","descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":0,"fillInterval":"0.010s"}}]}"#,
    );
    assert!(!rl.check(&[vec![("k", "v")]]).allowed);
    assert_eq!(
        err(r#"{"statPrefix":"p","descriptors":[
            {"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}},
            {"entries":[{"key":"k","value":""}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}},
            {"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":2,"fillInterval":"2s"}}]}"#),
        LocalConfigError::DuplicateDescriptor {
            index: 2,
            first: 0,
            entries: "k=v".into()
        }
    );
    assert!(matches!(
        err(r#"{"statPrefix":"p","descriptors":[
            {"entries":[{"key":"k","value":""}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}},
            {"entries":[{"key":"k","value":""}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}}]}"#),
        LocalConfigError::DuplicateDescriptor {
            index: 1,
            first: 0,
            ..
        }
    ));
    assert!(matches!(
        err(
            r#"{"statPrefix":"p","tokenBucket":{"maxTokens":1,"tokensPerFill":0,"fillInterval":"1s"}}"#
        ),
        LocalConfigError::ZeroTokensPerFill { .. }
    ));
    assert!(matches!(
        err(r#"{"statPrefix":"p","descriptors":[{"entries":[],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}}]}"#),
        LocalConfigError::EmptyDescriptor { path } if path == "descriptors[0]"
    ));
    assert!(matches!(
        err(
            r#"{"statPrefix":"p","descriptors":[{"entries":[{"key":"","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}}]}"#
        ),
        LocalConfigError::EmptyKey { .. }
    ));
    assert!(matches!(
        err(r#"{"statPrefix":"p","bogus":1}"#),
        LocalConfigError::Json(_)
    ));
    // Timer model: descriptor interval must be a multiple of the top-level one.
    let cfg = LocalRateLimit::from_json(
        r#"{"statPrefix":"p","tokenBucket":{"maxTokens":1,"fillInterval":"1s"},
        "descriptors":[{"entries":[{"key":"k","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"1.5s"}}]}"#,
    )
    .unwrap();
    let opts = LimiterOptions {
        refill: RefillModel::TimerStepped,
    };
    assert!(matches!(
        LocalRateLimiter::with_options(&cfg, ManualClock::new(), opts).unwrap_err(),
        LocalConfigError::NotAMultiple { .. }
    ));
    assert!(LocalRateLimiter::from_config(&cfg, ManualClock::new()).is_ok());
}

#[test]
fn top_level_edge_cases() {
    // fill_interval 0: no default bucket at all.
    let (rl, _) =
        limiter(r#"{"statPrefix":"p","tokenBucket":{"maxTokens":1,"fillInterval":"0s"}}"#);
    assert_eq!(run(&rl, &[], 5), "11111");
    assert!(rl.default_bucket_state().is_none());
    // max_tokens 0: the default bucket denies everything.
    let (rl, clock) =
        limiter(r#"{"statPrefix":"p","tokenBucket":{"maxTokens":0,"fillInterval":"1s"}}"#);
    clock.advance(3600 * S);
    assert_eq!(run(&rl, &[], 3), "000");
    // tokens_per_fill defaults to 1.
    let (rl, clock) =
        limiter(r#"{"statPrefix":"p","tokenBucket":{"maxTokens":5,"fillInterval":"1s"}}"#);
    assert_eq!(run(&rl, &[], 6), "111110");
    clock.advance(S);
    assert_eq!(run(&rl, &[], 2), "10");
}

#[test]
fn long_run_admits_exactly_the_configured_rate() {
    // 7 tokens per 0.3 s with burst 4, hammered every millisecond for 30 s.
    let (rl, clock) = limiter(
        r#"{"statPrefix":"p","tokenBucket":{"maxTokens":4,"tokensPerFill":7,"fillInterval":"0.300s"}}"#,
    );
    let mut admitted = 0u64;
    for _ in 0..30_000 {
        clock.advance(Duration::from_millis(1));
        while rl.check(&NONE).allowed {
            admitted += 1;
        }
    }
    // 4 + 7/0.3 * 30 = 704.
    assert!((703..=704).contains(&admitted), "{admitted}");
}
