//! Which limiter guards the simulated server: [`LimiterKind`] (the names) and [`LimiterSpec`]
//! (a kind with its configuration).

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use super::{SimConfig, SimError, operator_static_limit};
use crate::ManualClock;
use crate::adaptive::{
    AdaptiveLimiter, Aimd, BbrConfig, BbrGuard, EnvoyGradient, Fixed, Gradient2, GradientConfig,
    Limiter, TokenBucketLimiter, Unlimited, Vegas, VegasConfig, Windowed, WindowedConfig,
};

/// Which limiter guards the server.
#[derive(Debug, Clone)]
pub enum LimiterSpec {
    /// No limiter.
    None,
    /// A static concurrency limit.
    Static(u32),
    /// Envoy's token bucket (continuous refill): `tokens_per_fill` per `fill_interval`, burst
    /// `max_tokens`.
    TokenBucket {
        max_tokens: u32,
        tokens_per_fill: u32,
        fill_interval: Duration,
    },
    /// Envoy's gradient controller.
    Gradient(GradientConfig),
    /// Netflix Gradient2 (per sample).
    Gradient2(crate::adaptive::Gradient2Config),
    /// Netflix Vegas (per sample).
    Vegas(VegasConfig),
    /// Netflix Vegas inside Netflix's `WindowedLimit` (one averaged sample per window).
    VegasWindowed(VegasConfig, WindowedConfig),
    /// Netflix Gradient2 inside `WindowedLimit`.
    Gradient2Windowed(crate::adaptive::Gradient2Config, WindowedConfig),
    /// Netflix AIMD (per sample; late responses are drops).
    Aimd(crate::adaptive::AimdConfig),
    /// aegis BBR guard; the CPU gauge reads busy slots ÷ slots.
    Bbr(BbrConfig),
}

/// The limiters the simulator knows, by name: the one list behind [`LimiterSpec::NAMES`],
/// [`LimiterSpec::by_name`] and `meshctl simulate --limiter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterKind {
    None,
    Static,
    TokenBucket,
    Gradient,
    Gradient2,
    Gradient2Windowed,
    Vegas,
    VegasWindowed,
    Aimd,
    Bbr,
}

impl LimiterKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [LimiterKind; 10] = [
        LimiterKind::None,
        LimiterKind::Static,
        LimiterKind::TokenBucket,
        LimiterKind::Gradient,
        LimiterKind::Gradient2,
        LimiterKind::Gradient2Windowed,
        LimiterKind::Vegas,
        LimiterKind::VegasWindowed,
        LimiterKind::Aimd,
        LimiterKind::Bbr,
    ];

    /// The short name (`token-bucket`, `gradient2-windowed`, …).
    pub const fn name(self) -> &'static str {
        match self {
            LimiterKind::None => "none",
            LimiterKind::Static => "static",
            LimiterKind::TokenBucket => "token-bucket",
            LimiterKind::Gradient => "gradient",
            LimiterKind::Gradient2 => "gradient2",
            LimiterKind::Gradient2Windowed => "gradient2-windowed",
            LimiterKind::Vegas => "vegas",
            LimiterKind::VegasWindowed => "vegas-windowed",
            LimiterKind::Aimd => "aimd",
            LimiterKind::Bbr => "bbr",
        }
    }

    /// Other names accepted for this kind (besides any case and `_` for `-`).
    pub const fn aliases(self) -> &'static [&'static str] {
        match self {
            LimiterKind::None => &["unlimited"],
            LimiterKind::Static => &["static-concurrency"],
            LimiterKind::TokenBucket => &["tokenbucket", "bucket"],
            LimiterKind::Gradient => &["envoy", "envoy-gradient"],
            _ => &[],
        }
    }

    /// The kind called `name` (a [`name`](Self::name) or an [`alias`](Self::aliases), in any
    /// case, `_` accepted for `-`).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name || k.aliases().contains(&name.as_str()))
    }
}

impl LimiterSpec {
    /// The names [`by_name`](Self::by_name) accepts (aliases aside), from [`LimiterKind::ALL`].
    pub const NAMES: [&'static str; LimiterKind::ALL.len()] = {
        let mut names = [""; LimiterKind::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = LimiterKind::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The limiter called `name` ([`LimiterKind::from_name`]) with its defaults: see
    /// [`LimiterSpec::of_kind`].
    pub fn by_name(name: &str, cfg: &SimConfig) -> Option<Self> {
        LimiterKind::from_name(name).map(|k| Self::of_kind(k, cfg))
    }

    /// The limiter of `kind` with its published defaults (Envoy's gradient controller with a
    /// 100 ms update interval and a 10 s minRTT interval; the static limit is
    /// [`operator_static_limit`]; the token bucket refills 90 % of the initial capacity per
    /// 100 ms with the same burst).
    pub fn of_kind(kind: LimiterKind, cfg: &SimConfig) -> Self {
        match kind {
            LimiterKind::None => LimiterSpec::None,
            LimiterKind::Static => {
                LimiterSpec::Static(operator_static_limit(cfg).unwrap_or(cfg.slots))
            }
            LimiterKind::TokenBucket => {
                let per_fill = (0.9 * cfg.capacity_rps() * 0.1).round().max(1.0) as u32;
                LimiterSpec::TokenBucket {
                    max_tokens: per_fill,
                    tokens_per_fill: per_fill,
                    fill_interval: Duration::from_millis(100),
                }
            }
            LimiterKind::Gradient => LimiterSpec::Gradient(GradientConfig {
                min_rtt_interval: Duration::from_secs(10),
                seed: cfg.seed,
                ..GradientConfig::default()
            }),
            LimiterKind::Gradient2 => LimiterSpec::Gradient2(Default::default()),
            LimiterKind::Vegas => LimiterSpec::Vegas(VegasConfig {
                seed: cfg.seed,
                ..VegasConfig::default()
            }),
            LimiterKind::VegasWindowed => LimiterSpec::VegasWindowed(
                VegasConfig {
                    seed: cfg.seed,
                    ..VegasConfig::default()
                },
                WindowedConfig::default(),
            ),
            LimiterKind::Gradient2Windowed => {
                LimiterSpec::Gradient2Windowed(Default::default(), WindowedConfig::default())
            }
            LimiterKind::Aimd => LimiterSpec::Aimd(Default::default()),
            // CPU read every 500 ms without smoothing (as Sentinel reads it): aegis' EMA (0.95)
            // needs ~16 s of full load to cross 80 % from a cold start.
            LimiterKind::Bbr => LimiterSpec::Bbr(BbrConfig {
                cpu_decay: 0.0,
                ..BbrConfig::default()
            }),
        }
    }

    /// Which kind this is.
    pub fn kind(&self) -> LimiterKind {
        match self {
            LimiterSpec::None => LimiterKind::None,
            LimiterSpec::Static(_) => LimiterKind::Static,
            LimiterSpec::TokenBucket { .. } => LimiterKind::TokenBucket,
            LimiterSpec::Gradient(_) => LimiterKind::Gradient,
            LimiterSpec::Gradient2(_) => LimiterKind::Gradient2,
            LimiterSpec::Vegas(_) => LimiterKind::Vegas,
            LimiterSpec::VegasWindowed(..) => LimiterKind::VegasWindowed,
            LimiterSpec::Gradient2Windowed(..) => LimiterKind::Gradient2Windowed,
            LimiterSpec::Aimd(_) => LimiterKind::Aimd,
            LimiterSpec::Bbr(_) => LimiterKind::Bbr,
        }
    }

    /// The short name.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    pub(super) fn build(
        &self,
        clock: &ManualClock,
        cpu: &Arc<AtomicU32>,
    ) -> Result<Box<dyn Limiter>, SimError> {
        let c: Arc<dyn crate::Clock> = Arc::new(clock.clone());
        Ok(match self {
            LimiterSpec::None => Box::new(AdaptiveLimiter::new(Unlimited, c)),
            LimiterSpec::Static(n) => Box::new(AdaptiveLimiter::new(Fixed(*n), c)),
            LimiterSpec::TokenBucket {
                max_tokens,
                tokens_per_fill,
                fill_interval,
            } => {
                let tb = crate::TokenBucket::new(
                    *max_tokens,
                    *tokens_per_fill,
                    *fill_interval,
                    c.clone(),
                )
                .map_err(|e| SimError::Limiter(e.to_string()))?;
                Box::new(TokenBucketLimiter::new(tb, c))
            }
            LimiterSpec::Gradient(g) => Box::new(AdaptiveLimiter::new(
                EnvoyGradient::new(g.clone()).map_err(|e| SimError::Limiter(e.to_string()))?,
                c,
            )),
            LimiterSpec::Gradient2(g) => {
                Box::new(AdaptiveLimiter::new(Gradient2::new(g.clone()), c))
            }
            LimiterSpec::Vegas(v) => Box::new(AdaptiveLimiter::new(Vegas::new(v.clone()), c)),
            LimiterSpec::VegasWindowed(v, w) => Box::new(AdaptiveLimiter::new(
                Windowed::new(Vegas::new(v.clone()), w.clone()),
                c,
            )),
            LimiterSpec::Gradient2Windowed(g, w) => Box::new(AdaptiveLimiter::new(
                Windowed::new(Gradient2::new(g.clone()), w.clone()),
                c,
            )),
            LimiterSpec::Aimd(a) => Box::new(AdaptiveLimiter::new(Aimd::new(a.clone()), c)),
            LimiterSpec::Bbr(b) => Box::new(AdaptiveLimiter::new(
                BbrGuard::new(b.clone(), cpu.clone()),
                c,
            )),
        })
    }
}
