//! Adaptive concurrency limiters.
//!
//! One [`Limiter`] trait for every algorithm: [`Limiter::acquire`] asks for a slot and returns a
//! [`Permit`] (or `None`: reject now), and [`Limiter::release`] hands the permit back with the
//! request's [`Outcome`] and round-trip time. Limiters read time only through the injected
//! [`Clock`], so tests drive them with a [`ManualClock`](crate::ManualClock) and never sleep.
//!
//! Algorithms (each a [`LimitAlgorithm`] inside the generic, thread-safe [`AdaptiveLimiter`]):
//! - [`EnvoyGradient`]: Envoy's `adaptive_concurrency` gradient controller (minRTT windows with
//!   pinned concurrency, periodic limit updates from a latency percentile).
//! - [`Gradient2`], [`Vegas`], [`Aimd`]: Netflix concurrency-limits, per-sample, with Netflix's
//!   defaults; [`Windowed`] is Netflix's `WindowedLimit` wrapper.
//! - [`BbrGuard`]: the BBR-style CPU + in-flight guard of go-kratos/aegis (Sentinel's `checkBbr`
//!   uses the same in-flight bound).
//! - [`Fixed`]: a static concurrency limit.
//!
//! [`TokenBucketLimiter`] puts Envoy's token bucket (a *rate* limit) behind the same trait.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use mesh_limiter::{ManualClock, adaptive::{AdaptiveLimiter, Aimd, Limiter, Outcome}};
//!
//! let clock = ManualClock::new();
//! let limiter = AdaptiveLimiter::new(Aimd::default(), Arc::new(clock.clone()));
//! let permit = limiter.acquire().expect("below the initial limit of 20");
//! clock.advance(Duration::from_millis(10));
//! limiter.release(permit, Outcome::Success, Duration::from_millis(10));
//! assert_eq!(limiter.in_flight(), 0);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::Clock;

mod config;
mod gradient;
mod guard;
mod netflix;
pub(crate) mod rng;

pub use config::{ALGORITHMS, AlgorithmConfigError, ConfigProblem, algorithm_from_json};
pub use gradient::{EnvoyGradient, GradientConfig, gradient_step};
pub use guard::{BbrConfig, BbrGuard, CpuGauge, sentinel_check_bbr};
pub use netflix::{
    Aimd, AimdConfig, Gradient2, Gradient2Config, Vegas, VegasConfig, Windowed, WindowedConfig,
};

/// How a request admitted by a limiter ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Completed; its RTT is a valid latency sample.
    Success,
    /// Failed in a way that signals overload (timeout, 503 from upstream, deadline missed).
    Dropped,
    /// Does not count (cancelled by the client, a health check, an unrelated error): the slot is
    /// freed but no sample is taken.
    Ignored,
}

/// A granted slot. Give it back with [`Limiter::release`]; a permit that is never released keeps
/// its slot taken.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a permit holds a concurrency slot until it is released"]
pub struct Permit {
    started: Duration,
    in_flight: u32,
}

impl Permit {
    /// Clock time at which the permit was granted.
    pub fn started(&self) -> Duration {
        self.started
    }

    /// Requests in flight right after this one was admitted (itself included).
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// A concurrency limiter. Implementations are thread-safe.
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Asks for a slot: `Some(permit)` to forward the request, `None` to reject it now.
    fn acquire(&self) -> Option<Permit>;
    /// Gives a slot back, with how the request ended and its round-trip time.
    fn release(&self, permit: Permit, outcome: Outcome, rtt: Duration);
    /// The current admission limit (`u32::MAX` when the limiter is not limiting at all).
    fn limit(&self) -> u32;
    /// Requests currently holding a permit.
    fn in_flight(&self) -> u32;
}

/// One completed request, as the algorithms see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When the request was admitted (clock time).
    pub started: Duration,
    /// Its round-trip time.
    pub rtt: Duration,
    /// In-flight count right after it was admitted (itself included).
    pub in_flight: u32,
    /// Whether it ended with [`Outcome::Dropped`].
    pub dropped: bool,
}

/// A limit-computing algorithm. Not thread-safe by itself: [`AdaptiveLimiter`] serializes calls.
pub trait LimitAlgorithm: Send + fmt::Debug {
    /// The admission limit at `now` (algorithms with timers advance them here).
    fn limit(&mut self, now: Duration) -> u32;
    /// Feeds one completed request.
    fn on_sample(&mut self, now: Duration, sample: Sample);
    /// A request ended with [`Outcome::Ignored`] (no sample). Default: nothing.
    fn on_ignore(&mut self, _now: Duration) {}
    /// Called with the current in-flight count just before the admission check (used by
    /// guards that look at more than a limit). Default: admit iff `in_flight < limit(now)`.
    fn admit(&mut self, now: Duration, in_flight: u32) -> bool {
        in_flight < self.limit(now)
    }
}

impl<A: LimitAlgorithm + ?Sized> LimitAlgorithm for Box<A> {
    fn limit(&mut self, now: Duration) -> u32 {
        (**self).limit(now)
    }
    fn on_sample(&mut self, now: Duration, sample: Sample) {
        (**self).on_sample(now, sample)
    }
    fn on_ignore(&mut self, now: Duration) {
        (**self).on_ignore(now)
    }
    fn admit(&mut self, now: Duration, in_flight: u32) -> bool {
        (**self).admit(now, in_flight)
    }
}

/// The generic limiter: admits while `in_flight < limit`, feeds completions to the algorithm.
/// The in-flight count and the algorithm share one mutex, so the limit is never overshot.
pub struct AdaptiveLimiter<A> {
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner<A>>,
}

#[derive(Debug)]
struct Inner<A> {
    algo: A,
    in_flight: u32,
}

impl<A: fmt::Debug> fmt::Debug for AdaptiveLimiter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimiter")
            .field("clock", &self.clock)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<A: LimitAlgorithm> AdaptiveLimiter<A> {
    /// Wraps `algo`; time comes from `clock`.
    pub fn new(algo: A, clock: Arc<dyn Clock>) -> Self {
        AdaptiveLimiter {
            clock,
            inner: Mutex::new(Inner { algo, in_flight: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<A>> {
        // A panic while holding the lock cannot leave the counters half-updated in a way that
        // matters more than refusing service forever, so recover the guard.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the algorithm (e.g. to read its state in tests or plots).
    pub fn with_algorithm<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        f(&mut self.lock().algo)
    }
}

impl<A: LimitAlgorithm> Limiter for AdaptiveLimiter<A> {
    fn acquire(&self) -> Option<Permit> {
        let now = self.clock.now();
        let mut g = self.lock();
        let in_flight = g.in_flight;
        if !g.algo.admit(now, in_flight) {
            return None;
        }
        g.in_flight += 1;
        Some(Permit {
            started: now,
            in_flight: g.in_flight,
        })
    }

    fn release(&self, permit: Permit, outcome: Outcome, rtt: Duration) {
        let now = self.clock.now();
        let mut g = self.lock();
        g.in_flight = g.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Ignored => g.algo.on_ignore(now),
            Outcome::Success | Outcome::Dropped => g.algo.on_sample(
                now,
                Sample {
                    started: permit.started,
                    rtt,
                    in_flight: permit.in_flight,
                    dropped: outcome == Outcome::Dropped,
                },
            ),
        }
    }

    fn limit(&self) -> u32 {
        let now = self.clock.now();
        self.lock().algo.limit(now)
    }

    fn in_flight(&self) -> u32 {
        self.lock().in_flight
    }
}

/// A static concurrency limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed(pub u32);

impl LimitAlgorithm for Fixed {
    fn limit(&mut self, _now: Duration) -> u32 {
        self.0
    }
    fn on_sample(&mut self, _now: Duration, _sample: Sample) {}
}

/// No limit at all (the simulator's baseline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unlimited;

impl LimitAlgorithm for Unlimited {
    fn limit(&mut self, _now: Duration) -> u32 {
        u32::MAX
    }
    fn on_sample(&mut self, _now: Duration, _sample: Sample) {}
}

/// A rate limiter behind the [`Limiter`] trait: Envoy's token bucket
/// ([`TokenBucket`](crate::TokenBucket)) decides admission; in-flight requests are only counted.
#[derive(Debug)]
pub struct TokenBucketLimiter<C: Clock> {
    bucket: crate::TokenBucket<C>,
    clock: C,
    in_flight: std::sync::atomic::AtomicU32,
}

impl<C: Clock + Clone> TokenBucketLimiter<C> {
    /// Wraps `bucket`; `clock` stamps the permits (use the bucket's clock).
    pub fn new(bucket: crate::TokenBucket<C>, clock: C) -> Self {
        TokenBucketLimiter {
            bucket,
            clock,
            in_flight: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// The wrapped bucket.
    pub fn bucket(&self) -> &crate::TokenBucket<C> {
        &self.bucket
    }
}

impl<C: Clock + Clone> Limiter for TokenBucketLimiter<C> {
    fn acquire(&self) -> Option<Permit> {
        if !self.bucket.try_acquire() {
            return None;
        }
        let n = self
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        Some(Permit {
            started: self.clock.now(),
            in_flight: n,
        })
    }

    fn release(&self, _permit: Permit, _outcome: Outcome, _rtt: Duration) {
        let _ = self.in_flight.fetch_update(
            std::sync::atomic::Ordering::AcqRel,
            std::sync::atomic::Ordering::Acquire,
            |v| v.checked_sub(1),
        );
    }

    fn limit(&self) -> u32 {
        u32::MAX
    }

    fn in_flight(&self) -> u32 {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The `p`-th percentile (0..=100) of `values`, by linear interpolation between closest ranks.
/// Sorts `values` in place. `None` when empty.
pub(crate) fn percentile(values: &mut [u64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (values.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(values[lo] as f64 + (values[hi] as f64 - values[lo] as f64) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn fixed_limit_rejects_at_the_limit_and_frees_on_release() {
        let clock = ManualClock::new();
        let l = AdaptiveLimiter::new(Fixed(2), Arc::new(clock.clone()));
        let a = l.acquire().unwrap();
        let b = l.acquire().unwrap();
        assert_eq!(b.in_flight(), 2);
        assert!(l.acquire().is_none());
        l.release(a, Outcome::Ignored, Duration::ZERO);
        let c = l.acquire().unwrap();
        assert_eq!(c.in_flight(), 2);
        l.release(b, Outcome::Success, Duration::from_millis(1));
        l.release(c, Outcome::Dropped, Duration::from_millis(1));
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn permit_records_clock_time() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(3));
        let l = AdaptiveLimiter::new(Unlimited, Arc::new(clock.clone()));
        let p = l.acquire().unwrap();
        assert_eq!(p.started(), Duration::from_secs(3));
        assert_eq!(l.limit(), u32::MAX);
        l.release(p, Outcome::Success, Duration::ZERO);
    }

    #[test]
    fn limiter_is_shareable_across_threads() {
        let clock = ManualClock::new();
        let l: Arc<dyn Limiter> = Arc::new(AdaptiveLimiter::new(Fixed(8), Arc::new(clock)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        if let Some(p) = l.acquire() {
                            assert!(p.in_flight() <= 8);
                            l.release(p, Outcome::Success, Duration::from_micros(5));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn token_bucket_limiter_admits_by_rate_not_concurrency() {
        let clock = ManualClock::new();
        let tb = crate::TokenBucket::new(2, 1, Duration::from_millis(100), clock.clone()).unwrap();
        let l = TokenBucketLimiter::new(tb, clock.clone());
        let a = l.acquire().unwrap();
        let b = l.acquire().unwrap();
        assert!(l.acquire().is_none(), "bucket empty");
        l.release(a, Outcome::Success, Duration::ZERO);
        assert!(l.acquire().is_none(), "a release does not refill");
        clock.advance(Duration::from_millis(100));
        let c = l.acquire().unwrap();
        assert_eq!((c.in_flight(), l.in_flight(), l.limit()), (2, 2, u32::MAX));
        l.release(b, Outcome::Dropped, Duration::ZERO);
        l.release(c, Outcome::Ignored, Duration::ZERO);
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&mut [], 50.0), None);
        assert_eq!(percentile(&mut [3, 1, 2], 50.0), Some(2.0));
        assert_eq!(percentile(&mut [10, 20], 50.0), Some(15.0));
        assert_eq!(percentile(&mut [10, 20, 30, 40], 100.0), Some(40.0));
    }
}
