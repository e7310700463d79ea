//! Global limits against a real three-master Redis Cluster on loopback (three `redis-server
//! --cluster-enabled yes` + `redis-cli --cluster create`, started and stopped here). Keys are
//! chosen so they hash to slots on different masters; nodes are killed and frozen mid-test.
//! Run: `cargo test -p mesh-limiter --features redis`.

#[path = "support/redis_servers.rs"]
mod redis_servers;

use std::time::{Duration, Instant};

use mesh_limiter::ManualClock;
use mesh_limiter::global::{
    FailMode, GlobalOptions, GlobalRateLimiter, RedisError, RedisTarget, Rules,
};
use redis_servers::{Cluster, wait_until};

/// Unix time at the ManualClock's origin: the start of a minute.
const T0: Duration = Duration::from_secs(1_700_002_800);

const RULES: &str = r#"{"domain":"mesh","descriptors":[
    {"key":"remote_address","rate_limit":{"unit":"minute","requests_per_unit":3}}]}"#;

const TIMEOUT: Duration = Duration::from_millis(300);

fn limiter(
    target: RedisTarget,
    clock: &ManualClock,
    mode: FailMode,
) -> GlobalRateLimiter<ManualClock> {
    let opts = GlobalOptions::with_target(target)
        .timeout(TIMEOUT)
        .fail_mode(mode)
        .backoff(Duration::from_secs(1));
    GlobalRateLimiter::new(Rules::from_json(RULES).unwrap(), opts, clock.clone(), T0)
}

fn key(addr: &str) -> String {
    format!("mesh_remote_address_{addr}_{}", T0.as_secs())
}

/// One client address per master: `addrs[i]`'s counter key lives on `cluster.nodes[i]`.
fn one_address_per_node(cluster: &Cluster) -> Vec<String> {
    let mut found: Vec<Option<String>> = vec![None; cluster.nodes.len()];
    for i in 1..=250 {
        let a = format!("10.1.0.{i}");
        let owner = cluster.owner(&key(&a), 0);
        if found[owner].is_none() {
            found[owner] = Some(a);
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found
        .into_iter()
        .map(|a| a.expect("an address for every master"))
        .collect()
}

fn one(addr: &str) -> Vec<Vec<(&str, &str)>> {
    vec![vec![("remote_address", addr)]]
}

/// '1' allowed / '0' denied for `n` requests, asserting Redis answered each.
fn seq(rl: &GlobalRateLimiter<ManualClock>, addr: &str, n: usize) -> String {
    (0..n)
        .map(|_| {
            let d = rl.check(&one(addr), 1);
            assert!(d.error.is_none(), "{addr}: {:?}", d.error);
            if d.allowed { '1' } else { '0' }
        })
        .collect()
}

#[test]
fn limits_are_enforced_across_the_masters_of_a_cluster() {
    let cluster = Cluster::start();
    let addrs = one_address_per_node(&cluster);
    let clock = ManualClock::new();
    // `a` knows one seed only and discovers the rest; `b` is configured the way
    // envoyproxy/ratelimit is (REDIS_TYPE=cluster, REDIS_URL=host:port,host:port,...).
    let a = limiter(
        RedisTarget::cluster(&cluster.seeds()[..1]).unwrap(),
        &clock,
        FailMode::Closed,
    );
    let url = cluster
        .seeds()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let b = limiter(
        RedisTarget::parse("cluster", &url).unwrap(),
        &clock,
        FailMode::Closed,
    );
    for n in &cluster.nodes {
        n.cmd(&["CONFIG", "RESETSTAT"]);
    }
    // One request whose three descriptors hash to three different masters: one decision.
    let req: Vec<Vec<(&str, &str)>> = addrs
        .iter()
        .map(|x| vec![("remote_address", x.as_str())])
        .collect();
    let d = a.check(&req, 1);
    assert!(d.allowed && d.error.is_none(), "{d:?}");
    assert_eq!(
        d.statuses.iter().map(|s| s.count).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    let d = b.check(&req, 1);
    assert_eq!(
        d.statuses.iter().map(|s| s.count).collect::<Vec<_>>(),
        [2, 2, 2]
    );
    // Each counter is on its own master (a plain GET there, no redirect) with its TTL.
    for (i, x) in addrs.iter().enumerate() {
        assert_eq!(cluster.nodes[i].cmd(&["GET", &key(x)]), "2", "node {i}");
        let ttl: i64 = cluster.nodes[i].cmd(&["TTL", &key(x)]).parse().unwrap();
        assert!((1..=60).contains(&ttl), "{ttl}");
        assert_eq!(cluster.nodes[i].calls("incrby"), 2, "node {i}");
        assert_eq!(cluster.nodes[i].calls("expire"), 2, "node {i}");
    }
    // The limit (3 a minute) holds per key, whichever proxy counts, on every master.
    assert!(a.check(&req, 1).allowed);
    let d = b.check(&req, 1);
    assert!(!d.allowed);
    assert_eq!(
        d.statuses.iter().map(|s| s.count).collect::<Vec<_>>(),
        [4, 4, 4]
    );
    // Keys on different masters are independent counters.
    let fresh = one_address_per_node_after(&cluster, &addrs);
    assert_eq!(seq(&a, &fresh, 4), "1110");
    // A new window starts on every master at once.
    clock.advance(Duration::from_secs(60));
    for x in &addrs {
        assert_eq!(seq(&b, x, 4), "1110", "{x}");
    }
}

/// Another address on the same master as `addrs[1]` (not one of `addrs`).
fn one_address_per_node_after(cluster: &Cluster, addrs: &[String]) -> String {
    (1..=250)
        .map(|i| format!("10.2.0.{i}"))
        .find(|a| cluster.owner(&key(a), 0) == 1 && !addrs.contains(a))
        .expect("another address on master 1")
}

#[test]
fn a_master_killed_mid_test_fails_only_its_own_keys() {
    let mut cluster = Cluster::start();
    let addrs = one_address_per_node(&cluster);
    let clock = ManualClock::new();
    let target = RedisTarget::cluster(&cluster.seeds()).unwrap();
    let open = limiter(target.clone(), &clock, FailMode::Open);
    let closed = limiter(target, &clock, FailMode::Closed);
    for x in &addrs {
        assert_eq!(seq(&open, x, 1), "1");
        assert_eq!(seq(&closed, x, 1), "1");
    }

    // Master 1 (not the first seed, so discovery goes on working) dies.
    cluster.nodes[1].kill();
    let dead = &addrs[1];
    let d = open.check(&one(dead), 1);
    assert!(d.allowed, "fail-open allows");
    assert!(d.error.is_some());
    let d = closed.check(&one(dead), 1);
    assert!(!d.allowed, "fail-closed denies");
    assert!(d.error.is_some());
    // Its slot backs off: no attempt, the same answers.
    assert_eq!(open.check(&one(dead), 1).error, Some(RedisError::Backoff));
    assert!(open.check(&one(dead), 1).allowed);
    assert!(!closed.check(&one(dead), 1).allowed);
    // Keys on the live masters are still counted and limited (2 of 3 used above).
    for x in [&addrs[0], &addrs[2]] {
        assert_eq!(seq(&open, x, 2), "10", "{x}");
        assert_eq!(seq(&closed, x, 1), "0", "{x}");
    }
    // A request touching the dead master and a live one follows the fail mode as a whole.
    let mixed = vec![
        vec![("remote_address", addrs[0].as_str())],
        vec![("remote_address", dead.as_str())],
    ];
    assert!(open.check(&mixed, 1).allowed);
    assert!(!closed.check(&mixed, 1).allowed);

    // Once the live masters have flagged it `fail` (cluster-node-timeout 500 ms), they keep
    // serving their own slots; after the backoff the dead master's keys are tried again and
    // fail again.
    wait_until("the live masters to flag master 1 as failed", || {
        cluster.sees_failed(0, 1) && cluster.sees_failed(2, 1)
    });
    clock.advance(Duration::from_secs(1));
    let d = closed.check(&one(dead), 1);
    assert!(!d.allowed);
    assert!(
        d.error.is_some() && d.error != Some(RedisError::Backoff),
        "{:?}",
        d.error
    );
    let d = open.check(&one(dead), 1);
    assert!(d.allowed && d.error.is_some());
    // The live masters count on in the same window (the counters survived) and in the next.
    for x in [&addrs[0], &addrs[2]] {
        let d = closed.check(&one(x), 1);
        assert!(d.error.is_none(), "{x}: {:?}", d.error);
        assert!(!d.allowed);
        assert!(d.statuses[0].count >= 5, "{:?}", d.statuses);
    }
    clock.advance(Duration::from_secs(60));
    for x in [&addrs[0], &addrs[2]] {
        assert_eq!(seq(&closed, x, 4), "1110", "{x}");
    }
}

#[test]
fn a_frozen_master_times_out_into_the_fail_mode_within_the_command_timeout() {
    let cluster = Cluster::start();
    let addrs = one_address_per_node(&cluster);
    let clock = ManualClock::new();
    let target = RedisTarget::cluster(&cluster.seeds()).unwrap();
    let open = limiter(target.clone(), &clock, FailMode::Open);
    let closed = limiter(target, &clock, FailMode::Closed);
    for x in &addrs {
        assert_eq!(seq(&open, x, 1), "1");
        assert_eq!(seq(&closed, x, 1), "1");
    }
    // Master 2 stops answering; its connections stay open.
    cluster.nodes[2].signal("-STOP");
    for (rl, allowed) in [(&open, true), (&closed, false)] {
        let start = Instant::now();
        let d = rl.check(&one(&addrs[2]), 1);
        let took = start.elapsed();
        assert_eq!(d.allowed, allowed);
        assert_eq!(d.error, Some(RedisError::Timeout(TIMEOUT)));
        assert!(took >= TIMEOUT && took < Duration::from_secs(3), "{took:?}");
    }
    // The other masters keep limiting (a fresh cluster connection skips the frozen master
    // after its connect timeout).
    assert_eq!(seq(&closed, &addrs[0], 2), "10");
    cluster.nodes[2].signal("-CONT");
    clock.advance(Duration::from_secs(1));
    let d = closed.check(&one(&addrs[2]), 1);
    assert!(d.error.is_none(), "{:?}", d.error);
    assert!(d.statuses[0].count >= 3, "{:?}", d.statuses);
}

#[test]
fn cluster_seed_that_accepts_but_never_answers_hits_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = Duration::from_millis(200);
    for mode in [FailMode::Open, FailMode::Closed] {
        let opts = GlobalOptions::with_target(RedisTarget::cluster(&[addr]).unwrap())
            .connect_timeout(connect)
            .command_timeout(Duration::from_secs(30))
            .fail_mode(mode);
        let rl = GlobalRateLimiter::new(
            Rules::from_json(RULES).unwrap(),
            opts,
            ManualClock::new(),
            T0,
        );
        let start = Instant::now();
        let d = rl.check(&one("10.0.0.9"), 1);
        let took = start.elapsed();
        assert_eq!(d.allowed, mode == FailMode::Open);
        assert!(
            matches!(&d.error, Some(RedisError::Connect { addr: a, .. }) if *a == addr.to_string()),
            "{:?}",
            d.error
        );
        assert!(took >= connect && took < Duration::from_secs(5), "{took:?}");
    }
    drop(listener);
}
