//! Time, injected. Every limiter reads time only through a [`Clock`]; tests use
//! [`ManualClock`] and advance it instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock: `now()` is the time elapsed since some fixed origin.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Monotonic time since the clock's origin.
    fn now(&self) -> Duration;

    /// [`now`](Clock::now) in nanoseconds (wrapping after ~584 years). Hot paths read this;
    /// clocks that count nanoseconds natively override it to skip the `Duration` round trip.
    #[inline]
    fn now_nanos(&self) -> u64 {
        let d = self.now();
        d.as_secs()
            .wrapping_mul(1_000_000_000)
            .wrapping_add(u64::from(d.subsec_nanos()))
    }
}

/// The real monotonic clock (origin = when it was created).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A TSC-based monotonic clock (the `quanta` crate, as governor uses): several times cheaper
/// to read than [`SystemClock`] (`Instant`) on most x86 machines, for hot paths.
#[derive(Debug, Clone)]
pub struct QuantaClock {
    clock: quanta::Clock,
    origin: u64,
}

impl QuantaClock {
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        QuantaClock { clock, origin }
    }
}

impl Default for QuantaClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for QuantaClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// A clock that moves only when told to. Cheap to clone; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }

    /// Sets the time (must not go backwards for the limiters' guarantees to hold).
    pub fn set(&self, t: Duration) {
        self.nanos.store(t.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// Time read once per event-loop iteration, as Envoy's workers read it: the dispatcher caches
/// the monotonic time at the start of each loop iteration (`approximateMonotonicTime()`) and
/// its token buckets read that, not the system clock, for every request.
///
/// `update()` reads the source clock and publishes the value; `now()` returns the last
/// published value (one relaxed atomic load), so a limiter on a `CachedClock` costs the same
/// per decision as one on a frozen [`ManualClock`]. The refill semantics do not change: a
/// bucket computes its tokens from the time it is given, and between two updates time stands
/// still (a token due in the middle of an iteration is seen at the next update; nothing is
/// lost, since refill is computed from the elapsed time). The time never goes backwards: when
/// several loops share one cache, `update()` keeps the larger reading.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mesh_limiter::{CachedClock, Clock, ManualClock, TokenBucket};
///
/// let source = ManualClock::new();
/// let clock = Arc::new(CachedClock::new(source.clone()));
/// let bucket = TokenBucket::new(1, 1, Duration::from_secs(1), clock.clone()).unwrap();
/// assert!(bucket.try_acquire());
/// source.advance(Duration::from_secs(1));
/// assert!(!bucket.try_acquire()); // the loop has not read the time yet
/// clock.update(); // top of the next event-loop iteration
/// assert!(bucket.try_acquire());
/// ```
#[derive(Debug)]
pub struct CachedClock<C: Clock> {
    source: C,
    nanos: AtomicU64,
}

impl<C: Clock> CachedClock<C> {
    /// A cache holding the source's current time.
    pub fn new(source: C) -> Self {
        let nanos = AtomicU64::new(source.now_nanos());
        CachedClock { source, nanos }
    }

    /// Reads the source clock and publishes its time (call it once per event-loop
    /// iteration); returns the time now published.
    #[inline]
    pub fn update(&self) -> Duration {
        let now = self.source.now_nanos();
        let before = self.nanos.fetch_max(now, Ordering::Relaxed);
        Duration::from_nanos(now.max(before))
    }

    /// The clock the cache reads.
    pub fn source(&self) -> &C {
        &self.source
    }
}

impl<C: Clock> Clock for CachedClock<C> {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Relaxed)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_clock_moves_only_on_update_and_never_back() {
        let source = ManualClock::new();
        source.set(Duration::from_secs(5));
        let c = CachedClock::new(source.clone());
        assert_eq!(c.now(), Duration::from_secs(5));
        source.advance(Duration::from_secs(1));
        assert_eq!(c.now(), Duration::from_secs(5));
        assert_eq!(c.update(), Duration::from_secs(6));
        assert_eq!(c.now_nanos(), 6_000_000_000);
        // A lagging reading (another loop's, older) does not move the time back.
        source.set(Duration::from_secs(4));
        assert_eq!(c.update(), Duration::from_secs(6));
        assert_eq!(c.now(), Duration::from_secs(6));
    }

    #[test]
    fn quanta_clock_is_monotonic() {
        let c = QuantaClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
    }
}
