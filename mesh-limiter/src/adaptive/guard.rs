//! A BBR-style CPU + in-flight guard, restated from go-kratos/aegis `ratelimit/bbr`.
//!
//! The server's delivery capacity is estimated from a rolling window (default 10 s in 100
//! buckets): `maxInFlight = floor(maxPass · minRT_ms · bucketsPerSecond / 1000 + 0.5)`, where
//! `maxPass` is the largest completion count of a finished bucket and `minRT` the smallest
//! per-bucket mean RTT (ms, rounded up, ≥ 1). While the CPU (an EMA sampled every 500 ms) is at or
//! above the threshold, a request is rejected iff `inFlight > 1 && inFlight > maxInFlight`; once a
//! rejection happened, the same check keeps applying for 1 s after CPU drops back (cool-down).
//! Sentinel's `checkBbr` is the same bound (`thread > maxSuccessQps · minRt / 1000`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{LimitAlgorithm, Sample};

/// Where the guard reads CPU usage from: 0..=1000 (per mille of the cores it may use).
pub trait CpuGauge: Send + Sync + fmt::Debug {
    fn cpu_permille(&self) -> u32;
}

/// A fixed CPU reading (tests, or a caller that updates it through an atomic of its own).
impl CpuGauge for std::sync::atomic::AtomicU32 {
    fn cpu_permille(&self) -> u32 {
        self.load(std::sync::atomic::Ordering::Relaxed).min(1000)
    }
}

/// aegis defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BbrConfig {
    /// Rolling window length. Default 10 s.
    pub window: Duration,
    /// Buckets in the window. Default 100.
    pub buckets: u32,
    /// CPU (‰) at or above which the guard limits. Default 800.
    pub cpu_threshold: u32,
    /// CPU sampling period. Default 500 ms.
    pub cpu_sample_interval: Duration,
    /// EMA weight of the previous CPU value. Default 0.95.
    pub cpu_decay: f64,
    /// How long limiting continues after CPU falls below the threshold. Default 1 s.
    pub cool_down: Duration,
}

impl Default for BbrConfig {
    fn default() -> Self {
        BbrConfig {
            window: Duration::from_secs(10),
            buckets: 100,
            cpu_threshold: 800,
            cpu_sample_interval: Duration::from_millis(500),
            cpu_decay: 0.95,
            cool_down: Duration::from_secs(1),
        }
    }
}

/// Sentinel's `checkBbr`: with `thread` requests in flight, block iff
/// `thread > 1 && thread > max_success_qps · min_rt_ms / 1000`.
pub fn sentinel_check_bbr(thread: u64, max_success_qps: f64, min_rt_ms: f64) -> bool {
    thread > 1 && thread as f64 > max_success_qps * min_rt_ms / 1000.0
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    idx: u64,
    pass: u64,
    rt_sum_ms: u64,
    rt_count: u64,
}

/// The guard, as a [`LimitAlgorithm`] (its [`LimitAlgorithm::limit`] reports `maxInFlight + 1`
/// while limiting, `u32::MAX` otherwise).
pub struct BbrGuard {
    cfg: BbrConfig,
    gauge: Arc<dyn CpuGauge>,
    cpu: f64,
    next_cpu_sample: Option<Duration>,
    buckets: Vec<Bucket>,
    drop_since: Option<Duration>,
    cache: Option<(u64, u64, u64)>,
}

impl fmt::Debug for BbrGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BbrGuard")
            .field("cfg", &self.cfg)
            .field("gauge", &self.gauge)
            .field("cpu", &self.cpu)
            .field("drop_since", &self.drop_since)
            .finish_non_exhaustive()
    }
}

impl BbrGuard {
    pub fn new(cfg: BbrConfig, gauge: Arc<dyn CpuGauge>) -> Self {
        let n = cfg.buckets.max(1) as usize;
        BbrGuard {
            cfg: BbrConfig {
                buckets: n as u32,
                ..cfg
            },
            gauge,
            cpu: 0.0,
            next_cpu_sample: None,
            buckets: vec![
                Bucket {
                    idx: u64::MAX,
                    ..Bucket::default()
                };
                n
            ],
            drop_since: None,
            cache: None,
        }
    }

    fn bucket_len(&self) -> Duration {
        (self.cfg.window / self.cfg.buckets).max(Duration::from_nanos(1))
    }

    fn bucket_idx(&self, now: Duration) -> u64 {
        (now.as_nanos() / self.bucket_len().as_nanos()) as u64
    }

    fn bucket_mut(&mut self, now: Duration) -> &mut Bucket {
        let idx = self.bucket_idx(now);
        let n = self.buckets.len() as u64;
        let b = &mut self.buckets[(idx % n) as usize];
        if b.idx != idx {
            *b = Bucket {
                idx,
                ..Bucket::default()
            };
        }
        b
    }

    /// The smoothed CPU (‰).
    pub fn cpu(&self) -> f64 {
        self.cpu
    }

    fn sample_cpu(&mut self, now: Duration) {
        let next = *self.next_cpu_sample.get_or_insert(now);
        if now < next {
            return;
        }
        let period = self.cfg.cpu_sample_interval.max(Duration::from_millis(1));
        let missed = ((now - next).as_nanos() / period.as_nanos()) as u64 + 1;
        let cur = self.gauge.cpu_permille().min(1000) as f64;
        // Missed periods all read the same (current) value; cap the work.
        for _ in 0..missed.min(1000) {
            self.cpu = self.cpu * self.cfg.cpu_decay + cur * (1.0 - self.cfg.cpu_decay);
        }
        self.next_cpu_sample = Some(next + period * missed as u32);
    }

    /// `(maxPass, minRT_ms)` over the finished buckets of the window.
    fn stats(&mut self, now: Duration) -> (u64, u64) {
        let cur = self.bucket_idx(now);
        if let Some((idx, p, r)) = self.cache
            && idx == cur
        {
            return (p, r);
        }
        let n = self.buckets.len() as u64;
        let mut max_pass = 1u64;
        let mut min_rt = f64::MAX;
        for b in &self.buckets {
            if b.idx == u64::MAX || b.idx >= cur || cur - b.idx >= n {
                continue;
            }
            max_pass = max_pass.max(b.pass);
            if b.rt_count > 0 {
                min_rt = min_rt.min(b.rt_sum_ms as f64 / b.rt_count as f64);
            }
        }
        let min_rt = if min_rt == f64::MAX {
            1
        } else {
            (min_rt.ceil() as u64).max(1)
        };
        self.cache = Some((cur, max_pass, min_rt));
        (max_pass, min_rt)
    }

    /// The current in-flight bound.
    pub fn max_in_flight(&mut self, now: Duration) -> u64 {
        let (max_pass, min_rt) = self.stats(now);
        let per_sec = 1e9 / self.bucket_len().as_nanos() as f64;
        (max_pass as f64 * min_rt as f64 * per_sec / 1000.0 + 0.5).floor() as u64
    }

    fn limiting(&mut self, now: Duration) -> bool {
        self.sample_cpu(now);
        if self.cpu >= self.cfg.cpu_threshold as f64 {
            return true;
        }
        match self.drop_since {
            Some(t) if now.saturating_sub(t) <= self.cfg.cool_down => true,
            Some(_) => {
                self.drop_since = None;
                false
            }
            None => false,
        }
    }
}

impl LimitAlgorithm for BbrGuard {
    fn limit(&mut self, now: Duration) -> u32 {
        if self.limiting(now) {
            (self.max_in_flight(now).max(1) + 1).min(u32::MAX as u64) as u32
        } else {
            u32::MAX
        }
    }

    fn admit(&mut self, now: Duration, in_flight: u32) -> bool {
        let over_cpu = {
            self.sample_cpu(now);
            self.cpu >= self.cfg.cpu_threshold as f64
        };
        if !self.limiting(now) {
            return true;
        }
        let drop = in_flight > 1 && in_flight as u64 > self.max_in_flight(now);
        if drop && over_cpu && self.drop_since.is_none() {
            self.drop_since = Some(now);
        }
        !drop
    }

    fn on_sample(&mut self, now: Duration, s: Sample) {
        let rt_ms = s.rtt.as_nanos().div_ceil(1_000_000) as u64;
        let b = self.bucket_mut(now);
        b.pass += 1;
        if rt_ms > 0 {
            b.rt_sum_ms += rt_ms;
            b.rt_count += 1;
        }
    }

    fn on_ignore(&mut self, now: Duration) {
        self.bucket_mut(now).pass += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::adaptive::{AdaptiveLimiter, Limiter, Outcome};
    use crate::clock::Clock;
    use std::sync::atomic::{AtomicU32, Ordering};

    const MS: Duration = Duration::from_millis(1);

    fn setup(decay: f64) -> (ManualClock, Arc<AtomicU32>, AdaptiveLimiter<BbrGuard>) {
        let clock = ManualClock::new();
        let cpu = Arc::new(AtomicU32::new(0));
        let cfg = BbrConfig {
            cpu_decay: decay,
            ..BbrConfig::default()
        };
        let g = BbrGuard::new(cfg, cpu.clone());
        (clock.clone(), cpu, AdaptiveLimiter::new(g, Arc::new(clock)))
    }

    #[test]
    fn max_in_flight_formula() {
        // 100 completions per 100 ms bucket at 20 ms ⇒ 100 · 20 · 10 / 1000 = 20.
        let (clock, _cpu, l) = setup(0.95);
        for _ in 0..5 {
            for _ in 0..100 {
                let p = l.acquire().unwrap();
                l.release(p, Outcome::Success, 20 * MS);
            }
            clock.advance(100 * MS);
        }
        assert_eq!(l.with_algorithm(|g| g.max_in_flight(clock.now())), 20);
        assert_eq!(l.with_algorithm(|g| g.stats(clock.now())), (100, 20));
    }

    #[test]
    fn no_limit_below_cpu_threshold_then_limit_and_cool_down() {
        let (clock, cpu, l) = setup(0.0); // decay 0: the EMA is the last reading
        for _ in 0..100 {
            let p = l.acquire().unwrap();
            l.release(p, Outcome::Success, 10 * MS);
        }
        clock.advance(100 * MS);
        // maxPass 100, minRT 10 ms ⇒ bound 10.
        let held: Vec<_> = (0..30).map(|_| l.acquire().unwrap()).collect();
        assert_eq!(l.limit(), u32::MAX, "CPU low: unlimited");
        cpu.store(900, Ordering::Relaxed);
        clock.advance(500 * MS);
        assert_eq!(l.limit(), 11);
        assert!(l.acquire().is_none(), "30 in flight > 10");
        // CPU falls; within 1 s of the first drop the bound still applies.
        cpu.store(100, Ordering::Relaxed);
        clock.advance(500 * MS);
        assert!(l.acquire().is_none());
        clock.advance(600 * MS);
        let p = l.acquire().expect("cool-down over");
        l.release(p, Outcome::Ignored, Duration::ZERO);
        for p in held {
            l.release(p, Outcome::Success, 10 * MS);
        }
    }

    #[test]
    fn sentinel_bound() {
        // 1000 successes/s at 20 ms: 20 may be in flight.
        assert!(!sentinel_check_bbr(20, 1000.0, 20.0));
        assert!(sentinel_check_bbr(21, 1000.0, 20.0));
        // A single request is never blocked.
        assert!(!sentinel_check_bbr(1, 0.0, 1.0));
        assert!(sentinel_check_bbr(2, 0.0, 1.0));
    }

    #[test]
    fn cpu_is_an_ema_sampled_every_500ms() {
        let (clock, cpu, l) = setup(0.95);
        cpu.store(1000, Ordering::Relaxed);
        l.limit(); // first sample at t=0
        assert!((l.with_algorithm(|g| g.cpu()) - 50.0).abs() < 1e-9);
        clock.advance(400 * MS);
        l.limit();
        assert!((l.with_algorithm(|g| g.cpu()) - 50.0).abs() < 1e-9);
        clock.advance(100 * MS);
        l.limit();
        assert!((l.with_algorithm(|g| g.cpu()) - 97.5).abs() < 1e-9);
    }
}
