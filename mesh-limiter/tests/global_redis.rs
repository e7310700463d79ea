//! Global limits against a real `redis-server` on loopback (spawned here on a free port by
//! `tests/support/redis_servers.rs`). Needs the `redis-server` binary: a missing binary fails
//! loudly. Run: `cargo test -p mesh-limiter --features redis`.

#[path = "support/redis_servers.rs"]
mod redis_servers;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use mesh_limiter::ManualClock;
use mesh_limiter::global::{
    Code, FailMode, GlobalOptions, GlobalRateLimiter, RedisError, RedisTarget, Rules, Unit,
};
use redis_servers::Redis;

/// Unix time at the ManualClock's origin: the start of a minute (and an hour).
const T0: Duration = Duration::from_secs(1_700_002_800);

const RULES: &str = r#"{"domain":"mesh","descriptors":[
    {"key":"remote_address","rate_limit":{"unit":"minute","requests_per_unit":3}},
    {"key":"remote_address","value":"10.9.9.9","rate_limit":{"unlimited":true}},
    {"key":"path","value":"/shadow","shadow_mode":true,"rate_limit":{"unit":"second","requests_per_unit":1}},
    {"key":"user","rate_limit":{"unit":"hour","requests_per_unit":2},
     "descriptors":[{"key":"path","value":"/login","rate_limit":{"unit":"second","requests_per_unit":1}}]}]}"#;

fn limiter(redis: &Redis, clock: &ManualClock, mode: FailMode) -> GlobalRateLimiter<ManualClock> {
    let opts = GlobalOptions::new(redis.addr())
        .timeout(Duration::from_millis(300))
        .fail_mode(mode)
        .backoff(Duration::from_secs(1));
    GlobalRateLimiter::new(Rules::from_json(RULES).unwrap(), opts, clock.clone(), T0)
}

fn seq(rl: &GlobalRateLimiter<ManualClock>, req: &[Vec<(&str, &str)>], n: usize) -> String {
    (0..n)
        .map(|_| {
            let d = rl.check(req, 1);
            assert!(d.error.is_none(), "{:?}", d.error);
            if d.allowed { '1' } else { '0' }
        })
        .collect()
}

#[test]
fn two_proxies_share_one_fixed_window() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let a = limiter(&redis, &clock, FailMode::Closed);
    let b = limiter(&redis, &clock, FailMode::Closed);
    let req = vec![vec![("remote_address", "10.0.0.1")]];
    assert_eq!(seq(&a, &req, 2), "11");
    let d = b.check(&req, 1);
    assert!(d.allowed);
    assert_eq!(d.statuses[0].remaining, 0);
    assert_eq!(d.statuses[0].reset_seconds, 60);
    assert_eq!(seq(&a, &req, 1), "0");
    let d = b.check(&req, 1);
    assert!(!d.allowed);
    assert_eq!(d.statuses[0].code, Code::OverLimit);
    assert_eq!(d.statuses[0].count, 5);
    // The key is exactly envoyproxy/ratelimit's, with the window's TTL.
    let key = format!("mesh_remote_address_10.0.0.1_{}", T0.as_secs());
    assert_eq!(a.cache_key(&req[0], Unit::Minute, a.unix_now()), key);
    assert_eq!(redis.cmd(&["GET", &key]), "5");
    let ttl: i64 = redis.cmd(&["TTL", &key]).parse().unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
    // Other clients have their own counter.
    assert_eq!(seq(&b, &[vec![("remote_address", "10.0.0.2")]], 4), "1110");
    // 59 s later still the same window; at 60 s a new one.
    clock.advance(Duration::from_secs(59));
    assert_eq!(seq(&a, &req, 1), "0");
    assert_eq!(a.check(&req, 1).statuses[0].reset_seconds, 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(seq(&b, &req, 4), "1110");
}

#[test]
fn counters_already_written_by_another_service_are_honoured() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let rl = limiter(&redis, &clock, FailMode::Closed);
    // What envoyproxy/ratelimit leaves after 2 hits for user=alice this hour.
    let key = format!("mesh_user_alice_{}", T0.as_secs() / 3600 * 3600);
    assert_eq!(redis.cmd(&["SET", &key, "2"]), "OK");
    let d = rl.check(&[vec![("user", "alice")]], 1);
    assert!(!d.allowed);
    assert_eq!(d.statuses[0].count, 3);
    assert_eq!(seq(&rl, &[vec![("user", "bob")]], 3), "110");
}

#[test]
fn every_descriptor_counted_in_one_pipelined_exchange() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let rl = limiter(&redis, &clock, FailMode::Closed);
    assert_eq!(redis.cmd(&["CONFIG", "RESETSTAT"]), "OK");
    let req = vec![
        vec![("remote_address", "10.0.0.7")],
        vec![("user", "carol"), ("path", "/login")],
        vec![("remote_address", "10.9.9.9")], // unlimited: not counted
        vec![("nothing", "here")],            // no rule
    ];
    let d = rl.check(&req, 1);
    assert!(d.allowed);
    assert_eq!(d.statuses.len(), 4);
    assert_eq!(d.statuses[1].limit.as_ref().unwrap().unit, Unit::Second);
    assert!(d.statuses[2].limit.as_ref().unwrap().unlimited);
    assert!(d.statuses[3].limit.is_none());
    // The nested rule is per second with limit 1: the second request is over.
    let d = rl.check(&req, 1);
    assert!(!d.allowed);
    assert_eq!(
        d.statuses.iter().map(|s| s.code).collect::<Vec<_>>(),
        [Code::Ok, Code::OverLimit, Code::Ok, Code::Ok]
    );
    let stats = redis.cmd(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_incrby:calls=4,"), "{stats}");
    assert!(stats.contains("cmdstat_expire:calls=4,"), "{stats}");
    // hits_addend: 5 hits at once.
    let d = rl.check(&[vec![("remote_address", "10.0.0.8")]], 5);
    assert!(!d.allowed);
    assert_eq!(d.statuses[0].count, 5);
}

#[test]
fn shadow_mode_reports_but_allows() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let rl = limiter(&redis, &clock, FailMode::Closed);
    let req = vec![vec![("path", "/shadow")]];
    assert_eq!(seq(&rl, &req, 3), "111");
    assert_eq!(rl.check(&req, 1).statuses[0].code, Code::OverLimit);
}

#[test]
fn redis_killed_mid_test_fail_open_vs_closed_and_recovery() {
    let mut redis = Redis::start();
    let port = redis.port;
    let clock = ManualClock::new();
    let open = limiter(&redis, &clock, FailMode::Open);
    let closed = limiter(&redis, &clock, FailMode::Closed);
    let req = vec![vec![("remote_address", "10.0.0.3")]];
    assert_eq!(seq(&open, &req, 2), "11");
    assert_eq!(seq(&closed, &req, 2), "10");

    redis.kill();
    let d = open.check(&req, 1);
    assert!(d.allowed, "fail-open allows");
    assert!(d.error.is_some());
    let d = closed.check(&req, 1);
    assert!(!d.allowed, "fail-closed denies");
    assert!(d.error.is_some());
    // During the backoff no connection is even attempted.
    assert_eq!(open.check(&req, 1).error, Some(RedisError::Backoff));
    assert_eq!(closed.check(&req, 1).error, Some(RedisError::Backoff));
    assert!(!closed.check(&req, 1).allowed);

    // Redis comes back (empty); after the backoff both limiters count again.
    let redis = Redis::start_on(port);
    assert_eq!(open.check(&req, 1).error, Some(RedisError::Backoff));
    clock.advance(Duration::from_secs(1));
    assert_eq!(seq(&open, &req, 1), "1");
    assert_eq!(seq(&closed, &req, 3), "110");
    let key = format!("mesh_remote_address_10.0.0.3_{}", T0.as_secs());
    assert_eq!(redis.cmd(&["GET", &key]), "4");
}

#[test]
fn slow_redis_times_out_into_the_fail_mode() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let open = limiter(&redis, &clock, FailMode::Open);
    let closed = limiter(&redis, &clock, FailMode::Closed);
    let req = vec![vec![("remote_address", "10.0.0.4")]];
    assert_eq!(seq(&closed, &req, 1), "1");
    assert_eq!(seq(&open, &req, 1), "1");

    redis.signal("-STOP"); // frozen: connections stay open, nothing answers
    let d = open.check(&req, 1);
    assert!(d.allowed);
    assert_eq!(
        d.error,
        Some(RedisError::Timeout(Duration::from_millis(300)))
    );
    let d = closed.check(&req, 1);
    assert!(!d.allowed);
    assert_eq!(
        d.error,
        Some(RedisError::Timeout(Duration::from_millis(300)))
    );
    redis.signal("-CONT");

    clock.advance(Duration::from_secs(1));
    // The frozen server executed the queued increments when it resumed: the count reflects them.
    let d = closed.check(&req, 1);
    assert!(d.error.is_none(), "{:?}", d.error);
    assert!(d.statuses[0].count >= 3, "{:?}", d.statuses);
}

#[test]
fn nothing_listening_is_a_typed_error_not_a_panic() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts =
        GlobalOptions::new(SocketAddr::from(([127, 0, 0, 1], port))).fail_mode(FailMode::Closed);
    let rl = GlobalRateLimiter::new(
        Rules::from_json(RULES).unwrap(),
        opts,
        ManualClock::new(),
        T0,
    );
    let d = rl.check(&[vec![("remote_address", "1.1.1.1")]], 1);
    assert!(!d.allowed);
    assert!(
        matches!(d.error, Some(RedisError::Connect { .. })),
        "{:?}",
        d.error
    );
    // A request with no limited descriptor never needs Redis.
    let d = rl.check(&[vec![("nothing", "here")]], 1);
    assert!(d.allowed && d.error.is_none());
}

/// A listener that completes the TCP handshake (the kernel's backlog) but never reads or
/// answers: the client's connection setup round trip can only end by the connect timeout.
fn silent_listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[test]
fn server_that_accepts_but_never_answers_hits_the_connect_timeout() {
    let (_listener, addr) = silent_listener();
    let connect = Duration::from_millis(200);
    let command = Duration::from_secs(30);
    for mode in [FailMode::Open, FailMode::Closed] {
        let opts = GlobalOptions::new(addr)
            .connect_timeout(connect)
            .command_timeout(command)
            .fail_mode(mode);
        let rl = GlobalRateLimiter::new(
            Rules::from_json(RULES).unwrap(),
            opts,
            ManualClock::new(),
            T0,
        );
        let start = Instant::now();
        let d = rl.check(&[vec![("remote_address", "10.0.0.5")]], 1);
        let took = start.elapsed();
        assert_eq!(d.allowed, mode == FailMode::Open, "{mode:?}");
        assert_eq!(
            d.error,
            Some(RedisError::ConnectTimeout {
                addr: addr.to_string(),
                after: connect
            })
        );
        // Bounded by the connect timeout, not the (30 s) command timeout.
        assert!(took >= connect && took < Duration::from_secs(5), "{took:?}");
        // Then the backoff answers at once, without another attempt.
        assert_eq!(
            rl.check(&[vec![("remote_address", "10.0.0.5")]], 1).error,
            Some(RedisError::Backoff)
        );
    }
}

#[test]
fn target_from_envoyproxy_ratelimit_settings_reaches_the_server() {
    let redis = Redis::start();
    let clock = ManualClock::new();
    let target = RedisTarget::parse("single", &format!("127.0.0.1:{}", redis.port)).unwrap();
    let opts = GlobalOptions::with_target(target).fail_mode(FailMode::Closed);
    let rl = GlobalRateLimiter::new(Rules::from_json(RULES).unwrap(), opts, clock.clone(), T0);
    assert_eq!(seq(&rl, &[vec![("remote_address", "10.0.0.6")]], 4), "1110");
    // The same through a redis:// URL with a database number: the counter lands in db 3.
    let target =
        RedisTarget::parse("single", &format!("redis://127.0.0.1:{}/3", redis.port)).unwrap();
    let opts = GlobalOptions::with_target(target).fail_mode(FailMode::Closed);
    let rl = GlobalRateLimiter::new(Rules::from_json(RULES).unwrap(), opts, clock, T0);
    assert_eq!(seq(&rl, &[vec![("remote_address", "10.0.0.6")]], 1), "1");
    let key = format!("mesh_remote_address_10.0.0.6_{}", T0.as_secs());
    assert_eq!(redis.cmd(&["GET", &key]), "4");
    let mut c = redis.conn();
    redis::cmd("SELECT").arg(3).exec(&mut c).unwrap();
    let in_db3: String = redis::cmd("GET").arg(&key).query(&mut c).unwrap();
    assert_eq!(in_db3, "1");
}
