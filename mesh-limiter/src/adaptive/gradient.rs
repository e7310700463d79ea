//! Envoy's `adaptive_concurrency` gradient controller, restated.
//!
//! - Start-up: the limit is `min_concurrency` and a minRTT window opens at once.
//! - minRTT window: the current limit is saved and the limit pinned to
//!   `min(limit, min_concurrency)`; samples of requests admitted before the window opened are
//!   discarded; after `request_count` samples, minRTT = their `sample_aggregate_percentile`, the
//!   saved limit is restored and the next window is scheduled `interval + U[0, ceil(interval ·
//!   jitter))` (whole milliseconds) later.
//! - Every `concurrency_update_interval` outside a window (and only with ≥ 1 sample):
//!   sampleRTT = the percentile of the interval's samples, then [`gradient_step`].
//! - A limit at the floor for 5 consecutive updates opens a minRTT window immediately.
//! - With `min_concurrency_limit` set (newest API) the floor is that value and windows do not pin
//!   the limit; with `fixed_min_rtt` there are no windows at all.
//!
//! Timers are evaluated lazily on each call, against the injected clock.

use std::time::Duration;

use thiserror::Error;

use super::rng::Rng;
use super::{LimitAlgorithm, Sample, percentile};

/// At most this many latency samples are kept per update interval / minRTT window (bounded
/// memory; later samples of the same interval are not recorded).
const MAX_SAMPLES: usize = 100_000;

/// `GradientControllerConfig`. [`Default`] is Envoy's defaults, plus the two values Envoy
/// requires without a default: `concurrency_update_interval` 100 ms and minRTT `interval` 60 s
/// (the values of Envoy's documentation example).
#[derive(Debug, Clone, PartialEq)]
pub struct GradientConfig {
    /// Percentile (0–100) used for sampleRTT and for minRTT. Default 50.
    pub sample_aggregate_percentile: f64,
    /// Upper clamp of the limit. Default 1000.
    pub max_concurrency_limit: u32,
    /// Separate lower clamp (newest Envoy). `None`: `min_concurrency` is the floor and minRTT
    /// windows pin the limit.
    pub min_concurrency_limit: Option<u32>,
    /// How often the limit is recomputed.
    pub concurrency_update_interval: Duration,
    /// Time between minRTT windows; ignored when `fixed_min_rtt` is set.
    pub min_rtt_interval: Duration,
    /// A fixed minRTT (no windows).
    pub fixed_min_rtt: Option<Duration>,
    /// Samples that close a minRTT window. Default 50.
    pub request_count: u32,
    /// Jitter added to the window interval, percent. Default 15.
    pub jitter_percent: f64,
    /// Pinned limit during minRTT windows (and floor, see `min_concurrency_limit`). Default 3.
    pub min_concurrency: u32,
    /// Headroom on minRTT, percent. Default 25.
    pub buffer_percent: f64,
    /// Seed of the jitter generator.
    pub seed: u64,
}

impl Default for GradientConfig {
    fn default() -> Self {
        GradientConfig {
            sample_aggregate_percentile: 50.0,
            max_concurrency_limit: 1000,
            min_concurrency_limit: None,
            concurrency_update_interval: Duration::from_millis(100),
            min_rtt_interval: Duration::from_secs(60),
            fixed_min_rtt: None,
            request_count: 50,
            jitter_percent: 15.0,
            min_concurrency: 3,
            buffer_percent: 25.0,
            seed: 0,
        }
    }
}

/// A gradient controller configuration Envoy would reject.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GradientConfigError {
    #[error("concurrency_update_interval must be > 0")]
    UpdateInterval,
    #[error("min_rtt_calc_params.interval must be >= 1ms (or set fixed_value)")]
    MinRttInterval,
    #[error("{field} must be within [0, 100], got {value}")]
    Percent { field: &'static str, value: f64 },
    #[error("{0} must be > 0")]
    Zero(&'static str),
}

impl GradientConfig {
    /// Checks the constraints Envoy's proto validation and controller enforce.
    pub fn validate(&self) -> Result<(), GradientConfigError> {
        if self.concurrency_update_interval.is_zero() {
            return Err(GradientConfigError::UpdateInterval);
        }
        if self.fixed_min_rtt.is_none() && self.min_rtt_interval < Duration::from_millis(1) {
            return Err(GradientConfigError::MinRttInterval);
        }
        for (field, value) in [
            (
                "sample_aggregate_percentile",
                self.sample_aggregate_percentile,
            ),
            ("jitter", self.jitter_percent),
            ("buffer", self.buffer_percent),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(GradientConfigError::Percent { field, value });
            }
        }
        if self.max_concurrency_limit == 0 {
            return Err(GradientConfigError::Zero("max_concurrency_limit"));
        }
        if self.request_count == 0 {
            return Err(GradientConfigError::Zero("request_count"));
        }
        if self.min_concurrency == 0 {
            return Err(GradientConfigError::Zero("min_concurrency"));
        }
        Ok(())
    }
}

/// One limit update: `gradient = clamp(minRTT·(1+buffer)/sampleRTT, 0.5, 2)`,
/// `L = limit·gradient`, `new = trunc(L + √L)`, clamped to `[min, max]`.
/// Returns `(new_limit, gradient)`.
pub fn gradient_step(
    limit: u32,
    min_rtt: Duration,
    sample_rtt: Duration,
    buffer_percent: f64,
    min: u32,
    max: u32,
) -> (u32, f64) {
    let sample = sample_rtt.as_secs_f64();
    let target = min_rtt.as_secs_f64() * (1.0 + buffer_percent / 100.0);
    let gradient = if sample > 0.0 {
        (target / sample).clamp(0.5, 2.0)
    } else {
        2.0
    };
    let scaled = limit as f64 * gradient;
    let new = (scaled + scaled.sqrt()) as u32;
    (new.clamp(min, max.max(min)), gradient)
}

/// Envoy's gradient controller as a [`LimitAlgorithm`].
#[derive(Debug, Clone)]
pub struct EnvoyGradient {
    cfg: GradientConfig,
    rng: Rng,
    initialized: bool,
    limit: u32,
    deferred_limit: u32,
    in_window: bool,
    epoch: Duration,
    min_rtt: Duration,
    sample_rtt: Duration,
    gradient: f64,
    headroom: f64,
    samples: Vec<u64>,
    next_update: Duration,
    next_window: Option<Duration>,
    at_min_updates: u32,
}

impl EnvoyGradient {
    /// A controller; `cfg` must pass [`GradientConfig::validate`].
    pub fn new(cfg: GradientConfig) -> Result<Self, GradientConfigError> {
        cfg.validate()?;
        let floor = cfg.min_concurrency_limit.unwrap_or(cfg.min_concurrency);
        Ok(EnvoyGradient {
            rng: Rng::new(cfg.seed),
            initialized: false,
            limit: floor.min(cfg.max_concurrency_limit),
            deferred_limit: 0,
            in_window: false,
            epoch: Duration::ZERO,
            min_rtt: cfg.fixed_min_rtt.unwrap_or_default(),
            sample_rtt: Duration::ZERO,
            gradient: 1.0,
            headroom: 0.0,
            samples: Vec::new(),
            next_update: Duration::ZERO,
            next_window: None,
            at_min_updates: 0,
            cfg,
        })
    }

    fn floor(&self) -> u32 {
        self.cfg
            .min_concurrency_limit
            .unwrap_or(self.cfg.min_concurrency)
    }

    /// Current minRTT estimate (zero before the first window closes).
    pub fn min_rtt(&self) -> Duration {
        self.min_rtt
    }

    /// Whether a minRTT window is open.
    pub fn in_min_rtt_window(&self) -> bool {
        self.in_window
    }

    /// The last sampleRTT.
    pub fn sample_rtt(&self) -> Duration {
        self.sample_rtt
    }

    /// The last gradient (0.5..=2; Envoy's `gradient` gauge is this × 1000).
    pub fn gradient(&self) -> f64 {
        self.gradient
    }

    /// The headroom added by the last update, `√(limit·gradient)` (Envoy's `burst_queue_size`).
    pub fn headroom(&self) -> f64 {
        self.headroom
    }

    /// The current limit without advancing timers.
    pub fn current_limit(&self) -> u32 {
        self.limit
    }

    fn enter_window(&mut self, now: Duration) {
        self.in_window = true;
        self.deferred_limit = self.limit;
        if self.cfg.min_concurrency_limit.is_none() {
            self.limit = self.limit.min(self.cfg.min_concurrency);
        }
        self.samples.clear();
        self.epoch = now;
        self.at_min_updates = 0;
    }

    fn close_window(&mut self, now: Duration) {
        let p = self.cfg.sample_aggregate_percentile;
        let min_rtt = percentile(&mut self.samples, p).unwrap_or(0.0);
        self.min_rtt = Duration::from_nanos(min_rtt as u64);
        self.samples.clear();
        self.in_window = false;
        self.limit = self.deferred_limit;
        let interval_ms = self.cfg.min_rtt_interval.as_millis() as u64;
        let jitter_range = (interval_ms as f64 * self.cfg.jitter_percent / 100.0).ceil() as u64;
        let jitter = if jitter_range > 0 {
            self.rng.below(jitter_range)
        } else {
            0
        };
        self.next_window = Some(now + self.cfg.min_rtt_interval + Duration::from_millis(jitter));
        self.next_update = now + self.cfg.concurrency_update_interval;
    }

    fn update(&mut self, now: Duration) {
        let p = self.cfg.sample_aggregate_percentile;
        let Some(sample) = percentile(&mut self.samples, p) else {
            return;
        };
        self.samples.clear();
        self.sample_rtt = Duration::from_nanos(sample as u64);
        let floor = self.floor();
        let (new, g) = gradient_step(
            self.limit,
            self.min_rtt,
            self.sample_rtt,
            self.cfg.buffer_percent,
            floor,
            self.cfg.max_concurrency_limit,
        );
        self.headroom = (self.limit as f64 * g).sqrt();
        self.limit = new;
        self.gradient = g;
        if new == floor {
            self.at_min_updates += 1;
        } else {
            self.at_min_updates = 0;
        }
        if self.at_min_updates >= 5 && self.cfg.fixed_min_rtt.is_none() {
            self.enter_window(now);
        }
    }

    fn tick(&mut self, now: Duration) {
        if !self.initialized {
            self.initialized = true;
            self.next_update = now + self.cfg.concurrency_update_interval;
            if self.cfg.fixed_min_rtt.is_none() {
                self.enter_window(now);
            }
        }
        if self.in_window {
            return;
        }
        if let Some(at) = self.next_window
            && now >= at
        {
            self.enter_window(now);
            return;
        }
        if now >= self.next_update {
            self.update(now);
            self.next_update += self.cfg.concurrency_update_interval;
            if self.next_update <= now {
                self.next_update = now + self.cfg.concurrency_update_interval;
            }
        }
    }
}

impl LimitAlgorithm for EnvoyGradient {
    fn limit(&mut self, now: Duration) -> u32 {
        self.tick(now);
        self.limit
    }

    fn on_sample(&mut self, now: Duration, sample: Sample) {
        self.tick(now);
        if sample.started < self.epoch {
            return;
        }
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(sample.rtt.as_nanos() as u64);
        }
        if self.in_window && self.samples.len() >= self.cfg.request_count as usize {
            self.close_window(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::adaptive::{AdaptiveLimiter, Limiter, Outcome};
    use crate::clock::Clock;
    use std::sync::Arc;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn published_vectors() {
        let step = |sample_us: u64| {
            gradient_step(
                100,
                10 * MS,
                Duration::from_micros(sample_us),
                25.0,
                3,
                1000,
            )
        };
        assert_eq!(step(25_000), (57, 0.5));
        assert_eq!(step(12_500), (110, 1.0));
        assert_eq!(step(10_000), (136, 1.25));
        assert_eq!(step(100_000), (57, 0.5));
        assert_eq!(gradient_step(3, 10 * MS, 10 * MS, 25.0, 3, 1000).0, 5);
        // clamps
        assert_eq!(gradient_step(900, 10 * MS, MS, 25.0, 3, 1000), (1000, 2.0));
        assert_eq!(gradient_step(3, 10 * MS, 10_000 * MS, 25.0, 3, 1000).0, 3);
    }

    fn limiter(cfg: GradientConfig) -> (ManualClock, AdaptiveLimiter<EnvoyGradient>) {
        let clock = ManualClock::new();
        let l = AdaptiveLimiter::new(EnvoyGradient::new(cfg).unwrap(), Arc::new(clock.clone()));
        (clock, l)
    }

    /// Admits `n` requests at once, advances `rtt`, completes them all.
    fn batch(clock: &ManualClock, l: &dyn Limiter, n: u32, rtt: Duration) -> u32 {
        let permits: Vec<_> = (0..n).map_while(|_| l.acquire()).collect();
        let got = permits.len() as u32;
        clock.advance(rtt);
        for p in permits {
            l.release(p, Outcome::Success, rtt);
        }
        got
    }

    #[test]
    fn fixed_min_rtt_runs_the_update_loop() {
        let (clock, l) = limiter(GradientConfig {
            fixed_min_rtt: Some(10 * MS),
            ..GradientConfig::default()
        });
        assert_eq!(l.limit(), 3);
        // Samples at minRTT for one update interval: 3 → 5 (limit 3, sample = minRTT).
        assert_eq!(batch(&clock, &l, 10, 10 * MS), 3);
        clock.set(100 * MS);
        assert_eq!(l.limit(), 5);
        // No samples in an interval: no update.
        clock.set(200 * MS);
        assert_eq!(l.limit(), 5);
        assert_eq!(batch(&clock, &l, 10, 25 * MS), 5);
        clock.set(300 * MS);
        // 25 ms samples: gradient 0.5, 5·0.5 = 2.5 + 1.58 = 4.
        assert_eq!(l.limit(), 4);
        l.with_algorithm(|g| assert_eq!(g.gradient(), 0.5));
        l.with_algorithm(|g| assert!((g.headroom() - 2.5f64.sqrt()).abs() < 1e-12));
    }

    #[test]
    fn min_rtt_window_pins_concurrency_and_measures_the_percentile() {
        let (clock, l) = limiter(GradientConfig::default());
        // Start-up: pinned at 3, window open.
        assert_eq!(l.limit(), 3);
        assert!(l.with_algorithm(|g| g.in_min_rtt_window()));
        let mut rtts = Vec::new();
        for i in 0..17u64 {
            // 3 at a time, RTTs 8..=12 ms cycling.
            let rtt = Duration::from_millis(8 + i % 5);
            assert_eq!(batch(&clock, &l, 5, rtt), 3, "pinned to min_concurrency");
            rtts.extend([rtt; 3]);
        }
        // 51 samples ≥ 50: window closed on the 50th; minRTT = p50 of the first 50.
        assert!(!l.with_algorithm(|g| g.in_min_rtt_window()));
        let mut first50: Vec<u64> = rtts[..50].iter().map(|d| d.as_nanos() as u64).collect();
        let want = percentile(&mut first50, 50.0).unwrap();
        assert_eq!(l.with_algorithm(|g| g.min_rtt()).as_nanos() as f64, want);
        // Deferred limit (3) restored; the update loop grows it while samples stay at minRTT.
        let min_rtt = l.with_algorithm(|g| g.min_rtt());
        let mut last = l.limit();
        for _ in 0..5 {
            batch(&clock, &l, 1000, min_rtt);
            clock.advance(100 * MS);
            let now = l.limit();
            assert!(now > last, "{now} > {last}");
            last = now;
        }
    }

    #[test]
    fn samples_from_before_the_window_are_discarded() {
        let (clock, l) = limiter(GradientConfig {
            request_count: 2,
            ..GradientConfig::default()
        });
        let old = l.acquire().unwrap();
        clock.advance(MS);
        batch(&clock, &l, 2, 20 * MS); // closes the start-up window: minRTT 20 ms
        assert_eq!(l.with_algorithm(|g| g.min_rtt()), 20 * MS);
        // Force a new window by waiting the interval (+ max jitter).
        clock.advance(Duration::from_secs(70));
        assert_eq!(l.limit(), 3);
        assert!(l.with_algorithm(|g| g.in_min_rtt_window()));
        l.release(old, Outcome::Success, Duration::from_secs(70));
        assert!(
            l.with_algorithm(|g| g.in_min_rtt_window()),
            "stale sample ignored"
        );
        batch(&clock, &l, 2, 4 * MS);
        assert_eq!(l.with_algorithm(|g| g.min_rtt()), 4 * MS);
    }

    #[test]
    fn next_window_is_jittered_within_interval_plus_15_percent() {
        for seed in 0..20 {
            let (clock, l) = limiter(GradientConfig {
                request_count: 1,
                min_rtt_interval: Duration::from_secs(10),
                seed,
                ..GradientConfig::default()
            });
            batch(&clock, &l, 1, MS);
            let closed = clock.now();
            assert!(!l.with_algorithm(|g| g.in_min_rtt_window()));
            let mut opened = None;
            while opened.is_none() {
                clock.advance(MS);
                l.limit();
                if l.with_algorithm(|g| g.in_min_rtt_window()) {
                    opened = Some(clock.now() - closed);
                }
            }
            let d = opened.unwrap();
            assert!(
                d >= Duration::from_secs(10) && d < Duration::from_millis(11_500),
                "{d:?}"
            );
        }
    }

    #[test]
    fn five_updates_at_the_minimum_trigger_a_new_window() {
        let (clock, l) = limiter(GradientConfig {
            request_count: 3,
            ..GradientConfig::default()
        });
        batch(&clock, &l, 3, 10 * MS); // minRTT 10 ms
        for i in 1..=5 {
            // 50 ms ≫ 12.5 ms: the limit stays at 3. Each round holds exactly one update with
            // samples (the release at the old deadline sees an empty interval and skips).
            batch(&clock, &l, 3, 50 * MS);
            clock.advance(100 * MS);
            assert_eq!(l.limit(), 3);
            let open = l.with_algorithm(|g| g.in_min_rtt_window());
            assert_eq!(open, i == 5, "update {i}");
        }
    }

    #[test]
    fn separate_min_concurrency_limit_does_not_pin() {
        let (clock, l) = limiter(GradientConfig {
            min_concurrency_limit: Some(10),
            ..GradientConfig::default()
        });
        assert_eq!(l.limit(), 10);
        assert_eq!(batch(&clock, &l, 20, MS), 10);
    }

    #[test]
    fn rejects_bad_config() {
        let bad = |c: GradientConfig| EnvoyGradient::new(c).unwrap_err();
        assert_eq!(
            bad(GradientConfig {
                concurrency_update_interval: Duration::ZERO,
                ..Default::default()
            }),
            GradientConfigError::UpdateInterval
        );
        assert_eq!(
            bad(GradientConfig {
                min_rtt_interval: Duration::ZERO,
                ..Default::default()
            }),
            GradientConfigError::MinRttInterval
        );
        assert!(matches!(
            bad(GradientConfig {
                buffer_percent: 101.0,
                ..Default::default()
            }),
            GradientConfigError::Percent {
                field: "buffer",
                ..
            }
        ));
    }
}
