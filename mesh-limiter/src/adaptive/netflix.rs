//! Netflix concurrency-limits algorithms (Gradient2, Vegas, AIMD, WindowedLimit), restated from
//! their published behaviour with Netflix's defaults. The limit is kept as a float internally and
//! reported truncated, as Netflix does.

use std::fmt;
use std::time::Duration;

use super::rng::Rng;
use super::{LimitAlgorithm, Sample};

/// Gradient2 settings; [`Default`] is Netflix's.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient2Config {
    pub initial_limit: u32,
    pub min_limit: u32,
    pub max_concurrency: u32,
    pub smoothing: f64,
    /// Constant queue allowance added every update.
    pub queue_size: u32,
    pub rtt_tolerance: f64,
    /// Long-RTT EMA window, in samples.
    pub long_window: u32,
}

impl Default for Gradient2Config {
    fn default() -> Self {
        Gradient2Config {
            initial_limit: 20,
            min_limit: 20,
            max_concurrency: 200,
            smoothing: 0.2,
            queue_size: 4,
            rtt_tolerance: 1.5,
            long_window: 600,
        }
    }
}

/// Exponential moving average with a plain-average warm-up (Netflix `ExpAvgMeasurement`).
#[derive(Debug, Clone, PartialEq)]
struct ExpAvg {
    value: f64,
    warmup_left: u32,
    count: u32,
    factor: f64,
}

impl ExpAvg {
    fn new(window: u32, warmup: u32) -> Self {
        ExpAvg {
            value: 0.0,
            warmup_left: warmup,
            count: 0,
            factor: 2.0 / (window as f64 + 1.0),
        }
    }

    fn add(&mut self, x: f64) -> f64 {
        if self.warmup_left > 0 {
            self.count += 1;
            self.value += (x - self.value) / self.count as f64;
            self.warmup_left -= 1;
        } else {
            self.value = self.value * (1.0 - self.factor) + x * self.factor;
        }
        self.value
    }
}

/// Netflix Gradient2: `gradient = clamp(tolerance·longRtt/shortRtt, 0.5, 1)`,
/// `new = L·gradient + queue`, smoothed, clamped to `[min_limit, max]`. Drops are not a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient2 {
    cfg: Gradient2Config,
    estimated: f64,
    long_rtt: ExpAvg,
    last_rtt: Duration,
}

impl Default for Gradient2 {
    fn default() -> Self {
        Self::new(Gradient2Config::default())
    }
}

impl Gradient2 {
    pub fn new(cfg: Gradient2Config) -> Self {
        Gradient2 {
            estimated: cfg.initial_limit as f64,
            long_rtt: ExpAvg::new(cfg.long_window, 10),
            last_rtt: Duration::ZERO,
            cfg,
        }
    }

    /// The unrounded limit.
    pub fn estimated_limit(&self) -> f64 {
        self.estimated
    }

    /// The long-term RTT average, in nanoseconds.
    pub fn long_rtt_nanos(&self) -> f64 {
        self.long_rtt.value
    }
}

impl LimitAlgorithm for Gradient2 {
    fn limit(&mut self, _now: Duration) -> u32 {
        self.estimated as u32
    }

    fn on_sample(&mut self, _now: Duration, s: Sample) {
        self.last_rtt = s.rtt;
        let short = s.rtt.as_nanos() as f64;
        if short <= 0.0 {
            return;
        }
        let long = self.long_rtt.add(short);
        if long / short > 2.0 {
            self.long_rtt.value *= 0.95;
        }
        if (s.in_flight as f64) < self.estimated / 2.0 {
            return;
        }
        let gradient = (self.cfg.rtt_tolerance * long / short).clamp(0.5, 1.0);
        let new = self.estimated * gradient + self.cfg.queue_size as f64;
        let new = self.estimated * (1.0 - self.cfg.smoothing) + new * self.cfg.smoothing;
        self.estimated = new.clamp(self.cfg.min_limit as f64, self.cfg.max_concurrency as f64);
    }
}

/// Netflix's `log10` table function: `max(1, floor(log10(x)))`.
fn log10_floor(x: f64) -> f64 {
    let mut n = 0.0;
    let mut v = x;
    while v >= 10.0 {
        v /= 10.0;
        n += 1.0;
    }
    f64::max(1.0, n)
}

/// A function of the current limit.
pub type LimitFn = fn(f64) -> f64;

/// Vegas settings; [`Default`] is Netflix's (`alpha 3·log10 L`, `beta 6·log10 L`,
/// `threshold log10 L`, `increase L + log10 L`, `decrease L − log10 L`).
#[derive(Clone)]
pub struct VegasConfig {
    pub initial_limit: u32,
    pub max_concurrency: u32,
    pub smoothing: f64,
    pub probe_multiplier: u32,
    pub alpha: LimitFn,
    pub beta: LimitFn,
    pub threshold: LimitFn,
    pub increase: LimitFn,
    pub decrease: LimitFn,
    /// Seed of the probe jitter.
    pub seed: u64,
}

impl fmt::Debug for VegasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VegasConfig")
            .field("initial_limit", &self.initial_limit)
            .field("max_concurrency", &self.max_concurrency)
            .field("smoothing", &self.smoothing)
            .field("probe_multiplier", &self.probe_multiplier)
            .finish_non_exhaustive()
    }
}

impl Default for VegasConfig {
    fn default() -> Self {
        VegasConfig {
            initial_limit: 20,
            max_concurrency: 1000,
            smoothing: 1.0,
            probe_multiplier: 30,
            alpha: |l| 3.0 * log10_floor(l),
            beta: |l| 6.0 * log10_floor(l),
            threshold: log10_floor,
            increase: |l| l + log10_floor(l),
            decrease: |l| l - log10_floor(l),
            seed: 0,
        }
    }
}

/// Netflix Vegas: estimates the queue as `ceil(L·(1 − rttNoLoad/rtt))` and moves the limit by
/// the alpha/beta thresholds; probes (resets rttNoLoad) every `jitter·30·L` samples.
#[derive(Debug, Clone)]
pub struct Vegas {
    cfg: VegasConfig,
    estimated: f64,
    rtt_noload: u64,
    probe_count: u64,
    probe_jitter: f64,
    rng: Rng,
}

impl Default for Vegas {
    fn default() -> Self {
        Self::new(VegasConfig::default())
    }
}

impl Vegas {
    pub fn new(cfg: VegasConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let probe_jitter = rng.uniform(0.5, 1.0);
        Vegas {
            estimated: cfg.initial_limit as f64,
            rtt_noload: 0,
            probe_count: 0,
            probe_jitter,
            rng,
            cfg,
        }
    }

    /// The unrounded limit.
    pub fn estimated_limit(&self) -> f64 {
        self.estimated
    }

    /// The no-load RTT estimate.
    pub fn rtt_noload(&self) -> Duration {
        Duration::from_nanos(self.rtt_noload)
    }
}

impl LimitAlgorithm for Vegas {
    fn limit(&mut self, _now: Duration) -> u32 {
        self.estimated as u32
    }

    fn on_sample(&mut self, _now: Duration, s: Sample) {
        let rtt = s.rtt.as_nanos() as u64;
        self.probe_count += 1;
        if self.probe_jitter * self.cfg.probe_multiplier as f64 * self.estimated
            <= self.probe_count as f64
        {
            self.probe_jitter = self.rng.uniform(0.5, 1.0);
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return;
        }
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return;
        }
        let l = self.estimated;
        let queue = (l * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil();
        let new = if s.dropped {
            (self.cfg.decrease)(l)
        } else if (s.in_flight as f64) * 2.0 < l {
            return;
        } else if queue <= (self.cfg.threshold)(l) {
            l + (self.cfg.beta)(l)
        } else if queue < (self.cfg.alpha)(l) {
            (self.cfg.increase)(l)
        } else if queue > (self.cfg.beta)(l) {
            (self.cfg.decrease)(l)
        } else {
            return;
        };
        let new = new.clamp(1.0, self.cfg.max_concurrency as f64);
        self.estimated = (1.0 - self.cfg.smoothing) * l + self.cfg.smoothing * new;
    }
}

/// AIMD settings; [`Default`] is Netflix's.
#[derive(Debug, Clone, PartialEq)]
pub struct AimdConfig {
    pub initial_limit: u32,
    pub min_limit: u32,
    pub max_limit: u32,
    /// Multiplicative decrease, in [0.5, 1).
    pub backoff_ratio: f64,
    /// An RTT above this counts as a drop.
    pub timeout: Duration,
}

impl Default for AimdConfig {
    fn default() -> Self {
        AimdConfig {
            initial_limit: 20,
            min_limit: 20,
            max_limit: 200,
            backoff_ratio: 0.9,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Netflix AIMD: +1 per sample while at least half the limit is in use, `floor(L·backoff)` on a
/// drop or an RTT above the timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Aimd {
    cfg: AimdConfig,
    limit: u32,
}

impl Default for Aimd {
    fn default() -> Self {
        Self::new(AimdConfig::default())
    }
}

impl Aimd {
    pub fn new(cfg: AimdConfig) -> Self {
        let backoff_ratio = cfg.backoff_ratio.clamp(0.5, 0.999_999);
        Aimd {
            limit: cfg.initial_limit,
            cfg: AimdConfig {
                backoff_ratio,
                ..cfg
            },
        }
    }
}

impl LimitAlgorithm for Aimd {
    fn limit(&mut self, _now: Duration) -> u32 {
        self.limit
    }

    fn on_sample(&mut self, _now: Duration, s: Sample) {
        let mut l = self.limit;
        if s.dropped || s.rtt > self.cfg.timeout {
            l = (l as f64 * self.cfg.backoff_ratio) as u32;
        } else if s.in_flight.saturating_mul(2) >= l {
            l = l.saturating_add(1);
        }
        self.limit = l.clamp(
            self.cfg.min_limit,
            self.cfg.max_limit.max(self.cfg.min_limit),
        );
    }
}

/// WindowedLimit settings; [`Default`] is Netflix's.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowedConfig {
    pub min_window: Duration,
    pub max_window: Duration,
    /// Minimum samples before a window may close.
    pub window_size: u32,
    /// Samples with an RTT below this are ignored.
    pub min_rtt_threshold: Duration,
}

impl Default for WindowedConfig {
    fn default() -> Self {
        WindowedConfig {
            min_window: Duration::from_secs(1),
            max_window: Duration::from_secs(1),
            window_size: 10,
            min_rtt_threshold: Duration::from_micros(100),
        }
    }
}

/// Netflix `WindowedLimit`: aggregates samples per window and, when a sample arrives after the
/// window's end, closes it (next window: `clamp(2·window minRTT, min, max)`); a window with at
/// least `window_size` samples feeds the delegate one sample carrying the average RTT, the
/// window's max in-flight and whether any sample dropped; a smaller one is discarded. The first
/// window ends at clock time 0.
#[derive(Debug, Clone)]
pub struct Windowed<A> {
    cfg: WindowedConfig,
    delegate: A,
    next_update: Duration,
    window_min_rtt: u64,
    sum_rtt: u128,
    count: u32,
    max_in_flight: u32,
    dropped: bool,
}

impl<A: LimitAlgorithm> Windowed<A> {
    pub fn new(delegate: A, cfg: WindowedConfig) -> Self {
        Windowed {
            cfg,
            delegate,
            next_update: Duration::ZERO,
            window_min_rtt: u64::MAX,
            sum_rtt: 0,
            count: 0,
            max_in_flight: 0,
            dropped: false,
        }
    }

    /// The wrapped algorithm.
    pub fn delegate(&self) -> &A {
        &self.delegate
    }
}

impl<A: LimitAlgorithm> LimitAlgorithm for Windowed<A> {
    fn limit(&mut self, now: Duration) -> u32 {
        self.delegate.limit(now)
    }

    fn on_sample(&mut self, now: Duration, s: Sample) {
        if s.rtt < self.cfg.min_rtt_threshold {
            return;
        }
        let rtt = s.rtt.as_nanos() as u64;
        self.count += 1;
        self.sum_rtt += rtt as u128;
        self.window_min_rtt = self.window_min_rtt.min(rtt);
        self.max_in_flight = self.max_in_flight.max(s.in_flight);
        self.dropped |= s.dropped;
        if now <= self.next_update {
            return;
        }
        // The window closes whether or not it is ready; an unready one is discarded.
        let window = Duration::from_nanos(self.window_min_rtt.saturating_mul(2))
            .clamp(self.cfg.min_window, self.cfg.max_window);
        self.next_update = now + window;
        if self.count >= self.cfg.window_size {
            let avg = (self.sum_rtt / self.count as u128) as u64;
            self.delegate.on_sample(
                now,
                Sample {
                    started: s.started,
                    rtt: Duration::from_nanos(avg),
                    in_flight: self.max_in_flight,
                    dropped: self.dropped,
                },
            );
        }
        self.window_min_rtt = u64::MAX;
        self.sum_rtt = 0;
        self.count = 0;
        self.max_in_flight = 0;
        self.dropped = false;
    }

    fn on_ignore(&mut self, now: Duration) {
        self.delegate.on_ignore(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn sample(rtt: Duration, in_flight: u32, dropped: bool) -> Sample {
        Sample {
            started: Duration::ZERO,
            rtt,
            in_flight,
            dropped,
        }
    }

    fn feed(a: &mut impl LimitAlgorithm, rtt: Duration, in_flight: u32, dropped: bool) -> u32 {
        a.on_sample(Duration::ZERO, sample(rtt, in_flight, dropped));
        a.limit(Duration::ZERO)
    }

    fn vegas_test_config(initial: u32, max: u32) -> VegasConfig {
        VegasConfig {
            initial_limit: initial,
            max_concurrency: max,
            alpha: |_| 3.0,
            beta: |_| 6.0,
            ..VegasConfig::default()
        }
    }

    #[test]
    fn vegas_netflix_vectors() {
        // Increase: no queueing.
        let mut v = Vegas::new(vegas_test_config(10, 20));
        assert_eq!(feed(&mut v, 10 * MS, 1, false), 10); // sets rttNoLoad
        assert_eq!(feed(&mut v, 10 * MS, 11, false), 16);
        // Decrease: rtt 50 ms ⇒ queue 8 > beta.
        let mut v = Vegas::new(vegas_test_config(10, 20));
        feed(&mut v, 10 * MS, 1, false);
        assert_eq!(feed(&mut v, 50 * MS, 11, false), 9);
        // Within [alpha, beta]: unchanged.
        let mut v = Vegas::new(vegas_test_config(10, 20));
        feed(&mut v, 10 * MS, 1, false);
        assert_eq!(feed(&mut v, 14 * MS, 14, false), 10);
        // Default functions at a large limit: 10000 + 6·log10(10000) = 10024.
        let mut v = Vegas::new(VegasConfig {
            initial_limit: 10000,
            max_concurrency: 20000,
            ..VegasConfig::default()
        });
        let s10 = Duration::from_secs(10);
        feed(&mut v, s10, 5000, false);
        assert_eq!(feed(&mut v, s10, 6000, false), 10024);
        // Decrease function L/2 with smoothing 0.5: 100 → 75 → 56.
        let mut v = Vegas::new(VegasConfig {
            initial_limit: 100,
            max_concurrency: 200,
            smoothing: 0.5,
            decrease: |l| l / 2.0,
            ..VegasConfig::default()
        });
        feed(&mut v, 10 * MS, 1, false);
        assert_eq!(feed(&mut v, 10 * MS, 100, true), 75);
        assert_eq!(feed(&mut v, 10 * MS, 100, true), 56);
    }

    #[test]
    fn vegas_ignores_app_limited_samples_and_probes() {
        let mut v = Vegas::new(vegas_test_config(10, 20));
        feed(&mut v, 10 * MS, 1, false);
        assert_eq!(feed(&mut v, 50 * MS, 4, false), 10, "inflight·2 < L");
        // After ≤ 30·L samples, a probe resets rttNoLoad to the current RTT.
        let mut v = Vegas::new(vegas_test_config(10, 20));
        feed(&mut v, 10 * MS, 1, false);
        for _ in 0..300 {
            feed(&mut v, 40 * MS, 1, false);
        }
        assert_eq!(v.rtt_noload(), 40 * MS);
    }

    #[test]
    fn log10_table() {
        assert_eq!(log10_floor(1.0), 1.0);
        assert_eq!(log10_floor(99.0), 1.0);
        assert_eq!(log10_floor(100.0), 2.0);
        assert_eq!(log10_floor(10000.0), 4.0);
    }

    #[test]
    fn aimd_netflix_vectors() {
        let mut a = Aimd::default();
        assert_eq!(feed(&mut a, MS, 10, false), 21);
        let mut a = Aimd::new(AimdConfig {
            initial_limit: 30,
            ..AimdConfig::default()
        });
        assert_eq!(feed(&mut a, MS, 10, true), 27);
        // RTT above the timeout is a drop.
        assert_eq!(feed(&mut a, Duration::from_secs(6), 10, false), 24);
        // App-limited: no increase.
        assert_eq!(feed(&mut a, MS, 5, false), 24);
        let mut a = Aimd::new(AimdConfig {
            initial_limit: 200,
            ..AimdConfig::default()
        });
        assert_eq!(feed(&mut a, MS, 200, false), 200, "stays at max");
        let mut a = Aimd::default();
        assert_eq!(feed(&mut a, MS, 20, true), 20, "never below min");
    }

    #[test]
    fn gradient2_behaviour() {
        let mut g = Gradient2::new(Gradient2Config {
            initial_limit: 50,
            min_limit: 1,
            max_concurrency: 1000,
            ..Gradient2Config::default()
        });
        // Steady RTT: gradient clamps to 1 ⇒ new = 50 + 4, smoothed 50·0.8 + 54·0.2 = 50.8.
        assert_eq!(feed(&mut g, 10 * MS, 50, false), 50);
        assert!((g.estimated_limit() - 50.8).abs() < 1e-9);
        // App-limited sample: unchanged limit, but the long RTT still learns.
        assert_eq!(feed(&mut g, 10 * MS, 10, false), 50);
        assert!((g.estimated_limit() - 50.8).abs() < 1e-9);
        // Warm-up average of 10 ms samples then a 30 ms sample: 1.5·10/30 = 0.5 ⇒
        // new = 50.8·0.5 + 4 = 29.4, smoothed 50.8·0.8 + 29.4·0.2 = 46.52.
        for _ in 0..8 {
            feed(&mut g, 10 * MS, 1, false);
        }
        assert_eq!(g.long_rtt_nanos(), 10_000_000.0);
        // The 11th sample enters the EMA: long = 10 + (30−10)·2/601 ms.
        let long = 10.0 + 20.0 * 2.0 / 601.0;
        let grad = (1.5 * long / 30.0_f64).clamp(0.5, 1.0);
        let want = 50.8 * 0.8 + (50.8 * grad + 4.0) * 0.2;
        feed(&mut g, 30 * MS, 50, false);
        assert!(
            (g.estimated_limit() - want).abs() < 1e-9,
            "{}",
            g.estimated_limit()
        );
        // Drops do not matter to Gradient2.
        let before = g.estimated_limit();
        let mut h = g.clone();
        h.on_sample(Duration::ZERO, sample(10 * MS, 50, true));
        g.on_sample(Duration::ZERO, sample(10 * MS, 50, false));
        assert_eq!(g.estimated_limit(), h.estimated_limit());
        assert!(g.estimated_limit() > before);
    }

    #[test]
    fn gradient2_long_rtt_recovers_after_a_latency_drop() {
        let mut g = Gradient2::default();
        for _ in 0..100 {
            feed(&mut g, 100 * MS, 20, false);
        }
        feed(&mut g, 10 * MS, 20, false);
        // 100/10 > 2 ⇒ the long RTT was decayed by 5 % after the EMA step.
        let ema = 100.0 * (1.0 - 2.0 / 601.0) + 10.0 * 2.0 / 601.0;
        assert!((g.long_rtt_nanos() / 1e6 - ema * 0.95).abs() < 1e-6);
    }

    #[test]
    fn windowed_aggregates_to_one_average_sample() {
        let mut w = Windowed::new(Aimd::default(), WindowedConfig::default());
        let at = |ms: u64| Duration::from_millis(ms);
        // The first window ends at 0: the sample at 10 ms closes it with 2 samples (< 10, so
        // discarded) and opens one ending at 1.01 s.
        w.on_sample(at(0), sample(10 * MS, 15, false));
        w.on_sample(at(10), sample(10 * MS, 15, false));
        assert_eq!(w.limit(Duration::ZERO), 20);
        for i in 2..22 {
            w.on_sample(at(i * 10), sample(10 * MS, 15, false));
        }
        w.on_sample(at(1010), sample(10 * MS, 15, false));
        assert_eq!(w.limit(Duration::ZERO), 20, "not past the window end yet");
        // Closing: one sample with max in-flight 15 ⇒ AIMD +1 (15·2 ≥ 20).
        w.on_sample(at(1011), sample(10 * MS, 3, false));
        assert_eq!(w.limit(Duration::ZERO), 21);
        // Sub-100 µs samples are ignored entirely.
        w.on_sample(at(5000), sample(Duration::from_micros(50), 30, true));
        assert_eq!(w.limit(Duration::ZERO), 21);
        // A drop anywhere in a ready window reaches the delegate: floor(21·0.9) = 18 → min 20.
        // (The sample at 5 s closes the old window with just itself: discarded.)
        for i in 0..12 {
            w.on_sample(at(5000 + i), sample(10 * MS, 30, i == 3));
        }
        assert_eq!(w.limit(Duration::ZERO), 21);
        w.on_sample(at(6001), sample(10 * MS, 30, false));
        assert_eq!(w.limit(Duration::ZERO), 20);
    }
}
