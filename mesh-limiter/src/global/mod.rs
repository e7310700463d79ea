//! Global rate limits shared by many proxies through one Redis or a Redis Cluster (feature
//! `redis`; the client is the `redis` crate, see [`RedisTarget`]).
//!
//! Fixed-window counters with the key scheme of envoyproxy/ratelimit, so Meshplane and that
//! service can count into the same Redis:
//!
//! `<prefix><domain>_<key1>_<value1>_..._<keyN>_<valueN>_<window start (unix seconds)>`
//!
//! where the window start is `now / unit * unit` (unit = 1, 60, 3600 or 86400 s). Each decision
//! is ONE pipelined exchange: `INCRBY key hits` + `EXPIRE key unit` for every limited
//! descriptor (one write per server; in a cluster one per master the keys hash to). A
//! descriptor is over the limit when the count after the increment exceeds
//! `requests_per_unit`. When Redis is down or slower than a timeout (connect or command), the
//! decision follows [`FailMode`] and carries the error; nothing panics.
//!
//! ```no_run
//! use std::time::Duration;
//! use mesh_limiter::global::{FailMode, GlobalOptions, GlobalRateLimiter, Rules};
//!
//! let rules = Rules::from_json(r#"{"domain":"edge","descriptors":[
//!     {"key":"remote_address","rate_limit":{"unit":"minute","requests_per_unit":100}}]}"#).unwrap();
//! let opts = GlobalOptions::new("127.0.0.1:6379".parse().unwrap())
//!     .timeout(Duration::from_millis(20))
//!     .fail_mode(FailMode::Open);
//! let rl = GlobalRateLimiter::with_system_clock(rules, opts);
//! let d = rl.check(&[[("remote_address", "10.1.2.3")]], 1);
//! if !d.allowed { /* 429 */ }
//!
//! // A cluster, configured like envoyproxy/ratelimit (REDIS_TYPE=cluster, REDIS_URL=seeds):
//! use mesh_limiter::global::RedisTarget;
//! let target = RedisTarget::parse("cluster", "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000").unwrap();
//! let opts = GlobalOptions::with_target(target)
//!     .connect_timeout(Duration::from_millis(50))
//!     .command_timeout(Duration::from_millis(20));
//! # let _ = opts;
//! ```

mod backend;
mod config;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::cluster_routing::Slot;
use std::collections::HashMap;

use backend::{Backend, Incr};
pub use backend::{RedisConfigError, RedisError, RedisTarget, RedisType};
pub use config::{
    DescriptorNode, GlobalConfig, GlobalConfigError, RateLimit, ResolvedLimit, Rules, Unit,
};

use crate::clock::{Clock, SystemClock};
use crate::local::Entry;

/// What a decision is when Redis cannot answer (down, refused, or slower than the timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Allow the request (Envoy's ratelimit filter default, `failure_mode_deny: false`).
    Open,
    /// Deny the request.
    Closed,
}

/// Connection and failure settings.
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    /// One server or a cluster's seed nodes.
    pub target: RedisTarget,
    /// Per command: the longest wait for one pipeline's replies (each socket read and write is
    /// bounded by it). Default 50 ms.
    pub command_timeout: Duration,
    /// Per connection: TCP connect plus the client's setup round trip; in cluster mode also the
    /// slot-map discovery on a fresh connection. Default 50 ms.
    pub connect_timeout: Duration,
    pub fail_mode: FailMode,
    /// envoyproxy/ratelimit's `CACHE_KEY_PREFIX` (default empty).
    pub key_prefix: String,
    /// After a failure, decisions fail fast (no Redis attempt) for this long, measured on the
    /// limiter's clock. Single server: every decision; cluster: decisions whose keys hash to a
    /// slot that failed (other nodes keep counting). Default 1 s.
    pub backoff: Duration,
    /// Idle connections kept for reuse. Default 8.
    pub max_idle: usize,
    /// envoyproxy/ratelimit's `EXPIRATION_JITTER_MAX_SECONDS` (default 0).
    pub expiration_jitter_max_seconds: u64,
}

impl GlobalOptions {
    /// One Redis server at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        GlobalOptions::with_target(RedisTarget::single(addr))
    }
    /// Any target, e.g. `RedisTarget::parse("cluster", "10.0.0.1:7000,10.0.0.2:7000")`.
    pub fn with_target(target: RedisTarget) -> Self {
        GlobalOptions {
            target,
            command_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_millis(50),
            fail_mode: FailMode::Open,
            key_prefix: String::new(),
            backoff: Duration::from_secs(1),
            max_idle: 8,
            expiration_jitter_max_seconds: 0,
        }
    }
    /// Sets both the command and the connect timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.command_timeout = t;
        self.connect_timeout = t;
        self
    }
    pub fn command_timeout(mut self, t: Duration) -> Self {
        self.command_timeout = t;
        self
    }
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    pub fn fail_mode(mut self, m: FailMode) -> Self {
        self.fail_mode = m;
        self
    }
    pub fn key_prefix(mut self, p: impl Into<String>) -> Self {
        self.key_prefix = p.into();
        self
    }
    pub fn backoff(mut self, b: Duration) -> Self {
        self.backoff = b;
        self
    }
}

/// Per-descriptor verdict (envoyproxy/ratelimit `DescriptorStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok,
    OverLimit,
}

/// One request descriptor's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorStatus {
    pub code: Code,
    /// The limit that applied (`None`: no limit configured, or unlimited).
    pub limit: Option<ResolvedLimit>,
    /// `requests_per_unit - count` when within the limit, else 0.
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset_seconds: u64,
    /// The count in Redis after this request's increment.
    pub count: u64,
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalDecision {
    pub allowed: bool,
    /// One status per request descriptor (empty when Redis failed).
    pub statuses: Vec<DescriptorStatus>,
    /// Set when Redis could not answer and [`FailMode`] decided.
    pub error: Option<RedisError>,
}

/// A fixed-window global limiter over Redis.
#[derive(Debug)]
pub struct GlobalRateLimiter<C: Clock> {
    rules: Rules,
    opts: GlobalOptions,
    clock: C,
    unix_at_origin: Duration,
    backend: Backend,
    down: Down,
    jitter: AtomicU64,
}

/// The reconnect backoff, in clock nanos until which a scope is considered down. A single
/// server is one scope; in a cluster each hash slot is its own (a dead node's slots back off,
/// the other nodes' slots keep counting).
#[derive(Debug, Default)]
struct Down {
    whole: AtomicU64,
    slots: Mutex<HashMap<Slot, u64>>,
}

impl Down {
    /// Whether any of `slots` (or, with `None`, the server) is down at `now`; expired marks are
    /// cleared.
    fn is_down(&self, now: u64, slots: Option<&[Slot]>) -> bool {
        match slots {
            None => {
                let until = self.whole.load(Ordering::Relaxed);
                if until == 0 {
                    return false;
                }
                if now < until {
                    return true;
                }
                self.whole.store(0, Ordering::Relaxed);
                false
            }
            Some(slots) => {
                let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                if map.is_empty() {
                    return false;
                }
                map.retain(|_, until| now < *until);
                slots.iter().any(|s| map.contains_key(s))
            }
        }
    }

    fn mark(&self, until: u64, slots: Option<&[Slot]>) {
        match slots {
            None => self.whole.store(until, Ordering::Relaxed),
            Some(slots) => {
                let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                for s in slots {
                    map.insert(*s, until);
                }
            }
        }
    }
}

fn clock_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl GlobalRateLimiter<SystemClock> {
    /// With the real clock; window starts use the system's Unix time.
    pub fn with_system_clock(rules: Rules, opts: GlobalOptions) -> Self {
        let clock = SystemClock::new();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let origin = unix.saturating_sub(clock.now());
        GlobalRateLimiter::new(rules, opts, clock, origin)
    }
}

impl<C: Clock> GlobalRateLimiter<C> {
    /// `unix_at_origin`: the Unix time at the clock's origin (Unix now = origin + clock.now()).
    pub fn new(rules: Rules, opts: GlobalOptions, clock: C, unix_at_origin: Duration) -> Self {
        let backend = Backend::new(
            opts.target.clone(),
            opts.connect_timeout,
            opts.command_timeout,
            opts.max_idle,
        );
        GlobalRateLimiter {
            rules,
            opts,
            clock,
            unix_at_origin,
            backend,
            down: Down::default(),
            jitter: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        }
    }

    /// Current Unix time in whole seconds, from the injected clock.
    pub fn unix_now(&self) -> u64 {
        (self.unix_at_origin + self.clock.now()).as_secs()
    }

    /// The Redis key envoyproxy/ratelimit would use for this descriptor at `unix_secs`.
    pub fn cache_key<E: Entry>(&self, entries: &[E], unit: Unit, unix_secs: u64) -> String {
        let mut k = String::with_capacity(64);
        k.push_str(&self.opts.key_prefix);
        k.push_str(self.rules.domain());
        k.push('_');
        for e in entries {
            k.push_str(e.key());
            k.push('_');
            k.push_str(e.value());
            k.push('_');
        }
        let d = unit.divider();
        k.push_str(&(unix_secs / d * d).to_string());
        k
    }

    fn expiration(&self, unit: Unit) -> u64 {
        let mut e = unit.divider();
        let j = self.opts.expiration_jitter_max_seconds;
        if j > 0 {
            // xorshift64: cheap, lock-free jitter.
            let mut x = self.jitter.load(Ordering::Relaxed);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.jitter.store(x, Ordering::Relaxed);
            e += x % j;
        }
        e
    }

    fn failed(&self, error: RedisError) -> GlobalDecision {
        GlobalDecision {
            allowed: self.opts.fail_mode == FailMode::Open,
            statuses: Vec::new(),
            error: Some(error),
        }
    }

    /// One pipelined exchange for every limited descriptor, behind the backoff.
    fn exchange(&self, incrs: &[Incr<'_>]) -> Result<Vec<i64>, RedisError> {
        let slots: Option<Vec<Slot>> = match self.backend.kind() {
            RedisType::Single => None,
            RedisType::Cluster => Some(incrs.iter().map(|i| Slot::for_key(i.key)).collect()),
        };
        let now = clock_nanos(self.clock.now());
        if self.down.is_down(now, slots.as_deref()) {
            return Err(RedisError::Backoff);
        }
        let result = self.backend.incr(incrs);
        if result.is_err() {
            let until = clock_nanos(self.clock.now().saturating_add(self.opts.backoff)).max(1);
            self.down.mark(until, slots.as_deref());
            self.backend.drop_pool();
        }
        result
    }

    /// Decides one request: every request descriptor that has a limit is counted
    /// (`hits` per request, at least 1) in ONE pipelined exchange (in a cluster: one write per
    /// node the keys hash to).
    pub fn check<D, E>(&self, descriptors: &[D], hits: u32) -> GlobalDecision
    where
        D: AsRef<[E]>,
        E: Entry,
    {
        let hits = hits.max(1);
        let now = self.unix_now();
        let limits: Vec<Option<&ResolvedLimit>> = descriptors
            .iter()
            .map(|d| self.rules.lookup(d.as_ref()).filter(|l| !l.unlimited))
            .collect();
        let keys: Vec<(String, u64)> = descriptors
            .iter()
            .zip(&limits)
            .filter_map(|(d, l)| {
                l.map(|l| {
                    (
                        self.cache_key(d.as_ref(), l.unit, now),
                        self.expiration(l.unit),
                    )
                })
            })
            .collect();
        let counts = if keys.is_empty() {
            Vec::new()
        } else {
            let incrs: Vec<Incr<'_>> = keys
                .iter()
                .map(|(key, exp)| Incr {
                    key,
                    hits,
                    expire_secs: *exp,
                })
                .collect();
            match self.exchange(&incrs) {
                Ok(c) => c,
                Err(e) => return self.failed(e),
            }
        };
        let mut counts = counts.into_iter();
        let mut allowed = true;
        let mut statuses = Vec::with_capacity(descriptors.len());
        for (d, l) in descriptors.iter().zip(&limits) {
            let Some(l) = l else {
                statuses.push(DescriptorStatus {
                    code: Code::Ok,
                    limit: self.rules.lookup(d.as_ref()).cloned(),
                    remaining: 0,
                    reset_seconds: 0,
                    count: 0,
                });
                continue;
            };
            let Some(count) = counts.next() else {
                return self.failed(RedisError::Protocol("missing INCRBY reply".into()));
            };
            let count = count.max(0) as u64;
            let limit = u64::from(l.requests_per_unit);
            let over = count > limit;
            if over && !l.shadow_mode {
                allowed = false;
            }
            let div = l.unit.divider();
            statuses.push(DescriptorStatus {
                code: if over { Code::OverLimit } else { Code::Ok },
                limit: Some((*l).clone()),
                remaining: if over { 0 } else { (limit - count) as u32 },
                reset_seconds: div - now % div,
                count,
            });
        }
        GlobalDecision {
            allowed,
            statuses,
            error: None,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &GlobalOptions {
        &self.opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn cache_keys_match_envoyproxy_ratelimit() {
        // envoyproxy/ratelimit's own test vector: domain "domain", [key=value], SECOND, t=1234.
        let rules = Rules::from_json(r#"{"domain":"domain","descriptors":[]}"#).unwrap();
        let addr = "127.0.0.1:1".parse().unwrap();
        let rl = GlobalRateLimiter::new(
            rules,
            GlobalOptions::new(addr),
            ManualClock::new(),
            Duration::from_secs(1234),
        );
        assert_eq!(
            rl.cache_key(&[("key", "value")], Unit::Second, rl.unix_now()),
            "domain_key_value_1234"
        );
        assert_eq!(
            rl.cache_key(&[("a", "1"), ("b", "2")], Unit::Minute, 1234),
            "domain_a_1_b_2_1200"
        );
        let rules = Rules::from_json(r#"{"domain":"domain","descriptors":[]}"#).unwrap();
        let rl = GlobalRateLimiter::new(
            rules,
            GlobalOptions::new(addr).key_prefix("prefix:"),
            ManualClock::new(),
            Duration::ZERO,
        );
        assert_eq!(
            rl.cache_key(&[("key", "value")], Unit::Hour, 7300),
            "prefix:domain_key_value_7200"
        );
    }
}
