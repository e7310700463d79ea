//! Lock-free token buckets with Envoy's two refill models.
//!
//! * [`AtomicBucket`] — Envoy's current bucket (modeled on folly's): one atomic "time zero" `t0`;
//!   the tokens available at `now` are `min(max_tokens, (now - t0) * rate)`, so refill is
//!   continuous (one token every `fill_interval / tokens_per_fill`). Consuming `n` tokens moves
//!   `t0` forward by `n / rate`. Envoy keeps `t0` as a `double`; here it is an integer in units
//!   of 2⁻⁶ ns and the per-token cost is rounded *up*, so rounding can only ever admit less,
//!   never more, than the configured rate.
//! * [`TimerBucket`] — Envoy's original timer-stepped bucket: `tokens_per_fill` tokens are added
//!   (capped at `max_tokens`) at every whole `fill_interval` since the limiter was created. The
//!   timer is emulated lazily from the clock: the tick count and the token count are packed in
//!   one atomic word and updated together by CAS.
//!
//! Both are safe to share between threads and never block.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock::Clock;
use crate::envoy_config;

/// Internal time unit: 2^-SHIFT ns. With 6, a bucket idle for more than 2^57 ns (≈4.5 years)
/// would see its wrapping clock difference turn "negative" (the bucket then denies until the
/// next successful consume resets it); the per-token cost is precise to 1/64 ns.
const SHIFT: u32 = 6;
/// Cap on any span in internal units (keeps every difference far below 2^63).
const MAX_SPAN: u64 = 1 << 61;

/// Time since the clock origin in internal units (wrapping).
#[inline(always)]
pub(crate) fn units(now: Duration) -> u64 {
    now.as_secs()
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::from(now.subsec_nanos()))
        .wrapping_shl(SHIFT)
}

/// Clock nanoseconds in internal units (wrapping).
#[inline(always)]
pub(crate) fn units_ns(ns: u64) -> u64 {
    ns.wrapping_shl(SHIFT)
}

#[inline(always)]
fn nanos(now: Duration) -> u64 {
    now.as_secs()
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::from(now.subsec_nanos()))
}

/// Envoy's atomic, continuously refilled token bucket (starts full).
#[derive(Debug)]
pub struct AtomicBucket {
    t0: AtomicU64,
    /// Internal time units per token (≥ 1).
    cost: u64,
    /// `max_tokens * cost`, capped at `MAX_SPAN`: the "full" span.
    burst: u64,
    max_tokens: u32,
}

impl AtomicBucket {
    /// A full bucket at time `now` (as read from the limiter's clock).
    pub fn new(
        max_tokens: u32,
        tokens_per_fill: u32,
        fill_interval: Duration,
        now: Duration,
    ) -> Self {
        let per_fill = u128::from(tokens_per_fill.max(1));
        let interval = fill_interval.as_nanos().max(1) << SHIFT;
        let cost = interval.div_ceil(per_fill).clamp(1, u128::from(MAX_SPAN)) as u64;
        let burst = (u128::from(max_tokens) * u128::from(cost)).min(u128::from(MAX_SPAN)) as u64;
        AtomicBucket {
            t0: AtomicU64::new(units(now).wrapping_sub(burst)),
            cost,
            burst,
            max_tokens,
        }
    }

    /// Tries to take `n` tokens at `now_u` (internal units). `Ok(span)` / `Err(span)`: the
    /// filled span (in units) left after the attempt, for the x-ratelimit values.
    #[inline(always)]
    pub(crate) fn consume(&self, n: u32, now_u: u64) -> Result<u64, u64> {
        let need = u64::from(n).saturating_mul(self.cost);
        let mut t0 = self.t0.load(Relaxed);
        loop {
            let elapsed = now_u.wrapping_sub(t0);
            if elapsed > (u64::MAX >> 1) {
                // t0 is ahead of `now` (another thread consumed with a later clock reading).
                return Err(0);
            }
            let filled = elapsed.min(self.burst);
            if filled < need || need > self.burst {
                return Err(filled);
            }
            let left = filled - need;
            match self
                .t0
                .compare_exchange_weak(t0, now_u.wrapping_sub(left), Relaxed, Relaxed)
            {
                Ok(_) => return Ok(left),
                Err(actual) => t0 = actual,
            }
        }
    }

    /// The filled span at `now_u` without consuming.
    pub(crate) fn peek(&self, now_u: u64) -> u64 {
        let elapsed = now_u.wrapping_sub(self.t0.load(Relaxed));
        if elapsed > (u64::MAX >> 1) {
            0
        } else {
            elapsed.min(self.burst)
        }
    }

    pub(crate) fn report(&self, span: u64) -> BucketState {
        BucketState::Continuous {
            span,
            cost: self.cost,
            max_tokens: self.max_tokens,
        }
    }

    /// Internal units per token (larger = slower refill).
    pub(crate) fn cost(&self) -> u64 {
        self.cost
    }

    pub fn max_tokens(&self) -> u32 {
        self.max_tokens
    }
}

/// Envoy's legacy timer-stepped bucket (starts full; refills in steps at whole intervals).
#[derive(Debug)]
pub struct TimerBucket {
    /// High 32 bits: fill ticks applied so far (wrapping); low 32 bits: tokens.
    state: AtomicU64,
    origin_ns: u64,
    interval_ns: u64,
    max_tokens: u32,
    tokens_per_fill: u32,
}

impl TimerBucket {
    /// A full bucket whose fill "timer" started at `origin` (clock time).
    pub fn new(
        max_tokens: u32,
        tokens_per_fill: u32,
        fill_interval: Duration,
        origin: Duration,
    ) -> Self {
        TimerBucket {
            state: AtomicU64::new(u64::from(max_tokens)),
            origin_ns: nanos(origin),
            interval_ns: u64::try_from(fill_interval.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
            max_tokens,
            tokens_per_fill,
        }
    }

    #[inline]
    fn tick(&self, now_ns: u64) -> u32 {
        (now_ns.saturating_sub(self.origin_ns) / self.interval_ns) as u32
    }

    /// Applies the fills due by tick `t` to a packed state.
    #[inline]
    fn refilled(&self, s: u64, t: u32) -> u64 {
        let last = (s >> 32) as u32;
        let due = t.wrapping_sub(last);
        if due == 0 || due > u32::MAX / 2 {
            return s;
        }
        let tokens = s as u32;
        let add = u64::from(due) * u64::from(self.tokens_per_fill);
        let tokens = (u64::from(tokens) + add).min(u64::from(self.max_tokens)) as u32;
        (u64::from(t) << 32) | u64::from(tokens)
    }

    pub(crate) fn consume(&self, n: u32, now_ns: u64) -> Result<u64, u64> {
        let t = self.tick(now_ns);
        let mut s = self.state.load(Relaxed);
        loop {
            let r = self.refilled(s, t);
            let tokens = r as u32;
            if tokens < n {
                if r != s {
                    // Publish the refill even on a deny (the timer would have).
                    let _ = self.state.compare_exchange(s, r, Relaxed, Relaxed);
                }
                return Err(r);
            }
            let next = r - u64::from(n);
            match self.state.compare_exchange_weak(s, next, Relaxed, Relaxed) {
                Ok(_) => return Ok(next),
                Err(actual) => s = actual,
            }
        }
    }

    pub(crate) fn peek(&self, now_ns: u64) -> u64 {
        self.refilled(self.state.load(Relaxed), self.tick(now_ns))
    }

    pub(crate) fn report(&self, packed: u64, now_ns: u64) -> BucketState {
        let tick = (packed >> 32) as u32;
        let last_fill = self
            .origin_ns
            .saturating_add(u64::from(tick).saturating_mul(self.interval_ns));
        BucketState::Stepped {
            tokens: packed as u32,
            since_fill_ns: now_ns.saturating_sub(last_fill),
            interval_ns: self.interval_ns,
            max_tokens: self.max_tokens,
        }
    }

    /// Fill rate as a comparable "cost": nanoseconds per token scaled like [`AtomicBucket::cost`].
    pub(crate) fn cost(&self) -> u64 {
        ((u128::from(self.interval_ns) << SHIFT) / u128::from(self.tokens_per_fill.max(1)))
            .min(u128::from(u64::MAX)) as u64
    }

    pub fn max_tokens(&self) -> u32 {
        self.max_tokens
    }
}

/// The state of one bucket right after a decision: what `x-ratelimit-*` are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// Atomic bucket: `span` filled internal units, `cost` units per token.
    Continuous {
        span: u64,
        cost: u64,
        max_tokens: u32,
    },
    /// Timer bucket: whole tokens and time since the last fill tick.
    Stepped {
        tokens: u32,
        since_fill_ns: u64,
        interval_ns: u64,
        max_tokens: u32,
    },
}

impl BucketState {
    /// `x-ratelimit-limit`: the bucket's `max_tokens`.
    pub fn limit(&self) -> u32 {
        match *self {
            BucketState::Continuous { max_tokens, .. }
            | BucketState::Stepped { max_tokens, .. } => max_tokens,
        }
    }

    /// `x-ratelimit-remaining`: whole tokens left (floor).
    pub fn remaining(&self) -> u32 {
        match *self {
            BucketState::Continuous {
                span,
                cost,
                max_tokens,
            } => (span / cost).min(u64::from(max_tokens)) as u32,
            BucketState::Stepped { tokens, .. } => tokens,
        }
    }

    /// `x-ratelimit-reset` in whole seconds.
    ///
    /// Atomic bucket: 0 when at least one token is available, else the time until the next
    /// token in milliseconds (rounded up), divided by 1000 with integer division — what Envoy's
    /// `resetSeconds()` computes. Timer bucket: the fill interval in whole seconds minus the
    /// whole seconds since the last fill (Envoy's `remainingFillInterval`).
    pub fn reset_seconds(&self) -> u64 {
        match *self {
            BucketState::Continuous { span, cost, .. } => {
                if span >= cost {
                    return 0;
                }
                let missing_ns = (cost - span).div_ceil(1 << SHIFT);
                missing_ns.div_ceil(1_000_000) / 1000
            }
            BucketState::Stepped {
                since_fill_ns,
                interval_ns,
                ..
            } => {
                let whole = since_fill_ns / 1_000_000_000 * 1_000_000_000;
                interval_ns.saturating_sub(whole) / 1_000_000_000
            }
        }
    }
}

/// One bucket of either model.
#[derive(Debug)]
pub(crate) enum BucketImpl {
    Atomic(AtomicBucket),
    Timer(TimerBucket),
}

/// Which refill model buckets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefillModel {
    /// Envoy's current atomic bucket: continuous refill, no timer.
    #[default]
    Continuous,
    /// Envoy's original timer bucket: `tokens_per_fill` added at every whole `fill_interval`.
    /// Descriptor intervals must be whole multiples of the top-level interval.
    TimerStepped,
}

impl BucketImpl {
    pub(crate) fn new(model: RefillModel, tb: &envoy_config::TokenBucket, now: Duration) -> Self {
        let per_fill = tb.tokens_per_fill.unwrap_or(1);
        match model {
            RefillModel::Continuous => BucketImpl::Atomic(AtomicBucket::new(
                tb.max_tokens,
                per_fill,
                tb.fill_interval,
                now,
            )),
            RefillModel::TimerStepped => BucketImpl::Timer(TimerBucket::new(
                tb.max_tokens,
                per_fill,
                tb.fill_interval,
                now,
            )),
        }
    }

    /// Consumes `n` tokens at clock time `now_ns`; returns allowed + the state to report.
    #[inline(always)]
    pub(crate) fn consume(&self, n: u32, now_ns: u64) -> (bool, BucketState) {
        match self {
            BucketImpl::Atomic(b) => match b.consume(n, units_ns(now_ns)) {
                Ok(span) => (true, b.report(span)),
                Err(span) => (false, b.report(span)),
            },
            BucketImpl::Timer(b) => match b.consume(n, now_ns) {
                Ok(p) => (true, b.report(p, now_ns)),
                Err(p) => (false, b.report(p, now_ns)),
            },
        }
    }

    pub(crate) fn state(&self, now_ns: u64) -> BucketState {
        match self {
            BucketImpl::Atomic(b) => b.report(b.peek(units_ns(now_ns))),
            BucketImpl::Timer(b) => b.report(b.peek(now_ns), now_ns),
        }
    }

    /// Larger = strictest (lowest fill rate).
    pub(crate) fn cost(&self) -> u64 {
        match self {
            BucketImpl::Atomic(b) => b.cost(),
            BucketImpl::Timer(b) => b.cost(),
        }
    }
}

/// A standalone Envoy token bucket bound to a clock (no descriptors).
///
/// ```
/// use std::time::Duration;
/// use mesh_limiter::{ManualClock, TokenBucket};
///
/// let clock = ManualClock::new();
/// // 2 tokens, 1 token back every 500 ms.
/// let bucket = TokenBucket::new(2, 1, Duration::from_millis(500), clock.clone()).unwrap();
/// assert!(bucket.try_acquire());
/// assert!(bucket.try_acquire());
/// assert!(!bucket.try_acquire());
/// clock.advance(Duration::from_millis(500));
/// assert!(bucket.try_acquire());
/// ```
#[derive(Debug)]
pub struct TokenBucket<C: Clock> {
    bucket: AtomicBucket,
    clock: C,
}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket: `max_tokens` capacity, `tokens_per_fill` tokens per `fill_interval`
    /// (continuous refill). `fill_interval` must be ≥ 50 ms and `tokens_per_fill` > 0.
    pub fn new(
        max_tokens: u32,
        tokens_per_fill: u32,
        fill_interval: Duration,
        clock: C,
    ) -> Result<Self, super::LocalConfigError> {
        super::limiter::validate_bucket(
            "token_bucket",
            &envoy_config::TokenBucket {
                max_tokens,
                tokens_per_fill: Some(tokens_per_fill),
                fill_interval,
            },
        )?;
        let now = clock.now();
        Ok(TokenBucket {
            bucket: AtomicBucket::new(max_tokens, tokens_per_fill, fill_interval, now),
            clock,
        })
    }

    /// From an Envoy `TokenBucket` message (`tokens_per_fill` defaults to 1).
    pub fn from_config(
        tb: &envoy_config::TokenBucket,
        clock: C,
    ) -> Result<Self, super::LocalConfigError> {
        Self::new(
            tb.max_tokens,
            tb.tokens_per_fill.unwrap_or(1),
            tb.fill_interval,
            clock,
        )
    }

    /// Takes one token if available.
    #[inline]
    pub fn try_acquire(&self) -> bool {
        self.bucket
            .consume(1, units_ns(self.clock.now_nanos()))
            .is_ok()
    }

    /// Takes `n` tokens, all or nothing.
    #[inline]
    pub fn try_acquire_n(&self, n: u32) -> bool {
        self.bucket
            .consume(n, units_ns(self.clock.now_nanos()))
            .is_ok()
    }

    /// Takes one token if available and reports the bucket state afterwards.
    pub fn check(&self) -> (bool, BucketState) {
        match self.bucket.consume(1, units_ns(self.clock.now_nanos())) {
            Ok(s) => (true, self.bucket.report(s)),
            Err(s) => (false, self.bucket.report(s)),
        }
    }

    /// The current state, without consuming.
    pub fn state(&self) -> BucketState {
        self.bucket
            .report(self.bucket.peek(units_ns(self.clock.now_nanos())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn drain(b: &AtomicBucket, now: Duration) -> u32 {
        let mut n = 0;
        while b.consume(1, units(now)).is_ok() {
            n += 1;
        }
        n
    }

    #[test]
    fn atomic_starts_full_and_refills_continuously() {
        // max 10, 10 per 60 s: 1 token every 6 s (Envoy's atomic bucket).
        let b = AtomicBucket::new(10, 10, 60 * S, Duration::ZERO);
        assert_eq!(drain(&b, Duration::ZERO), 10);
        assert_eq!(drain(&b, 5 * S), 0);
        assert_eq!(drain(&b, 6 * S), 1);
        assert_eq!(drain(&b, 12 * S), 1);
        assert_eq!(drain(&b, 1000 * S), 10, "capped at max_tokens");
    }

    #[test]
    fn timer_refills_in_steps() {
        let b = TimerBucket::new(10, 10, 60 * S, Duration::ZERO);
        let n = |t: Duration| {
            let mut k = 0;
            while b.consume(1, nanos(t)).is_ok() {
                k += 1;
            }
            k
        };
        assert_eq!(n(Duration::ZERO), 10);
        assert_eq!(n(59 * S), 0);
        assert_eq!(n(60 * S), 10);
        assert_eq!(n(150 * S), 10, "two missed ticks still cap at max");
    }

    #[test]
    fn zero_capacity_always_denies() {
        let b = AtomicBucket::new(0, 1, S, Duration::ZERO);
        assert!(b.consume(1, units(1000 * S)).is_err());
    }

    #[test]
    fn reset_and_remaining() {
        let b = AtomicBucket::new(1, 1, 10 * S, Duration::ZERO);
        let Ok(span) = b.consume(1, 0) else { panic!() };
        let st = b.report(span);
        assert_eq!((st.limit(), st.remaining(), st.reset_seconds()), (1, 0, 10));
        let st = b.report(b.peek(units(Duration::from_millis(9500))));
        assert_eq!((st.remaining(), st.reset_seconds()), (0, 0));
        let st = b.report(b.peek(units(Duration::from_millis(8500))));
        assert_eq!(st.reset_seconds(), 1);
    }

    #[test]
    fn fractional_rate_never_over_admits() {
        // 3 tokens per second: cost is not a whole number of nanoseconds.
        let b = AtomicBucket::new(1, 3, S, Duration::ZERO);
        assert_eq!(drain(&b, Duration::ZERO), 1);
        let mut got = 0;
        for ms in 1..=10_000u64 {
            got += drain(&b, Duration::from_millis(ms));
        }
        assert!(got <= 30, "{got}");
        assert!(got >= 29, "{got}");
    }
}
