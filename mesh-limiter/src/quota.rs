//! `SmartQuota`: the token buckets of one rendered SmartLimiter, whose rates change in place.
//!
//! Slime recomputes a SmartLimiter's quotas on every metric refresh and rewrites its
//! EnvoyFilter; an embedder that enforces the limits itself holds a [`SmartQuota`] built from
//! the rendered `LocalRateLimit` and calls [`SmartQuota::update`] with the re-rendered one.
//!
//! Refill is continuous (Envoy's current bucket): `tokens_per_fill / fill_interval` tokens per
//! second, capped at `max_tokens`; a bucket starts full. An update first refills every bucket
//! at its *old* rate up to now, then changes the rate and the capacity. The tokens in hand are
//! scaled to the new capacity when it shrinks (`tokens × new_max / old_max`) and kept as they
//! are when it grows: a change never refills a bucket for free, so after a change at time `t`
//! a bucket admits at most `tokens(t) + new_rate × (now − t)` requests.
//!
//! Descriptors are matched by position: Slime's descriptor values (`Service[..]-Id[..]`) hash
//! the evaluated quota, so they change with it; the position of a descriptor in its set does
//! not. An update with a different number of descriptors (or adding / removing the default
//! bucket) is refused: that is a different limiter, build a new one.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::envoy_config::{LocalRateLimit, TokenBucket};

/// Why a [`SmartQuota`] cannot be built or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// The config is not a `LocalRateLimit` (JSON).
    #[error("not a LocalRateLimit config: {0}")]
    Config(String),
    /// A bucket has a zero `fill_interval` or `tokens_per_fill` of 0.
    #[error("{bucket}: fill_interval and tokens_per_fill must be positive")]
    ZeroRate { bucket: String },
    /// The update has another shape than the running quota.
    #[error(
        "the update has {got} descriptors (default bucket: {got_default}), the quota {have} (default bucket: {have_default}); build a new SmartQuota"
    )]
    ShapeChanged {
        have: usize,
        got: usize,
        have_default: bool,
        got_default: bool,
    },
}

/// Which bucket a decision was charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaBucket {
    /// The top-level `token_bucket`.
    Default,
    /// `descriptors[i]`.
    Descriptor(usize),
}

/// One rate that an update changed.
#[derive(Debug, Clone, PartialEq)]
pub struct RateChange {
    pub bucket: QuotaBucket,
    /// `(max_tokens, tokens_per_fill, fill_interval)` before and after.
    pub before: (u32, u32, Duration),
    pub after: (u32, u32, Duration),
    /// Tokens in the bucket just before and just after the change.
    pub tokens_before: f64,
    pub tokens_after: f64,
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    max_tokens: u32,
    per_fill: u32,
    interval: Duration,
}

impl Rate {
    fn of(tb: &TokenBucket, name: &str) -> Result<Rate, QuotaError> {
        let per_fill = tb.tokens_per_fill.unwrap_or(1);
        if per_fill == 0 || tb.fill_interval.is_zero() {
            return Err(QuotaError::ZeroRate {
                bucket: name.to_string(),
            });
        }
        Ok(Rate {
            max_tokens: tb.max_tokens,
            per_fill,
            interval: tb.fill_interval,
        })
    }

    /// Tokens per second.
    fn per_second(&self) -> f64 {
        f64::from(self.per_fill) / self.interval.as_secs_f64()
    }

    fn triple(&self) -> (u32, u32, Duration) {
        (self.max_tokens, self.per_fill, self.interval)
    }
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Duration,
}

impl Bucket {
    fn new(rate: Rate, now: Duration) -> Bucket {
        Bucket {
            rate,
            tokens: f64::from(rate.max_tokens),
            last: now,
        }
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let dt = (now - self.last).as_secs_f64();
            self.tokens =
                (self.tokens + dt * self.rate.per_second()).min(f64::from(self.rate.max_tokens));
            self.last = now;
        }
    }

    fn take(&mut self, n: u32, now: Duration) -> bool {
        self.refill(now);
        let n = f64::from(n);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    fn set_rate(&mut self, rate: Rate, now: Duration) -> (f64, f64) {
        self.refill(now);
        let before = self.tokens;
        let (old, new) = (self.rate.max_tokens, rate.max_tokens);
        if new < old {
            self.tokens = if old == 0 {
                0.0
            } else {
                self.tokens * f64::from(new) / f64::from(old)
            };
        }
        self.tokens = self.tokens.min(f64::from(new));
        self.rate = rate;
        (before, self.tokens)
    }
}

/// A descriptor's entries, `(key, value)`.
type Entries = Vec<(String, String)>;
/// The rates of a config: the default bucket and each descriptor's.
type Rates = (Option<Rate>, Vec<(Entries, Rate)>);

#[derive(Debug)]
struct Inner {
    default: Option<Mutex<Bucket>>,
    descriptors: Vec<(Entries, Mutex<Bucket>)>,
}

/// The token buckets of one rendered SmartLimiter. Thread-safe: share it (`Arc`) between
/// threads; checks take one short per-bucket lock, updates a write lock.
#[derive(Debug)]
pub struct SmartQuota<C: Clock> {
    clock: C,
    inner: RwLock<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<C: Clock> SmartQuota<C> {
    /// The buckets of `config` (all full), on `clock`.
    pub fn new(config: &LocalRateLimit, clock: C) -> Result<Self, QuotaError> {
        let now = clock.now();
        let (default, descriptors) = Self::rates(config)?;
        let inner = Inner {
            default: default.map(|r| Mutex::new(Bucket::new(r, now))),
            descriptors: descriptors
                .into_iter()
                .map(|(entries, r)| (entries, Mutex::new(Bucket::new(r, now))))
                .collect(),
        };
        Ok(SmartQuota {
            clock,
            inner: RwLock::new(inner),
        })
    }

    /// [`new`](Self::new) from the `LocalRateLimit` JSON (the TypedStruct `value` of the
    /// rendered EnvoyFilter; proto or lowerCamel names).
    pub fn from_json(json: &str, clock: C) -> Result<Self, QuotaError> {
        let config =
            LocalRateLimit::from_json(json).map_err(|e| QuotaError::Config(e.to_string()))?;
        Self::new(&config, clock)
    }

    fn rates(config: &LocalRateLimit) -> Result<Rates, QuotaError> {
        let default = match &config.token_bucket {
            Some(tb) => Some(Rate::of(tb, "token_bucket")?),
            None => None,
        };
        let descriptors = config
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let entries = d
                    .entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .collect();
                Ok((
                    entries,
                    Rate::of(&d.token_bucket, &format!("descriptors[{i}]"))?,
                ))
            })
            .collect::<Result<Vec<_>, QuotaError>>()?;
        Ok((default, descriptors))
    }

    /// Takes one token from the bucket of the descriptor whose entries equal `entries`
    /// (else from the default bucket). `None`: no bucket applies (the request is not limited).
    pub fn check(&self, entries: &[(&str, &str)]) -> Option<(bool, QuotaBucket)> {
        let now = self.clock.now();
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let found = inner.descriptors.iter().position(|(es, _)| {
            es.len() == entries.len()
                && es
                    .iter()
                    .zip(entries)
                    .all(|((k, v), (k2, v2))| k == k2 && v == v2)
        });
        match found {
            Some(i) => Some((
                lock(&inner.descriptors[i].1).take(1, now),
                QuotaBucket::Descriptor(i),
            )),
            None => inner
                .default
                .as_ref()
                .map(|b| (lock(b).take(1, now), QuotaBucket::Default)),
        }
    }

    /// Takes `n` tokens from one bucket. `None`: no such bucket.
    pub fn try_acquire(&self, bucket: QuotaBucket, n: u32) -> Option<bool> {
        let now = self.clock.now();
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        self.with(&inner, bucket, |b| b.take(n, now))
    }

    /// The tokens in a bucket now (fractional). `None`: no such bucket.
    pub fn tokens(&self, bucket: QuotaBucket) -> Option<f64> {
        let now = self.clock.now();
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        self.with(&inner, bucket, |b| {
            b.refill(now);
            b.tokens
        })
    }

    /// The number of descriptor buckets.
    pub fn descriptors(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .descriptors
            .len()
    }

    fn with<R>(
        &self,
        inner: &Inner,
        bucket: QuotaBucket,
        f: impl FnOnce(&mut Bucket) -> R,
    ) -> Option<R> {
        match bucket {
            QuotaBucket::Default => inner.default.as_ref().map(|b| f(&mut lock(b))),
            QuotaBucket::Descriptor(i) => inner.descriptors.get(i).map(|(_, b)| f(&mut lock(b))),
        }
    }

    /// Changes the rates to those of `config` (the same SmartLimiter re-rendered), keeping
    /// the bucket state (see the module docs). Returns the buckets whose rate changed; on an
    /// error nothing changed.
    pub fn update(&self, config: &LocalRateLimit) -> Result<Vec<RateChange>, QuotaError> {
        let (default, descriptors) = Self::rates(config)?;
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if descriptors.len() != inner.descriptors.len()
            || default.is_some() != inner.default.is_some()
        {
            return Err(QuotaError::ShapeChanged {
                have: inner.descriptors.len(),
                got: descriptors.len(),
                have_default: inner.default.is_some(),
                got_default: default.is_some(),
            });
        }
        let now = self.clock.now();
        let mut changes = Vec::new();
        let mut apply = |bucket: QuotaBucket, b: &mut Bucket, rate: Rate| {
            if b.rate.triple() != rate.triple() {
                let before = b.rate.triple();
                let (tokens_before, tokens_after) = b.set_rate(rate, now);
                changes.push(RateChange {
                    bucket,
                    before,
                    after: rate.triple(),
                    tokens_before,
                    tokens_after,
                });
            }
        };
        if let (Some(b), Some(rate)) = (inner.default.as_mut(), default) {
            apply(
                QuotaBucket::Default,
                b.get_mut().unwrap_or_else(|e| e.into_inner()),
                rate,
            );
        }
        for (i, ((entries, b), (new_entries, rate))) in
            inner.descriptors.iter_mut().zip(descriptors).enumerate()
        {
            apply(
                QuotaBucket::Descriptor(i),
                b.get_mut().unwrap_or_else(|e| e.into_inner()),
                rate,
            );
            *entries = new_entries;
        }
        Ok(changes)
    }

    /// [`update`](Self::update) from `LocalRateLimit` JSON.
    pub fn update_json(&self, json: &str) -> Result<Vec<RateChange>, QuotaError> {
        let config =
            LocalRateLimit::from_json(json).map_err(|e| QuotaError::Config(e.to_string()))?;
        self.update(&config)
    }
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
