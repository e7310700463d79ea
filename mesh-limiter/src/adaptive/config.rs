//! An algorithm by name from a JSON object of its settings: the entry point for the language
//! bindings and configuration files.
//!
//! Names are snake_case field names of the algorithm's config struct; durations are protojson
//! strings (`"0.1s"`). Unknown names and fields are refused, every problem reported at once.
//!
//! ```
//! use mesh_limiter::adaptive::algorithm_from_json;
//! let algo = algorithm_from_json("aimd", &serde_json::json!({"initial_limit": 5})).unwrap();
//! # let _ = algo;
//! let err = algorithm_from_json("vegas", &serde_json::json!({"smothing": 0.5})).unwrap_err();
//! assert_eq!(err.problems[0].field, "smothing");
//! ```

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{
    Aimd, AimdConfig, EnvoyGradient, Fixed, Gradient2, Gradient2Config, GradientConfig,
    LimitAlgorithm, Vegas, VegasConfig,
};
use crate::envoy_config::proto_duration;

/// The names [`algorithm_from_json`] accepts.
pub const ALGORITHMS: &[&str] = &["gradient", "gradient2", "vegas", "aimd", "fixed"];

/// One problem with an algorithm config: the field (empty for the config as a whole) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub field: String,
    pub message: String,
}

/// Every problem [`algorithm_from_json`] found; `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AlgorithmConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for AlgorithmConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.field.is_empty() {
                f.write_str(&p.message)?;
            } else {
                write!(f, "{}: {}", p.field, p.message)?;
            }
        }
        Ok(())
    }
}

impl AlgorithmConfigError {
    fn one(field: &str, message: impl Into<String>) -> Self {
        AlgorithmConfigError {
            problems: vec![ConfigProblem {
                field: field.to_string(),
                message: message.into(),
            }],
        }
    }
}

/// Reads the fields of one config object, collecting problems.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    problems: Vec<ConfigProblem>,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn problem(&mut self, field: &str, message: String) {
        self.problems.push(ConfigProblem {
            field: field.to_string(),
            message,
        });
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn u32(&mut self, key: &'static str, target: &mut u32) {
        if let Some(v) = self.get(key) {
            match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => *target = n,
                None => self.problem(key, format!("expected an integer in [0, 2^32), got {v}")),
            }
        }
    }

    fn opt_u32(&mut self, key: &'static str, target: &mut Option<u32>) {
        if self.obj.get(key).is_some_and(|v| !v.is_null()) {
            let mut n = 0;
            self.u32(key, &mut n);
            *target = Some(n);
        } else {
            self.known.push(key);
        }
    }

    fn u64(&mut self, key: &'static str, target: &mut u64) {
        if let Some(v) = self.get(key) {
            match v.as_u64() {
                Some(n) => *target = n,
                None => self.problem(key, format!("expected an unsigned integer, got {v}")),
            }
        }
    }

    fn f64(&mut self, key: &'static str, target: &mut f64) {
        if let Some(v) = self.get(key) {
            match v.as_f64() {
                Some(n) if n.is_finite() => *target = n,
                _ => self.problem(key, format!("expected a number, got {v}")),
            }
        }
    }

    fn duration(&mut self, key: &'static str, target: &mut Duration) {
        if let Some(v) = self.get(key) {
            match v.as_str().map(proto_duration::parse) {
                Some(Ok(d)) => *target = d,
                Some(Err(e)) => self.problem(key, e),
                None => self.problem(
                    key,
                    format!("expected a duration string like \"0.1s\", got {v}"),
                ),
            }
        }
    }

    fn opt_duration(&mut self, key: &'static str, target: &mut Option<Duration>) {
        if self.obj.get(key).is_some_and(|v| !v.is_null()) {
            let mut d = Duration::ZERO;
            self.duration(key, &mut d);
            *target = Some(d);
        } else {
            self.known.push(key);
        }
    }

    fn finish(mut self) -> Result<(), AlgorithmConfigError> {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let known = self.known.join(", ");
            self.problem(&k, format!("unknown field (known: {known})"));
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(AlgorithmConfigError {
                problems: self.problems,
            })
        }
    }
}

/// Builds the algorithm `name` (one of [`ALGORITHMS`]) from `config`: a JSON object of its
/// settings (missing fields keep the algorithm's defaults; `null` counts as missing), or `null`
/// for all defaults. `"fixed"` needs `{"limit": N}`.
pub fn algorithm_from_json(
    name: &str,
    config: &Value,
) -> Result<Box<dyn LimitAlgorithm>, AlgorithmConfigError> {
    let empty = Map::new();
    let obj = match config {
        Value::Null => &empty,
        Value::Object(o) => o,
        other => {
            return Err(AlgorithmConfigError::one(
                "",
                format!("the config must be a JSON object, got {other}"),
            ));
        }
    };
    let mut f = Fields {
        obj,
        problems: Vec::new(),
        known: Vec::new(),
    };
    Ok(match name {
        "gradient" => {
            let mut c = GradientConfig::default();
            f.f64(
                "sample_aggregate_percentile",
                &mut c.sample_aggregate_percentile,
            );
            f.u32("max_concurrency_limit", &mut c.max_concurrency_limit);
            f.opt_u32("min_concurrency_limit", &mut c.min_concurrency_limit);
            f.duration(
                "concurrency_update_interval",
                &mut c.concurrency_update_interval,
            );
            f.duration("min_rtt_interval", &mut c.min_rtt_interval);
            f.opt_duration("fixed_min_rtt", &mut c.fixed_min_rtt);
            f.u32("request_count", &mut c.request_count);
            f.f64("jitter_percent", &mut c.jitter_percent);
            f.u32("min_concurrency", &mut c.min_concurrency);
            f.f64("buffer_percent", &mut c.buffer_percent);
            f.u64("seed", &mut c.seed);
            f.finish()?;
            Box::new(
                EnvoyGradient::new(c).map_err(|e| AlgorithmConfigError::one("", e.to_string()))?,
            )
        }
        "gradient2" => {
            let mut c = Gradient2Config::default();
            f.u32("initial_limit", &mut c.initial_limit);
            f.u32("min_limit", &mut c.min_limit);
            f.u32("max_concurrency", &mut c.max_concurrency);
            f.f64("smoothing", &mut c.smoothing);
            f.u32("queue_size", &mut c.queue_size);
            f.f64("rtt_tolerance", &mut c.rtt_tolerance);
            f.u32("long_window", &mut c.long_window);
            f.finish()?;
            Box::new(Gradient2::new(c))
        }
        "vegas" => {
            let mut c = VegasConfig::default();
            f.u32("initial_limit", &mut c.initial_limit);
            f.u32("max_concurrency", &mut c.max_concurrency);
            f.f64("smoothing", &mut c.smoothing);
            f.u32("probe_multiplier", &mut c.probe_multiplier);
            f.u64("seed", &mut c.seed);
            f.finish()?;
            Box::new(Vegas::new(c))
        }
        "aimd" => {
            let mut c = AimdConfig::default();
            f.u32("initial_limit", &mut c.initial_limit);
            f.u32("min_limit", &mut c.min_limit);
            f.u32("max_limit", &mut c.max_limit);
            f.f64("backoff_ratio", &mut c.backoff_ratio);
            f.duration("timeout", &mut c.timeout);
            f.finish()?;
            Box::new(Aimd::new(c))
        }
        "fixed" => {
            let mut limit = None;
            f.opt_u32("limit", &mut limit);
            f.finish()?;
            Box::new(Fixed(
                limit.ok_or_else(|| AlgorithmConfigError::one("limit", "required"))?,
            ))
        }
        other => {
            return Err(AlgorithmConfigError::one(
                "",
                format!(
                    "unknown algorithm {other:?} (known: {})",
                    ALGORITHMS.join(", ")
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::ManualClock;
    use crate::adaptive::{AdaptiveLimiter, Limiter};

    fn limit_of(name: &str, config: Value) -> u32 {
        let algo = algorithm_from_json(name, &config).unwrap();
        AdaptiveLimiter::new(algo, Arc::new(ManualClock::new())).limit()
    }

    #[test]
    fn every_algorithm_builds_with_defaults_and_settings() {
        assert_eq!(limit_of("aimd", Value::Null), 20);
        assert_eq!(
            limit_of("aimd", json!({"initial_limit": 7, "min_limit": 1})),
            7
        );
        assert_eq!(limit_of("gradient2", json!({"initial_limit": 30})), 30);
        assert_eq!(limit_of("vegas", json!({"initial_limit": 9, "seed": 3})), 9);
        assert_eq!(limit_of("fixed", json!({"limit": 4})), 4);
        // gradient starts in a minRTT window with the pinned concurrency
        assert_eq!(limit_of("gradient", json!({"min_concurrency": 5})), 5);
        assert_eq!(
            limit_of(
                "gradient",
                json!({"fixed_min_rtt": "0.05s", "min_concurrency": null})
            ),
            limit_of("gradient", json!({"fixed_min_rtt": "0.05s"}))
        );
    }

    #[test]
    fn problems_are_reported_together_with_their_fields() {
        let e = algorithm_from_json(
            "aimd",
            &json!({"initial_limit": -1, "timeout": 5, "backof_ratio": 0.5}),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["initial_limit", "timeout", "backof_ratio"]);
        assert!(e.to_string().contains("backof_ratio: unknown field"));
        assert_eq!(e.to_string().lines().count(), 3);
    }

    #[test]
    fn whole_config_errors() {
        let e = algorithm_from_json("nope", &Value::Null).unwrap_err();
        assert!(e.to_string().starts_with("unknown algorithm \"nope\""));
        let e = algorithm_from_json("aimd", &json!([1])).unwrap_err();
        assert!(e.to_string().contains("must be a JSON object"));
        let e = algorithm_from_json("fixed", &Value::Null).unwrap_err();
        assert_eq!(e.to_string(), "limit: required");
        let e = algorithm_from_json("gradient", &json!({"sample_aggregate_percentile": 150.0}))
            .unwrap_err();
        assert_eq!(e.problems[0].field, "");
    }
}
