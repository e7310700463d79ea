//! [`Scenario`]: the settings of one `meshctl simulate` run, with the command's defaults, so
//! every front end (CLI, bindings) runs the same model from the same knobs.

use std::time::Duration;

use super::{LimiterSpec, Report, RunData, ServiceTime, SimConfig, SimError, evaluate_with_series};

/// One simulator run as `meshctl simulate` describes it. [`Default`] is the command's defaults.
///
/// ```
/// use mesh_limiter::sim::Scenario;
/// let s = Scenario { limiter: "aimd".into(), duration_s: 4.0, ..Scenario::default() };
/// let (report, _) = s.evaluate().unwrap();
/// assert_eq!(report.limiter, "aimd");
/// assert_eq!(report.halve_at_s, Some(2.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// A name [`LimiterSpec::by_name`] accepts (default `gradient`).
    pub limiter: String,
    /// Offered load as a multiple of the initial capacity (default 3).
    pub load: f64,
    /// RNG seed (default 1).
    pub seed: u64,
    /// Simulated seconds (default 30).
    pub duration_s: f64,
    /// When half the slots disappear, seconds (`None`: half the run).
    pub halve_at_s: Option<f64>,
    /// Keep the capacity constant (overrides `halve_at_s`).
    pub no_halving: bool,
    /// Server concurrency slots (default 20).
    pub slots: u32,
    /// Mean service time in ms, Erlang-2 distributed (default 10).
    pub service_ms: f64,
    /// Client deadline in ms (`None`: 10 × the mean service time).
    pub slo_ms: Option<f64>,
    /// The limit of the `static` limiter (`None`: [`operator_static_limit`](super::operator_static_limit)).
    pub static_limit: Option<u32>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            limiter: "gradient".into(),
            load: 3.0,
            seed: 1,
            duration_s: 30.0,
            halve_at_s: None,
            no_halving: false,
            slots: 20,
            service_ms: 10.0,
            slo_ms: None,
            static_limit: None,
        }
    }
}

fn secs(v: f64, what: &str) -> Result<Duration, SimError> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| SimError::Scenario(format!("{what}: not a valid duration: {v}")))
}

impl Scenario {
    /// The simulated world of this scenario (warmup: the model's 1 s, at most a quarter of the
    /// run).
    pub fn config(&self) -> Result<SimConfig, SimError> {
        let duration = secs(self.duration_s, "duration")?;
        let service = secs(self.service_ms / 1e3, "service_ms")?;
        let slo = match self.slo_ms {
            Some(ms) => secs(ms / 1e3, "slo_ms")?,
            None => service * 10,
        };
        let halve_at = if self.no_halving {
            None
        } else {
            Some(match self.halve_at_s {
                Some(h) => secs(h, "halve_at")?,
                None => duration / 2,
            })
        };
        Ok(SimConfig {
            slots: self.slots,
            service: ServiceTime::Erlang {
                k: 2,
                mean: service,
            },
            load: self.load,
            duration,
            halve_at,
            slo,
            seed: self.seed,
            warmup: SimConfig::default().warmup.min(duration / 4),
            ..SimConfig::default()
        })
    }

    /// The limiter of this scenario in the world `cfg`.
    pub fn spec(&self, cfg: &SimConfig) -> Result<LimiterSpec, SimError> {
        match (self.limiter.as_str(), self.static_limit) {
            ("static", Some(n)) => Ok(LimiterSpec::Static(n)),
            (name, _) => LimiterSpec::by_name(name, cfg).ok_or_else(|| {
                SimError::Scenario(format!(
                    "unknown limiter {name:?} (one of: {})",
                    LimiterSpec::NAMES.join(", ")
                ))
            }),
        }
    }

    /// Runs the scenario: the report `meshctl simulate --json` prints and the run's data.
    pub fn evaluate(&self) -> Result<(Report, RunData), SimError> {
        let cfg = self.config()?;
        let spec = self.spec(&cfg)?;
        evaluate_with_series(&cfg, &spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_model_with_meshctl_settings() {
        let cfg = Scenario::default().config().unwrap();
        assert_eq!(cfg, SimConfig::default());
        let short = Scenario {
            duration_s: 2.0,
            ..Scenario::default()
        };
        let cfg = short.config().unwrap();
        assert_eq!(cfg.warmup, Duration::from_millis(500));
        assert_eq!(cfg.halve_at, Some(Duration::from_secs(1)));
    }

    #[test]
    fn settings_map_onto_the_world_and_the_limiter() {
        let s = Scenario {
            limiter: "static".into(),
            static_limit: Some(7),
            no_halving: true,
            slo_ms: Some(50.0),
            service_ms: 5.0,
            ..Scenario::default()
        };
        let cfg = s.config().unwrap();
        assert_eq!(cfg.halve_at, None);
        assert_eq!(cfg.slo, Duration::from_millis(50));
        assert_eq!(cfg.service.mean(), Duration::from_millis(5));
        assert!(matches!(s.spec(&cfg), Ok(LimiterSpec::Static(7))));
        let h = Scenario {
            halve_at_s: Some(3.0),
            ..Scenario::default()
        };
        assert_eq!(h.config().unwrap().halve_at, Some(Duration::from_secs(3)));
    }

    #[test]
    fn bad_settings_are_errors() {
        let e = Scenario {
            duration_s: -1.0,
            ..Scenario::default()
        };
        assert_eq!(
            e.config().unwrap_err().to_string(),
            "duration: not a valid duration: -1"
        );
        let u = Scenario {
            limiter: "nope".into(),
            ..Scenario::default()
        };
        assert!(
            u.evaluate()
                .unwrap_err()
                .to_string()
                .starts_with("unknown limiter \"nope\"")
        );
        let z = Scenario {
            slots: 0,
            ..Scenario::default()
        };
        assert_eq!(z.evaluate().unwrap_err().to_string(), "slots must be > 0");
    }
}
