//! A deterministic overload simulator (`meshctl simulate`).
//!
//! # The model
//!
//! Virtual time in integer nanoseconds; events (arrival, service completion) are ordered by
//! `(time, sequence number)`, and all randomness comes from one seeded xoshiro256** stream with
//! a logarithm built from IEEE basic operations, so a seed gives the same run on every platform.
//!
//! - **Server**: `slots` workers (default 20) and one FIFO queue of at most `queue_capacity`
//!   requests (default 4096; an arrival finding it full is *refused*). Service times are
//!   Erlang-2 with mean 10 ms by default (exponential and constant are available). Capacity is
//!   `slots / mean service time` requests per second (2000/s by default). The server does not
//!   know when a client has given up: it serves every queued request, useful or not.
//! - **Clients**: open loop. Poisson arrivals at `load × capacity` (load is fixed at the start:
//!   after a capacity halving the same rate is twice the overload). Each request has a deadline,
//!   the SLO (default 10 × mean service time = 100 ms, as in Breakwater's methodology); a
//!   response after it is useless (*late*).
//! - **Limiter**: sits in front of the server queue (like a sidecar). Each arrival calls
//!   [`Limiter::acquire`]; `None` rejects it at once. The permit is released when the server
//!   finishes the request, with [`Outcome::Success`] if it met the SLO and [`Outcome::Dropped`]
//!   otherwise, and the RTT the server-side proxy would see (queueing + service). The limiter
//!   reads the simulator's virtual clock.
//! - **Capacity halving** (default at the middle of the run): half the slots disappear; requests
//!   already in service on them finish. The service time is unchanged, so capacity halves.
//! - Arrivals stop at `duration`; the run then drains. Requests arriving during the first
//!   `warmup` (default 1 s) are not measured.
//!
//! Without a limiter, 3× load fills the queue: queueing delay passes the SLO within a fraction of
//! a second and nearly every response after that is late — goodput collapses although the server
//! is 100 % busy. A concurrency limiter keeps the queue short, so admitted requests stay fast.
//!
//! # Why the halving removes slots, and how the static limit is sized
//!
//! Removing half the slots halves the capacity without changing how long one request takes, so
//! the unloaded latency (the reference of the latency goal) is the same before and after. (Doubling
//! the service time instead would double every request's own p99, and no limiter could bring the
//! p99 back within 2 × the original unloaded p99.) A limiter that keeps the concurrency it had
//! before the halving now queues requests behind the remaining slots.
//!
//! `static` is sized the way operators size a fixed concurrency limit (Hystrix' rule: peak
//! requests per second when healthy × healthy p99 latency): `ceil(capacity × unloaded p99)`, 66
//! with the default model. It fits the original server (p99 within 2 × unloaded) and overshoots
//! after the halving: twice the queueing, p99 beyond the bound for the rest of the run. A static
//! limit equal to the exact slot count (`LimiterSpec::Static(20)`, `--static-limit 20`) is an
//! oracle an operator rarely has; by Little's law it at most doubles the mean latency after the
//! halving, which with Erlang-2 service stays within 2 × unloaded p99.
//!
//! # Metrics ([`Report`])
//!
//! - `goodput_ratio`: measured requests completed within the SLO ÷ (∫ capacity dt over the
//!   measured period).
//! - `admitted_p99_ms`: p99 latency of measured requests that were admitted and served.
//! - `unloaded_p99_ms`: the same p99 for the same server at 0.5× load, no limiter, no halving.
//! - `reject_ratio`: limiter rejections ÷ measured arrivals.
//! - `reconverge_s`: the settling time after the halving. Admitted requests are bucketed by
//!   arrival time into [`RECONVERGE_WINDOW`] (250 ms) windows starting at the halving; a window is
//!   *within bound* if its p99 is ≤ 2 × `unloaded_p99_ms` (an empty window is within bound).
//!   `reconverge_s` is the start of the first window from which every window up to the end of
//!   the run is within bound, provided that stretch lasts at least [`RECONVERGE_HOLD`] (1 s);
//!   otherwise `reconverged` is false and `reconverge_s` is the whole remaining run. Staying
//!   within bound "for the rest of the run" (not just for a while) means an oscillating limiter
//!   cannot score by passing through the band.
//! - `peak_p99_after_halving_ms`, `limit_before_halving`, `limit_at_end`: diagnostics — the
//!   worst window after the halving, and the mean limit over the 2 s before it and the last 2 s.
//! - `goodput_ratio` can exceed 1 by a fraction of a percent: service times are random and the
//!   denominator is the nominal capacity.
//!
//! ```
//! use mesh_limiter::sim::{LimiterSpec, SimConfig, evaluate};
//! let cfg = SimConfig { duration: std::time::Duration::from_secs(4), ..SimConfig::default() };
//! let spec = LimiterSpec::by_name("gradient", &cfg).unwrap();
//! let report = evaluate(&cfg, &spec).unwrap();
//! assert!(report.goodput_ratio > 0.8);
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::ManualClock;
use crate::adaptive::rng::Rng;
use crate::adaptive::{Limiter, Outcome, Permit};

mod plot;
mod scenario;
mod spec;

pub use plot::render_svg;
pub use scenario::Scenario;
pub use spec::{LimiterKind, LimiterSpec};

/// Service-time distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    /// Always the same.
    Constant(Duration),
    /// Exponential with this mean.
    Exponential(Duration),
    /// Erlang-`k` (sum of `k` exponentials) with this mean.
    Erlang { k: u32, mean: Duration },
}

impl ServiceTime {
    /// The mean service time.
    pub fn mean(&self) -> Duration {
        match *self {
            ServiceTime::Constant(d) | ServiceTime::Exponential(d) => d,
            ServiceTime::Erlang { mean, .. } => mean,
        }
    }

    fn sample_ns(&self, rng: &mut Rng) -> u64 {
        let ns = match *self {
            ServiceTime::Constant(d) => return d.as_nanos() as u64,
            ServiceTime::Exponential(d) => d.as_nanos() as f64 * rng.exp1(),
            ServiceTime::Erlang { k, mean } => {
                let k = k.max(1);
                let per = mean.as_nanos() as f64 / k as f64;
                (0..k).map(|_| per * rng.exp1()).sum()
            }
        };
        (ns as u64).max(1)
    }
}

/// The simulated world. [`Default`] is the documented model.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub slots: u32,
    pub service: ServiceTime,
    /// Offered load as a multiple of the initial capacity.
    pub load: f64,
    pub duration: Duration,
    pub warmup: Duration,
    /// When half the slots disappear (`None`: never).
    pub halve_at: Option<Duration>,
    /// Client deadline.
    pub slo: Duration,
    pub queue_capacity: usize,
    pub seed: u64,
    /// Time-series bucket for the plot.
    pub window: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            slots: 20,
            service: ServiceTime::Erlang {
                k: 2,
                mean: Duration::from_millis(10),
            },
            load: 3.0,
            duration: Duration::from_secs(30),
            warmup: Duration::from_secs(1),
            halve_at: Some(Duration::from_secs(15)),
            slo: Duration::from_millis(100),
            queue_capacity: 4096,
            seed: 1,
            window: Duration::from_millis(100),
        }
    }
}

/// A configuration the simulator cannot run.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SimError {
    /// A field out of its range (the message names it and the accepted range).
    #[error("{0}")]
    Invalid(String),
    #[error("limiter configuration: {0}")]
    Limiter(String),
    /// A [`Scenario`] setting that does not make a run (a bad number, an unknown limiter).
    #[error("{0}")]
    Scenario(String),
}

/// The most arrivals one run may have, counting the 0.5× load baseline every report also runs.
pub const MAX_ARRIVALS: f64 = 10_000_000.0;
/// The longest run, SLO, mean service time or halving time.
pub const MAX_TIME: Duration = Duration::from_secs(3600);
/// The most time-series windows one run may have.
pub const MAX_WINDOWS: u64 = 1_000_000;
/// The largest Erlang shape (each service time draws this many exponentials).
pub const MAX_ERLANG_K: u32 = 64;
/// The offered load of the unloaded baseline ([`unloaded_p99_ns`]).
pub const BASELINE_LOAD: f64 = 0.5;

/// Nanoseconds, saturating (every time the simulator keeps is at most [`MAX_TIME`]).
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl SimConfig {
    /// Requests per second the server completes at full capacity (before any halving).
    pub fn capacity_rps(&self) -> f64 {
        self.slots as f64 / self.service.mean().as_secs_f64()
    }

    /// Checks every field before any work is done: [`simulate`] and [`evaluate`] refuse a
    /// configuration in time independent of its values.
    pub fn validate(&self) -> Result<(), SimError> {
        let invalid = |m: String| Err(SimError::Invalid(m));
        let within = |d: Duration| !d.is_zero() && d <= MAX_TIME;
        if self.slots == 0 {
            return invalid("slots must be > 0".into());
        }
        if !within(self.service.mean()) {
            return invalid(format!(
                "mean service time must be in (0, {} s], not {:?}",
                MAX_TIME.as_secs(),
                self.service.mean()
            ));
        }
        if let ServiceTime::Erlang { k, .. } = self.service
            && !(1..=MAX_ERLANG_K).contains(&k)
        {
            return invalid(format!("Erlang k must be in 1..={MAX_ERLANG_K}, not {k}"));
        }
        // `{:?}` prints a float in the shortest form that reads back (`1e300`, `-1.0`).
        if !(self.load.is_finite() && self.load > 0.0 && self.load <= 1000.0) {
            return invalid(format!("load must be in (0, 1000], not {:?}", self.load));
        }
        if !within(self.duration) {
            return invalid(format!(
                "duration must be in (0, {} s], not {:?}",
                MAX_TIME.as_secs(),
                self.duration
            ));
        }
        if self.warmup >= self.duration {
            return invalid("warmup must be shorter than the run".into());
        }
        if self.window.is_zero() || ns(self.duration).div_ceil(ns(self.window)) > MAX_WINDOWS {
            return invalid(format!(
                "window must be > 0 and give at most {MAX_WINDOWS} windows, not {:?}",
                self.window
            ));
        }
        if !within(self.slo) {
            return invalid(format!(
                "slo must be in (0, {} s], not {:?}",
                MAX_TIME.as_secs(),
                self.slo
            ));
        }
        if let Some(h) = self.halve_at
            && h > MAX_TIME
        {
            return invalid(format!(
                "halve_at must be at most {} s, not {h:?}",
                MAX_TIME.as_secs()
            ));
        }
        let per_s = self.capacity_rps() * self.duration.as_secs_f64();
        let expected = self.load * per_s;
        if expected < 1.0 {
            return invalid(format!(
                "load {:?} × capacity {:.3}/s × {:?} is {expected:.3e} expected arrivals: nothing \
                 to simulate (raise the load or the duration)",
                self.load,
                self.capacity_rps(),
                self.duration
            ));
        }
        if self.load.max(BASELINE_LOAD) * per_s > MAX_ARRIVALS {
            return invalid(format!(
                "{:.3e} arrivals (the run or its {BASELINE_LOAD}× load baseline) exceed \
                 {MAX_ARRIVALS:.0e}: shorten the run or lower the slots",
                self.load.max(BASELINE_LOAD) * per_s
            ));
        }
        Ok(())
    }
}

/// One time-series bucket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    /// Bucket start, seconds.
    pub t: f64,
    /// Limiter limit at the bucket's end (`None`: not limiting).
    pub limit: Option<u32>,
    /// Mean requests holding a permit (sampled at each event).
    pub in_flight: f64,
    /// p99 latency (ms) of requests completed in the bucket.
    pub p99_ms: Option<f64>,
    /// Completions within the SLO ÷ the bucket's capacity.
    pub goodput: f64,
    /// Server slots in the bucket.
    pub slots: u32,
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct RunData {
    pub series: Vec<Point>,
    /// (arrival ns, latency ns) of measured, served requests.
    pub served: Vec<(u64, u64)>,
    pub arrivals: u64,
    pub rejected: u64,
    pub refused: u64,
    pub in_slo: u64,
    pub late: u64,
    /// ∫ capacity dt over the measured period (requests).
    pub capacity_requests: f64,
}

#[derive(Debug)]
struct Job {
    arrival: u64,
    permit: Option<Permit>,
    service_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Done(usize),
    Arrival,
}

/// Runs the model once.
pub fn simulate(cfg: &SimConfig, spec: &LimiterSpec) -> Result<RunData, SimError> {
    cfg.validate()?;
    let mut rng = Rng::new(cfg.seed);
    let clock = ManualClock::new();
    let cpu = Arc::new(AtomicU32::new(0));
    let limiter = spec.build(&clock, &cpu)?;

    let end = ns(cfg.duration);
    let warmup = ns(cfg.warmup);
    let slo = ns(cfg.slo);
    let win = ns(cfg.window);
    let mean_arrival_ns = 1e9 / (cfg.load * cfg.capacity_rps());
    let halve_at = cfg.halve_at.map(ns).filter(|&h| h < end);

    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: u64, ev: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, ev)));
    };
    // Gaps are saturating float-to-int casts added with saturation: no time wraps past `end`.
    let first = (mean_arrival_ns * rng.exp1()) as u64;
    if first < end {
        push(&mut heap, first, Ev::Arrival);
    }

    let mut jobs: Vec<Option<Job>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut queue: VecDeque<usize> = VecDeque::new();
    let mut slots = cfg.slots;
    let mut busy = 0u32;

    let mut data = RunData {
        series: Vec::new(),
        served: Vec::new(),
        arrivals: 0,
        rejected: 0,
        refused: 0,
        in_slo: 0,
        late: 0,
        capacity_requests: 0.0,
    };
    // Per-window accumulators.
    let n_windows = end.div_ceil(win) as usize;
    let mut w_lat: Vec<Vec<u64>> = vec![Vec::new(); n_windows];
    let mut w_good = vec![0u64; n_windows];
    let mut w_inflight_sum = vec![0f64; n_windows];
    let mut w_inflight_n = vec![0u64; n_windows];
    let mut w_limit: Vec<Option<u32>> = vec![None; n_windows];
    let mut last_window = 0usize;

    let per_slot_rps = 1e9 / cfg.service.mean().as_nanos() as f64;
    let measured = |from: u64, to: u64| to.saturating_sub(from.max(warmup)) as f64 / 1e9;
    data.capacity_requests = match halve_at {
        Some(h) if h > warmup => {
            per_slot_rps
                * (cfg.slots as f64 * measured(warmup, h)
                    + (cfg.slots / 2).max(1) as f64 * measured(h, end))
        }
        Some(_) => per_slot_rps * (cfg.slots / 2).max(1) as f64 * measured(warmup, end),
        None => per_slot_rps * cfg.slots as f64 * measured(warmup, end),
    };
    let mut halved = false;

    while let Some(Reverse((t, _, ev))) = heap.pop() {
        if let Some(h) = halve_at
            && !halved
            && t >= h
        {
            halved = true;
            slots = (slots / 2).max(1);
        }
        clock.set(Duration::from_nanos(t));
        cpu.store(
            (busy.min(slots) as u64 * 1000 / slots as u64) as u32,
            Ordering::Relaxed,
        );
        let w = ((t / win) as usize).min(n_windows - 1);
        if t < end {
            // Limit at the end of each elapsed window.
            while last_window < w {
                w_limit[last_window] = limit_of(limiter.as_ref());
                last_window += 1;
            }
        }
        match ev {
            Ev::Arrival => {
                let next = t
                    .saturating_add((mean_arrival_ns * rng.exp1()) as u64)
                    .saturating_add(1);
                if next < end {
                    push(&mut heap, next, Ev::Arrival);
                }
                let measured = t >= warmup;
                if measured {
                    data.arrivals += 1;
                }
                let Some(permit) = limiter.acquire() else {
                    if measured {
                        data.rejected += 1;
                    }
                    continue;
                };
                if busy >= slots && queue.len() >= cfg.queue_capacity {
                    limiter.release(permit, Outcome::Dropped, Duration::ZERO);
                    if measured {
                        data.refused += 1;
                    }
                    continue;
                }
                let job = Job {
                    arrival: t,
                    permit: Some(permit),
                    service_ns: cfg.service.sample_ns(&mut rng),
                };
                let id = match free.pop() {
                    Some(id) => {
                        jobs[id] = Some(job);
                        id
                    }
                    None => {
                        jobs.push(Some(job));
                        jobs.len() - 1
                    }
                };
                if busy < slots {
                    busy += 1;
                    let s = jobs[id].as_ref().map_or(0, |j| j.service_ns);
                    push(&mut heap, t + s, Ev::Done(id));
                } else {
                    queue.push_back(id);
                }
            }
            Ev::Done(id) => {
                busy -= 1;
                let Some(mut job) = jobs[id].take() else {
                    continue;
                };
                free.push(id);
                let latency = t - job.arrival;
                let ok = latency <= slo;
                if let Some(p) = job.permit.take() {
                    let outcome = if ok {
                        Outcome::Success
                    } else {
                        Outcome::Dropped
                    };
                    limiter.release(p, outcome, Duration::from_nanos(latency));
                }
                if job.arrival >= warmup {
                    data.served.push((job.arrival, latency));
                    if ok {
                        data.in_slo += 1;
                    } else {
                        data.late += 1;
                    }
                }
                if t < end {
                    w_lat[w].push(latency);
                    if ok {
                        w_good[w] += 1;
                    }
                }
                while busy < slots {
                    let Some(next) = queue.pop_front() else { break };
                    busy += 1;
                    let s = jobs[next].as_ref().map_or(0, |j| j.service_ns);
                    push(&mut heap, t + s, Ev::Done(next));
                }
            }
        }
        if t < end {
            w_inflight_sum[w] += limiter.in_flight() as f64;
            w_inflight_n[w] += 1;
        }
    }
    while last_window < n_windows {
        w_limit[last_window] = limit_of(limiter.as_ref());
        last_window += 1;
    }

    for (i, lat) in w_lat.iter_mut().enumerate() {
        let start = i as u64 * win;
        let s = if halve_at.is_some_and(|h| start >= h) {
            (cfg.slots / 2).max(1)
        } else {
            cfg.slots
        };
        let span = (end.min(start + win) - start) as f64 / 1e9;
        data.series.push(Point {
            t: start as f64 / 1e9,
            limit: w_limit[i],
            in_flight: if w_inflight_n[i] > 0 {
                w_inflight_sum[i] / w_inflight_n[i] as f64
            } else {
                0.0
            },
            p99_ms: p99(lat).map(|v| v / 1e6),
            goodput: w_good[i] as f64 / (per_slot_rps * s as f64 * span),
            slots: s,
        });
    }
    Ok(data)
}

fn limit_of(l: &dyn Limiter) -> Option<u32> {
    Some(l.limit()).filter(|&v| v != u32::MAX)
}

/// p99 by linear interpolation (ns), sorting in place.
fn p99(values: &mut [u64]) -> Option<f64> {
    crate::adaptive::percentile(values, 99.0)
}

/// The summary `meshctl simulate --json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub limiter: String,
    pub load: f64,
    pub seed: u64,
    pub slots: u32,
    pub capacity_rps: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub halve_at_s: Option<f64>,
    pub slo_ms: f64,
    pub goodput_ratio: f64,
    pub admitted_p99_ms: f64,
    pub unloaded_p99_ms: f64,
    pub reject_ratio: f64,
    pub reconverge_s: f64,
    pub reconverged: bool,
    /// Highest per-window p99 (ms) after the halving ([`RECONVERGE_WINDOW`] windows).
    pub peak_p99_after_halving_ms: Option<f64>,
    /// Mean limit over the 2 s before the halving (`None`: not limiting).
    pub limit_before_halving: Option<f64>,
    /// Mean limit over the last 2 s of the run.
    pub limit_at_end: Option<f64>,
    /// Measured arrivals.
    pub arrivals: u64,
    pub rejected: u64,
    /// Admitted but turned away by a full server queue.
    pub refused: u64,
    pub completed_in_slo: u64,
    pub completed_late: u64,
}

/// Runs `spec` and the unloaded baseline and computes the [`Report`].
pub fn evaluate(cfg: &SimConfig, spec: &LimiterSpec) -> Result<Report, SimError> {
    let (report, _) = evaluate_with_series(cfg, spec)?;
    Ok(report)
}

/// [`evaluate`], also returning the run's time series (for plots).
pub fn evaluate_with_series(
    cfg: &SimConfig,
    spec: &LimiterSpec,
) -> Result<(Report, RunData), SimError> {
    let run = simulate(cfg, spec)?;
    let unloaded_p99 = unloaded_p99_ns(cfg)?;
    let mut lat: Vec<u64> = run.served.iter().map(|&(_, l)| l).collect();
    let admitted_p99 = p99(&mut lat).unwrap_or(0.0);

    let end = ns(cfg.duration);
    let halve_at = cfg.halve_at.map(ns).filter(|&h| h < end);
    let (reconverge_s, reconverged) = match halve_at {
        None => (0.0, true),
        Some(h) => reconvergence(&run.served, h, end, 2.0 * unloaded_p99),
    };
    let peak_p99_after_halving_ms = halve_at.and_then(|h| {
        window_p99s(&run.served, h, end)
            .into_iter()
            .flatten()
            .reduce(f64::max)
            .map(|v| v / 1e6)
    });
    let mean_limit = |from: f64, to: f64| {
        let v: Vec<f64> = run
            .series
            .iter()
            .filter(|p| p.t >= from && p.t < to)
            .filter_map(|p| p.limit.map(f64::from))
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let end_s = end as f64 / 1e9;
    let limit_before_halving =
        halve_at.and_then(|h| mean_limit(h as f64 / 1e9 - 2.0, h as f64 / 1e9));
    let limit_at_end = mean_limit(end_s - 2.0, end_s);
    let arrivals = run.arrivals.max(1) as f64;
    Ok((
        Report {
            limiter: spec.name().to_string(),
            load: cfg.load,
            seed: cfg.seed,
            slots: cfg.slots,
            capacity_rps: cfg.capacity_rps(),
            duration_s: cfg.duration.as_secs_f64(),
            warmup_s: cfg.warmup.as_secs_f64(),
            halve_at_s: halve_at.map(|h| h as f64 / 1e9),
            slo_ms: cfg.slo.as_secs_f64() * 1e3,
            goodput_ratio: run.in_slo as f64 / run.capacity_requests.max(1.0),
            admitted_p99_ms: admitted_p99 / 1e6,
            unloaded_p99_ms: unloaded_p99 / 1e6,
            reject_ratio: run.rejected as f64 / arrivals,
            reconverge_s,
            reconverged,
            peak_p99_after_halving_ms,
            limit_before_halving,
            limit_at_end,
            arrivals: run.arrivals,
            rejected: run.rejected,
            refused: run.refused,
            completed_in_slo: run.in_slo,
            completed_late: run.late,
        },
        run,
    ))
}

/// p99 latency (ns) of the unlimited server at 0.5× load without a halving: the reference of
/// the latency goals.
pub fn unloaded_p99_ns(cfg: &SimConfig) -> Result<f64, SimError> {
    let baseline_cfg = SimConfig {
        load: BASELINE_LOAD,
        halve_at: None,
        ..cfg.clone()
    };
    let baseline = simulate(&baseline_cfg, &LimiterSpec::None)?;
    let mut lat: Vec<u64> = baseline.served.iter().map(|&(_, l)| l).collect();
    Ok(p99(&mut lat).unwrap_or(0.0))
}

/// The static concurrency limit an operator would configure for the server as it is at the
/// start (Hystrix' sizing rule without its "breathing room"): peak requests per second when
/// healthy × healthy p99 latency, `ceil(capacity_rps × unloaded p99)`, at least `slots`.
pub fn operator_static_limit(cfg: &SimConfig) -> Result<u32, SimError> {
    let p99_s = unloaded_p99_ns(cfg)? / 1e9;
    Ok(((cfg.capacity_rps() * p99_s).ceil() as u32).max(cfg.slots))
}

/// Length of the reconvergence windows.
pub const RECONVERGE_WINDOW: Duration = Duration::from_millis(250);
/// How long the windowed p99 must stay within bound (to the end of the run) to count as
/// reconverged.
pub const RECONVERGE_HOLD: Duration = Duration::from_secs(1);

/// p99 (ns) of the requests arriving in each [`RECONVERGE_WINDOW`] of `[from, end)`.
fn window_p99s(served: &[(u64, u64)], from: u64, end: u64) -> Vec<Option<f64>> {
    let win = RECONVERGE_WINDOW.as_nanos() as u64;
    let n = end.saturating_sub(from).div_ceil(win) as usize;
    let mut windows: Vec<Vec<u64>> = vec![Vec::new(); n];
    for &(arrival, latency) in served {
        if arrival >= from && arrival < end {
            windows[((arrival - from) / win) as usize].push(latency);
        }
    }
    windows.iter_mut().map(|w| p99(w)).collect()
}

/// Settling time after the halving at `halve` (see the module docs): `(seconds, reconverged)`.
fn reconvergence(served: &[(u64, u64)], halve: u64, end: u64, bound_ns: f64) -> (f64, bool) {
    let win = RECONVERGE_WINDOW.as_nanos() as u64;
    let hold = RECONVERGE_HOLD.as_nanos() as u64;
    // First window after the last one out of bound.
    let mut settled = 0usize;
    for (i, v) in window_p99s(served, halve, end).into_iter().enumerate() {
        if v.is_some_and(|v| v > bound_ns) {
            settled = i + 1;
        }
    }
    let start = settled as u64 * win;
    let total = (end - halve) as f64 / 1e9;
    if start < end - halve && end - halve - start >= hold {
        (start as f64 / 1e9, true)
    } else {
        (total, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short() -> SimConfig {
        SimConfig {
            duration: Duration::from_secs(6),
            halve_at: Some(Duration::from_secs(3)),
            ..SimConfig::default()
        }
    }

    #[test]
    fn same_seed_same_run_other_seed_other_run() {
        let cfg = short();
        let spec = LimiterSpec::by_name("gradient", &cfg).unwrap();
        let a = evaluate(&cfg, &spec).unwrap();
        let b = evaluate(&cfg, &spec).unwrap();
        assert_eq!(a, b);
        let c = evaluate(
            &SimConfig {
                seed: 2,
                ..cfg.clone()
            },
            &spec,
        )
        .unwrap();
        assert_ne!(a.arrivals, c.arrivals);
    }

    #[test]
    fn arrivals_follow_the_offered_load() {
        let cfg = SimConfig {
            halve_at: None,
            ..short()
        };
        let run = simulate(&cfg, &LimiterSpec::None).unwrap();
        let want = 3.0 * 2000.0 * 5.0;
        assert!(
            (run.arrivals as f64 - want).abs() < 0.03 * want,
            "{}",
            run.arrivals
        );
    }

    #[test]
    fn unloaded_server_meets_the_slo() {
        let cfg = SimConfig {
            load: 0.5,
            halve_at: None,
            ..short()
        };
        let r = evaluate(&cfg, &LimiterSpec::None).unwrap();
        assert_eq!(r.completed_late, 0);
        assert!((r.goodput_ratio - 0.5).abs() < 0.03, "{}", r.goodput_ratio);
        // Erlang-2, mean 10 ms: p99 ≈ 33 ms plus a little queueing.
        assert!(
            r.unloaded_p99_ms > 25.0 && r.unloaded_p99_ms < 45.0,
            "{}",
            r.unloaded_p99_ms
        );
    }

    #[test]
    fn reconvergence_windows() {
        let ms = 1_000_000u64;
        let h = 1000 * ms;
        let end = 3000 * ms;
        // Slow requests until 1.7 s, fast after: the 1.5–1.75 s window is the last bad one.
        let served: Vec<(u64, u64)> = (0..3000)
            .map(|i| (i * ms, if i < 1700 { 90 * ms } else { 10 * ms }))
            .collect();
        assert_eq!(reconvergence(&served, h, end, 40e6), (0.75, true));
        assert_eq!(reconvergence(&served, h, end, 100e6), (0.0, true));
        let slow: Vec<(u64, u64)> = (0..3000).map(|i| (i * ms, 90 * ms)).collect();
        assert_eq!(reconvergence(&slow, h, end, 40e6), (2.0, false));
        // A calm stretch that is followed by another excursion does not count.
        let relapse: Vec<(u64, u64)> = (0..3000)
            .map(|i| {
                (
                    i * ms,
                    if (1200..1600).contains(&i) {
                        10 * ms
                    } else {
                        90 * ms
                    },
                )
            })
            .map(|(a, l)| (a, if a >= 2600 * ms { 10 * ms } else { l }))
            .collect();
        assert_eq!(reconvergence(&relapse, h, end, 40e6), (2.0, false));
        // Settled, but for less than RECONVERGE_HOLD before the end: not proven.
        let late: Vec<(u64, u64)> = (0..3000)
            .map(|i| (i * ms, if i < 2500 { 90 * ms } else { 10 * ms }))
            .collect();
        assert_eq!(reconvergence(&late, h, end, 40e6), (2.0, false));
        // A late single excursion resets the settling time.
        let blip: Vec<(u64, u64)> = (0..3000)
            .map(|i| {
                (
                    i * ms,
                    if (1100..1200).contains(&i) {
                        90 * ms
                    } else {
                        10 * ms
                    },
                )
            })
            .collect();
        assert_eq!(reconvergence(&blip, h, end, 40e6), (0.25, true));
    }

    #[test]
    fn rejects_bad_configs() {
        let bad = |c: SimConfig| simulate(&c, &LimiterSpec::None).unwrap_err();
        assert!(matches!(
            bad(SimConfig {
                slots: 0,
                ..short()
            }),
            SimError::Invalid(_)
        ));
        assert!(matches!(
            bad(SimConfig {
                load: f64::NAN,
                ..short()
            }),
            SimError::Invalid(_)
        ));
        assert!(matches!(
            bad(SimConfig {
                warmup: Duration::from_secs(10),
                ..short()
            }),
            SimError::Invalid(_)
        ));
        assert!(LimiterSpec::by_name("nope", &short()).is_none());
        assert_eq!(
            LimiterSpec::by_name("Token_Bucket", &short())
                .unwrap()
                .name(),
            "token-bucket"
        );
        for name in LimiterSpec::NAMES {
            assert_eq!(LimiterSpec::by_name(name, &short()).unwrap().name(), name);
        }
    }

    #[test]
    fn names_come_from_one_list() {
        assert_eq!(LimiterSpec::NAMES.len(), LimiterKind::ALL.len());
        for (kind, name) in LimiterKind::ALL.into_iter().zip(LimiterSpec::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(LimiterKind::from_name(name), Some(kind));
            assert_eq!(LimiterSpec::of_kind(kind, &short()).kind(), kind);
            for alias in kind.aliases() {
                assert_eq!(LimiterKind::from_name(&alias.to_uppercase()), Some(kind));
            }
        }
        // Listed once: it used to be missing from NAMES although by_name accepted it.
        assert!(LimiterSpec::NAMES.contains(&"token-bucket"));
    }

    /// Loads down to the smallest subnormal are inside (0, 1000]; they used to overflow the
    /// arrival time (`t + gap + 1`, a panic in debug builds, a wrapped clock in release).
    #[test]
    fn tiny_loads_are_refused_not_overflowed() {
        for load in [1e-15, 1e-300, 5e-324] {
            let cfg = SimConfig { load, ..short() };
            let err = simulate(&cfg, &LimiterSpec::None).unwrap_err();
            assert!(err.to_string().contains("expected arrivals"), "{err}");
        }
        // The smallest load that gives arrivals runs; its arrival gaps saturate at the end.
        let cfg = SimConfig {
            load: 1.0 / (2000.0 * 6.0),
            ..short()
        };
        let run = simulate(&cfg, &LimiterSpec::None).unwrap();
        assert!(run.arrivals <= 20, "{}", run.arrivals);
    }

    /// Every report also runs the 0.5× load baseline: its arrivals count against the budget
    /// before anything runs (it used to run the whole main simulation, 3 M arrivals, first).
    #[test]
    fn the_baseline_counts_against_the_arrival_budget() {
        let cfg = SimConfig {
            slots: 100_000,
            load: 0.01,
            duration: Duration::from_secs(30),
            ..SimConfig::default()
        };
        let err = simulate(&cfg, &LimiterSpec::None).unwrap_err();
        assert!(err.to_string().contains("baseline"), "{err}");
        assert!(matches!(
            evaluate(&cfg, &LimiterSpec::None),
            Err(SimError::Invalid(_))
        ));
    }

    /// Fields whose size sets the work or whose nanoseconds would not fit in a u64.
    #[test]
    fn work_and_times_are_bounded() {
        let bad = |c: SimConfig| c.validate().unwrap_err().to_string();
        let hour = Duration::from_secs(3600);
        let e = bad(SimConfig {
            service: ServiceTime::Erlang {
                k: u32::MAX,
                mean: Duration::from_millis(10),
            },
            ..short()
        });
        assert!(e.contains("Erlang k"), "{e}");
        let e = bad(SimConfig {
            window: Duration::from_nanos(1),
            ..short()
        });
        assert!(e.contains("window"), "{e}");
        let e = bad(SimConfig {
            slo: hour * 1_000_000,
            ..short()
        });
        assert!(e.contains("slo"), "{e}");
        let e = bad(SimConfig {
            halve_at: Some(hour * 1_000_000_000),
            ..short()
        });
        assert!(e.contains("halve_at"), "{e}");
        let e = bad(SimConfig {
            service: ServiceTime::Constant(hour * 2),
            ..short()
        });
        assert!(e.contains("service"), "{e}");
        let e = bad(SimConfig {
            load: -1.0,
            ..short()
        });
        assert!(e.contains("not -1.0"), "{e}");
    }
}
