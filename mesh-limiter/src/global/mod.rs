//! Global rate limits shared by many proxies through one Redis (feature `redis`).
//!
//! Fixed-window counters with the key scheme of envoyproxy/ratelimit, so Meshplane and that
//! service can count into the same Redis:
//!
//! `<prefix><domain>_<key1>_<value1>_..._<keyN>_<valueN>_<window start (unix seconds)>`
//!
//! where the window start is `now / unit * unit` (unit = 1, 60, 3600 or 86400 s). Each decision
//! is ONE round trip: `INCRBY key hits` + `EXPIRE key unit` for every limited descriptor,
//! pipelined in a single write. A descriptor is over the limit when the count after the
//! increment exceeds `requests_per_unit`. When Redis is down or slower than the timeout, the
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
//! ```

mod config;
mod resp;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use config::{
    DescriptorNode, GlobalConfig, GlobalConfigError, RateLimit, ResolvedLimit, Rules, Unit,
};
pub use resp::RedisError;
use resp::{Conn, Reply};

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
    pub addr: SocketAddr,
    /// Whole-exchange timeout for one decision (write + all replies). Default 50 ms.
    pub timeout: Duration,
    /// TCP connect timeout. Default 50 ms.
    pub connect_timeout: Duration,
    pub fail_mode: FailMode,
    /// envoyproxy/ratelimit's `CACHE_KEY_PREFIX` (default empty).
    pub key_prefix: String,
    /// After a failure, decisions fail fast (no Redis attempt) for this long, measured on the
    /// limiter's clock. Default 1 s.
    pub backoff: Duration,
    /// Idle connections kept for reuse. Default 8.
    pub max_idle: usize,
    /// envoyproxy/ratelimit's `EXPIRATION_JITTER_MAX_SECONDS` (default 0).
    pub expiration_jitter_max_seconds: u64,
}

impl GlobalOptions {
    pub fn new(addr: SocketAddr) -> Self {
        GlobalOptions {
            addr,
            timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_millis(50),
            fail_mode: FailMode::Open,
            key_prefix: String::new(),
            backoff: Duration::from_secs(1),
            max_idle: 8,
            expiration_jitter_max_seconds: 0,
        }
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
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
    pool: Mutex<Vec<Conn>>,
    /// Clock nanos until which Redis is considered down (0 = up).
    down_until: AtomicU64,
    jitter: AtomicU64,
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
        GlobalRateLimiter {
            rules,
            opts,
            clock,
            unix_at_origin,
            pool: Mutex::new(Vec::new()),
            down_until: AtomicU64::new(0),
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

    fn mark_down(&self) {
        let until = clock_nanos(self.clock.now().saturating_add(self.opts.backoff)).max(1);
        self.down_until.store(until, Ordering::Relaxed);
        // Every pooled connection is suspect once one failed.
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn exchange(&self, request: &[u8], n: usize) -> Result<Vec<Reply>, RedisError> {
        let down = self.down_until.load(Ordering::Relaxed);
        if down != 0 {
            if clock_nanos(self.clock.now()) < down {
                return Err(RedisError::Backoff);
            }
            self.down_until.store(0, Ordering::Relaxed);
        }
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let was_pooled = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => Conn::connect(self.opts.addr, self.opts.connect_timeout)?,
        };
        let mut result = conn.round_trip(request, n, self.opts.timeout);
        if was_pooled && matches!(result, Err(RedisError::Closed | RedisError::Io(_))) {
            // A stale pooled connection (e.g. Redis restarted): one retry on a fresh one.
            conn = Conn::connect(self.opts.addr, self.opts.connect_timeout)?;
            result = conn.round_trip(request, n, self.opts.timeout);
        }
        if result.is_ok() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < self.opts.max_idle {
                pool.push(conn);
            }
        }
        result
    }

    /// Decides one request: every request descriptor that has a limit is counted
    /// (`hits` per request, at least 1) in ONE pipelined round trip.
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
        let mut request = Vec::with_capacity(128 * descriptors.len());
        let mut n = 0;
        let hits_s = hits.to_string();
        for (d, l) in descriptors.iter().zip(&limits) {
            if let Some(l) = l {
                let key = self.cache_key(d.as_ref(), l.unit, now);
                let exp = self.expiration(l.unit).to_string();
                resp::encode(
                    &mut request,
                    &[b"INCRBY", key.as_bytes(), hits_s.as_bytes()],
                );
                resp::encode(&mut request, &[b"EXPIRE", key.as_bytes(), exp.as_bytes()]);
                n += 2;
            }
        }
        let replies = if n == 0 {
            Vec::new()
        } else {
            match self.exchange(&request, n) {
                Ok(r) => r,
                Err(e) => {
                    if e != RedisError::Backoff {
                        self.mark_down();
                    }
                    return self.failed(e);
                }
            }
        };
        let mut replies = replies.into_iter();
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
            let count = match (replies.next(), replies.next()) {
                (Some(Reply::Integer(c)), Some(Reply::Integer(_))) => c.max(0) as u64,
                (Some(Reply::Error(e)), _) | (_, Some(Reply::Error(e))) => {
                    return self.failed(RedisError::ErrorReply(e));
                }
                other => {
                    return self.failed(RedisError::Protocol(format!(
                        "unexpected replies to INCRBY/EXPIRE: {other:?}"
                    )));
                }
            };
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
