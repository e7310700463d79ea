//! `meshplane.limiter`: Envoy's local rate limiter, the adaptive concurrency limiters, the
//! manual clock; and `meshplane.simulate`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesh_limiter::adaptive::{AdaptiveLimiter as Adaptive, LimitAlgorithm, Limiter, Outcome};
use mesh_limiter::local::BucketId;
use mesh_limiter::sim::Scenario;
use mesh_limiter::{Clock, LocalRateLimiter as Local, ManualClock as Manual, SystemClock};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::{MeshplaneError, guard};
use crate::json;

fn seconds(v: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| PyValueError::new_err(format!("{what}: not a valid duration: {v}")))
}

/// A clock that moves only when told to. Limiters built with it share its time.
#[pyclass(module = "meshplane.limiter", frozen)]
pub struct ManualClock {
    clock: Manual,
}

#[pymethods]
impl ManualClock {
    #[new]
    fn new() -> Self {
        ManualClock {
            clock: Manual::new(),
        }
    }

    /// Moves time forward by `seconds` (≥ 0).
    fn advance(&self, seconds: f64) -> PyResult<()> {
        let d = self::seconds(seconds, "advance")?;
        let t = self
            .clock
            .now()
            .checked_add(d)
            .filter(|t| t.as_nanos() <= u128::from(u64::MAX))
            .ok_or_else(|| PyValueError::new_err("the clock would overflow"))?;
        self.clock.set(t);
        Ok(())
    }

    /// Seconds since the clock was created.
    fn now(&self) -> f64 {
        self.clock.now().as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!("ManualClock(now={})", self.now())
    }
}

fn clock_of(clock: Option<&Bound<'_, ManualClock>>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => Arc::new(c.get().clock.clone()),
        None => Arc::new(SystemClock::new()),
    }
}

/// What Envoy decided for one request.
#[pyclass(module = "meshplane.limiter", frozen, eq, get_all)]
#[derive(PartialEq)]
pub struct Decision {
    /// Whether the request may pass (False: Envoy answers 429).
    allowed: bool,
    /// `x-ratelimit-limit` of the reported bucket (None when no bucket applied).
    limit: Option<u32>,
    /// `x-ratelimit-remaining` (None when no bucket applied).
    remaining: Option<u32>,
    /// `x-ratelimit-reset`, seconds (None when no bucket applied).
    reset_seconds: Option<u64>,
    /// The bucket reported: `default`, `descriptor`, or None.
    bucket: Option<&'static str>,
    /// Index into the config's `descriptors` when `bucket` is `descriptor`.
    descriptor_index: Option<usize>,
    /// Whether Envoy would send the `x-ratelimit-*` headers (config
    /// `enableXRatelimitHeaders: DRAFT_VERSION_03` and a bucket reported).
    headers: bool,
}

#[pymethods]
impl Decision {
    fn __repr__(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "None".into());
        format!(
            "Decision(allowed={}, limit={}, remaining={}, reset_seconds={}, bucket={})",
            if self.allowed { "True" } else { "False" },
            opt(self.limit.map(|v| v.to_string())),
            opt(self.remaining.map(|v| v.to_string())),
            opt(self.reset_seconds.map(|v| v.to_string())),
            opt(self.bucket.map(|b| format!("'{b}'"))),
        )
    }
}

/// The Envoy local rate limiter (`envoy.filters.http.local_ratelimit`).
#[pyclass(module = "meshplane.limiter", frozen)]
pub struct LocalRateLimiter {
    limiter: Local<Arc<dyn Clock>>,
}

/// One request descriptor: a dict (entries in its order) or a sequence of `(key, value)`.
fn descriptor(d: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(dict) = d.cast::<PyDict>() {
        return dict
            .iter()
            .map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<String>()?)))
            .collect();
    }
    if d.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "a descriptor is a dict or a sequence of (key, value) pairs, not a str",
        ));
    }
    d.extract::<Vec<(String, String)>>()
}

#[pymethods]
impl LocalRateLimiter {
    /// Builds the limiter from Envoy `LocalRateLimit` JSON (a str, or a dict as mesh-core
    /// renders it into EnvoyFilters; lowerCamel or snake_case names). `clock`: a
    /// `ManualClock`, or None for the monotonic system clock.
    #[staticmethod]
    #[pyo3(signature = (json, *, clock = None))]
    fn from_envoy_json(
        json: &Bound<'_, PyAny>,
        clock: Option<&Bound<'_, ManualClock>>,
    ) -> PyResult<Self> {
        guard(|| {
            let text = match json.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => json::to_json(json, "json")?.to_string(),
            };
            let limiter = Local::from_json(&text, clock_of(clock))
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(LocalRateLimiter { limiter })
        })
    }

    /// Decides one request from its descriptors (each a dict or `(key, value)` pairs, as
    /// Envoy's rate limit actions produce them); consumes a token from each matching bucket.
    #[pyo3(signature = (descriptors = None))]
    fn check(&self, descriptors: Option<Vec<Bound<'_, PyAny>>>) -> PyResult<Decision> {
        guard(|| {
            let ds = descriptors
                .unwrap_or_default()
                .iter()
                .map(descriptor)
                .collect::<PyResult<Vec<_>>>()?;
            let d = self.limiter.check(&ds);
            let x = d.x_ratelimit();
            let (bucket, descriptor_index) = match d.reported.map(|r| r.bucket) {
                None => (None, None),
                Some(BucketId::Default) => (Some("default"), None),
                Some(BucketId::Descriptor(i)) => (Some("descriptor"), Some(i)),
            };
            Ok(Decision {
                allowed: d.allowed,
                limit: x.map(|x| x.limit),
                remaining: x.map(|x| x.remaining),
                reset_seconds: x.map(|x| x.reset),
                bucket,
                descriptor_index,
                headers: x.is_some() && self.limiter.x_ratelimit_headers_enabled(),
            })
        })
    }
}

/// An adaptive concurrency limiter.
#[pyclass(module = "meshplane.limiter", frozen)]
pub struct AdaptiveLimiter {
    limiter: Arc<Adaptive<Box<dyn LimitAlgorithm>>>,
    algorithm: String,
}

#[pymethods]
impl AdaptiveLimiter {
    /// `algorithm`: `gradient` (Envoy's adaptive_concurrency controller), `gradient2`, `vegas`,
    /// `aimd` (Netflix concurrency-limits) or `fixed`; `options`: the algorithm's settings
    /// (snake_case names, durations as protojson strings such as `"0.1s"`).
    #[new]
    #[pyo3(signature = (algorithm, *, clock = None, **options))]
    fn new(
        algorithm: &str,
        clock: Option<&Bound<'_, ManualClock>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let config = match options {
                Some(o) => json::to_json(o.as_any(), "options")?,
                None => serde_json::Value::Null,
            };
            let algo = mesh_limiter::adaptive::algorithm_from_json(algorithm, &config)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(AdaptiveLimiter {
                limiter: Arc::new(Adaptive::new(algo, clock_of(clock))),
                algorithm: algorithm.to_string(),
            })
        })
    }

    /// Asks for a slot: a `Permit` to forward the request, or None to reject it now.
    fn acquire(&self) -> PyResult<Option<Permit>> {
        guard(|| {
            Ok(self.limiter.acquire().map(|p| Permit {
                in_flight: p.in_flight(),
                permit: Mutex::new(Some(p)),
                limiter: self.limiter.clone(),
            }))
        })
    }

    /// The current admission limit (None when not limiting).
    #[getter]
    fn limit(&self) -> PyResult<Option<u32>> {
        guard(|| Ok(Some(self.limiter.limit()).filter(|&l| l != u32::MAX)))
    }

    /// Requests currently holding a permit.
    #[getter]
    fn in_flight(&self) -> PyResult<u32> {
        guard(|| Ok(self.limiter.in_flight()))
    }

    /// The algorithm's name.
    #[getter]
    fn algorithm(&self) -> &str {
        &self.algorithm
    }

    fn __repr__(&self) -> String {
        format!(
            "AdaptiveLimiter({:?}, limit={}, in_flight={})",
            self.algorithm,
            self.limiter.limit(),
            self.limiter.in_flight()
        )
    }
}

/// A granted slot; give it back once with `release`.
#[pyclass(module = "meshplane.limiter", frozen)]
pub struct Permit {
    permit: Mutex<Option<mesh_limiter::adaptive::Permit>>,
    limiter: Arc<Adaptive<Box<dyn LimitAlgorithm>>>,
    in_flight: u32,
}

#[pymethods]
impl Permit {
    /// Gives the slot back: `outcome` is `success` (`rtt_s` is a latency sample), `dropped`
    /// (overload: timeout, 503) or `ignored` (no sample); `rtt_s` the round-trip time in
    /// seconds. Releasing twice is a `MeshplaneError`.
    #[pyo3(signature = (outcome = "success", rtt_s = 0.0))]
    fn release(&self, outcome: &str, rtt_s: f64) -> PyResult<()> {
        guard(|| {
            let outcome = match outcome {
                "success" => Outcome::Success,
                "dropped" => Outcome::Dropped,
                "ignored" => Outcome::Ignored,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "unknown outcome {other:?} (expected success, dropped or ignored)"
                    )));
                }
            };
            let rtt = seconds(rtt_s, "rtt_s")?;
            let p = self
                .permit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| MeshplaneError::new_err("permit already released"))?;
            self.limiter.release(p, outcome, rtt);
            Ok(())
        })
    }

    /// Whether the permit was released.
    #[getter]
    fn released(&self) -> bool {
        self.permit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Requests in flight right after this one was admitted (itself included).
    #[getter]
    fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// Runs the deterministic overload simulator (`meshctl simulate`) and returns the figures of
/// `meshctl simulate --json` as a dict.
#[pyfunction]
#[pyo3(signature = (limiter = "gradient", load = 3.0, seed = 1, *, duration = 30.0, halve_at = None, no_halving = false, slots = 20, service_ms = 10.0, slo_ms = None, static_limit = None))]
#[allow(clippy::too_many_arguments)]
pub fn simulate<'py>(
    py: Python<'py>,
    limiter: &str,
    load: f64,
    seed: u64,
    duration: f64,
    halve_at: Option<f64>,
    no_halving: bool,
    slots: u32,
    service_ms: f64,
    slo_ms: Option<f64>,
    static_limit: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let s = Scenario {
            limiter: limiter.to_string(),
            load,
            seed,
            duration_s: duration,
            halve_at_s: halve_at,
            no_halving,
            slots,
            service_ms,
            slo_ms,
            static_limit,
        };
        let report = py
            .detach(|| s.evaluate().map(|(r, _)| r))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let v =
            serde_json::to_value(&report).map_err(|e| MeshplaneError::new_err(e.to_string()))?;
        json::to_py(py, &v)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ManualClock>()?;
    m.add_class::<Decision>()?;
    m.add_class::<LocalRateLimiter>()?;
    m.add_class::<AdaptiveLimiter>()?;
    m.add_class::<Permit>()?;
    m.add("ALGORITHMS", mesh_limiter::adaptive::ALGORITHMS.to_vec())?;
    Ok(())
}
