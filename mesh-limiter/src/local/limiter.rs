//! The descriptor-aware local rate limiter (Envoy `LocalRateLimiterImpl` semantics).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashbrown::HashTable;

use super::bucket::{BucketImpl, BucketState, RefillModel};
use super::descriptor::{self, Entry, Lru, OwnedEntries};
use crate::clock::Clock;
use crate::envoy_config::{self, LocalRateLimit, XRateLimitHeaders};

/// Envoy rejects token buckets refilled more often than this.
pub const MIN_FILL_INTERVAL: Duration = Duration::from_millis(50);
/// Default `max_dynamic_descriptors` (LRU size per wildcard descriptor).
pub const DEFAULT_MAX_DYNAMIC_DESCRIPTORS: u32 = 20;

/// A LocalRateLimit config Envoy would reject (or that Meshplane cannot represent).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocalConfigError {
    /// The JSON text did not parse into the `LocalRateLimit` model.
    #[error("{0}")]
    Json(String),
    /// `fill_interval` below 50 ms (Envoy: "local rate limit token bucket fill timer must be >= 50ms").
    #[error("{path}: local rate limit token bucket fill timer must be >= 50ms (got {interval:?})")]
    FillIntervalTooShort { path: String, interval: Duration },
    /// `tokens_per_fill` present but 0 (proto validation: must be > 0).
    #[error("{path}: tokens_per_fill must be > 0")]
    ZeroTokensPerFill { path: String },
    /// A descriptor without entries (proto validation: at least one entry).
    #[error("{path}: a descriptor needs at least one entry")]
    EmptyDescriptor { path: String },
    /// An entry with an empty key (proto validation).
    #[error("{path}: descriptor entry key must not be empty")]
    EmptyKey { path: String },
    /// Two descriptors with the same entry list.
    #[error(
        "descriptors[{index}]: duplicate descriptor in the local rate descriptor (same as descriptors[{first}]): {entries}"
    )]
    DuplicateDescriptor {
        index: usize,
        first: usize,
        entries: String,
    },
    /// Timer model: a descriptor interval that is not a whole multiple of the top-level one.
    #[error("{path}: local rate descriptor limit is not a multiple of token bucket fill timer")]
    NotAMultiple { path: String },
}

impl From<envoy_config::ConfigError> for LocalConfigError {
    fn from(e: envoy_config::ConfigError) -> Self {
        LocalConfigError::Json(e.to_string())
    }
}

pub(crate) fn validate_bucket(
    path: &str,
    tb: &envoy_config::TokenBucket,
) -> Result<(), LocalConfigError> {
    if tb.tokens_per_fill == Some(0) {
        return Err(LocalConfigError::ZeroTokensPerFill {
            path: format!("{path}.tokens_per_fill"),
        });
    }
    // Newest Envoy skips the interval check for an always-deny (max_tokens 0) descriptor.
    if tb.max_tokens > 0 && tb.fill_interval < MIN_FILL_INTERVAL {
        return Err(LocalConfigError::FillIntervalTooShort {
            path: format!("{path}.fill_interval"),
            interval: tb.fill_interval,
        });
    }
    Ok(())
}

/// Options beyond the Envoy config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimiterOptions {
    /// Refill model for every bucket (default: Envoy's current continuous atomic bucket).
    pub refill: RefillModel,
}

/// Which bucket a decision reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketId {
    /// The top-level `token_bucket`.
    Default,
    /// `descriptors[i]` of the config (for a wildcard descriptor: the per-value bucket it made).
    Descriptor(usize),
}

/// The bucket a decision reports, with its state right after the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    pub bucket: BucketId,
    pub state: BucketState,
}

/// `x-ratelimit-*` values (draft 03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XRateLimit {
    /// `x-ratelimit-limit`
    pub limit: u32,
    /// `x-ratelimit-remaining`
    pub remaining: u32,
    /// `x-ratelimit-reset` (seconds)
    pub reset: u64,
}

impl XRateLimit {
    /// The three headers as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset.to_string()),
        ]
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may pass.
    pub allowed: bool,
    /// On deny: the bucket that denied. On allow: the strictest matched descriptor bucket, else
    /// the default bucket. `None` when no bucket applied at all.
    pub reported: Option<Reported>,
}

impl Decision {
    /// The `x-ratelimit-*` values of the reported bucket (Envoy adds them only when
    /// `enable_x_ratelimit_headers: DRAFT_VERSION_03`; see
    /// [`LocalRateLimiter::x_ratelimit_headers_enabled`]).
    pub fn x_ratelimit(&self) -> Option<XRateLimit> {
        self.reported.map(|r| XRateLimit {
            limit: r.state.limit(),
            remaining: r.state.remaining(),
            reset: r.state.reset_seconds(),
        })
    }
}

#[derive(Debug)]
struct ExactDescriptor {
    entries: OwnedEntries,
    hash: u64,
    index: usize,
    bucket: BucketImpl,
}

#[derive(Debug)]
struct WildcardDescriptor {
    entries: OwnedEntries,
    index: usize,
    token_bucket: envoy_config::TokenBucket,
    lru: Mutex<Lru>,
}

enum Matched<'a> {
    Static(&'a BucketImpl, usize),
    Dynamic(Arc<BucketImpl>, usize),
}

impl Matched<'_> {
    #[inline(always)]
    fn bucket(&self) -> &BucketImpl {
        match self {
            Matched::Static(b, _) => b,
            Matched::Dynamic(b, _) => b,
        }
    }
    #[inline(always)]
    fn index(&self) -> usize {
        match self {
            Matched::Static(_, i) | Matched::Dynamic(_, i) => *i,
        }
    }
}

/// A local rate limiter with Envoy's `local_ratelimit` semantics.
///
/// * The default bucket (top-level `token_bucket`) is absent when the config has none or its
///   `fill_interval` is 0; `max_tokens: 0` makes it deny everything.
/// * Each request descriptor matches a config descriptor by full, ordered equality of its
///   entries, or a wildcard config descriptor (an entry with an empty value: same keys in
///   order, equal non-empty values), which gives every distinct request descriptor its own
///   bucket, kept in an LRU of `max_dynamic_descriptors` (default 20).
/// * All matched buckets are charged, strictest (lowest fill rate) first; the first that has no
///   token rejects (earlier ones keep the debit, later ones are not touched).
/// * The default bucket is charged after the descriptors — when nothing matched, or always if
///   `always_consume_default_token_bucket` (default true).
#[derive(Debug)]
pub struct LocalRateLimiter<C: Clock> {
    clock: C,
    default: Option<BucketImpl>,
    exact: HashTable<usize>,
    exact_list: Vec<ExactDescriptor>,
    wildcards: Vec<WildcardDescriptor>,
    hasher: foldhash::fast::FixedState,
    always_consume_default: bool,
    headers_enabled: bool,
    model: RefillModel,
}

fn describe(entries: &[(Box<str>, Box<str>)]) -> String {
    let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(", ")
}

impl<C: Clock> LocalRateLimiter<C> {
    /// Builds the limiter from the Envoy config model (continuous refill).
    pub fn from_config(config: &LocalRateLimit, clock: C) -> Result<Self, LocalConfigError> {
        Self::with_options(config, clock, LimiterOptions::default())
    }

    /// Parses LocalRateLimit protojson and builds the limiter.
    pub fn from_json(json: &str, clock: C) -> Result<Self, LocalConfigError> {
        Self::from_config(&LocalRateLimit::from_json(json)?, clock)
    }

    /// Builds the limiter with explicit options (e.g. the legacy timer-stepped refill).
    pub fn with_options(
        config: &LocalRateLimit,
        clock: C,
        options: LimiterOptions,
    ) -> Result<Self, LocalConfigError> {
        let model = options.refill;
        let default_tb = match &config.token_bucket {
            Some(tb) if !tb.fill_interval.is_zero() => {
                if tb.tokens_per_fill == Some(0) {
                    return Err(LocalConfigError::ZeroTokensPerFill {
                        path: "token_bucket.tokens_per_fill".into(),
                    });
                }
                if tb.fill_interval < MIN_FILL_INTERVAL {
                    return Err(LocalConfigError::FillIntervalTooShort {
                        path: "token_bucket.fill_interval".into(),
                        interval: tb.fill_interval,
                    });
                }
                Some(tb)
            }
            _ => None,
        };
        let hasher = foldhash::fast::FixedState::with_seed(0x6d65_7368_706c_616e);
        let mut exact = HashTable::new();
        let mut exact_list: Vec<ExactDescriptor> = Vec::new();
        let mut wildcards: Vec<WildcardDescriptor> = Vec::new();
        let lru_cap = config
            .max_dynamic_descriptors
            .unwrap_or(DEFAULT_MAX_DYNAMIC_DESCRIPTORS) as usize;
        let now = clock.now();

        for (index, d) in config.descriptors.iter().enumerate() {
            let path = format!("descriptors[{index}]");
            if d.entries.is_empty() {
                return Err(LocalConfigError::EmptyDescriptor { path });
            }
            if let Some(i) = d.entries.iter().position(|e| e.key.is_empty()) {
                return Err(LocalConfigError::EmptyKey {
                    path: format!("{path}.entries[{i}].key"),
                });
            }
            validate_bucket(&format!("{path}.token_bucket"), &d.token_bucket)?;
            if model == RefillModel::TimerStepped
                && let Some(top) = default_tb
            {
                let (di, ti) = (
                    d.token_bucket.fill_interval.as_nanos(),
                    top.fill_interval.as_nanos(),
                );
                if di % ti != 0 {
                    return Err(LocalConfigError::NotAMultiple {
                        path: format!("{path}.token_bucket.fill_interval"),
                    });
                }
            }
            let entries = descriptor::to_owned(&d.entries);
            // Duplicates: identical entry lists (wildcards included).
            let dup = exact_list
                .iter()
                .map(|e| (&e.entries, e.index))
                .chain(wildcards.iter().map(|w| (&w.entries, w.index)))
                .find(|(e, _)| **e == entries);
            if let Some((_, first)) = dup {
                return Err(LocalConfigError::DuplicateDescriptor {
                    index,
                    first,
                    entries: describe(&entries),
                });
            }
            if d.entries.iter().any(|e| e.value.is_empty()) {
                wildcards.push(WildcardDescriptor {
                    entries,
                    index,
                    token_bucket: d.token_bucket.clone(),
                    lru: Mutex::new(Lru::new(lru_cap)),
                });
            } else {
                let hash = descriptor::hash_entries(&hasher, &d.entries);
                let bucket = BucketImpl::new(model, &d.token_bucket, now);
                let slot = exact_list.len();
                exact_list.push(ExactDescriptor {
                    entries,
                    hash,
                    index,
                    bucket,
                });
                exact.insert_unique(hash, slot, |&s: &usize| exact_list[s].hash);
            }
        }

        Ok(LocalRateLimiter {
            default: default_tb.map(|tb| BucketImpl::new(model, tb, now)),
            clock,
            exact,
            exact_list,
            wildcards,
            hasher,
            always_consume_default: config.always_consume_default_token_bucket.unwrap_or(true),
            headers_enabled: config.enable_x_ratelimit_headers
                == Some(XRateLimitHeaders::DraftVersion03),
            model,
        })
    }

    /// Whether the config asks for `x-ratelimit-*` headers (`DRAFT_VERSION_03`).
    pub fn x_ratelimit_headers_enabled(&self) -> bool {
        self.headers_enabled
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    #[inline]
    fn find<'a, E: Entry>(&'a self, req: &[E]) -> Option<Matched<'a>> {
        if !self.exact_list.is_empty() {
            let h = descriptor::hash_entries(&self.hasher, req);
            let list = &self.exact_list;
            if let Some(&s) = self
                .exact
                .find(h, |&s| descriptor::equal(&list[s].entries, req))
            {
                let d = &self.exact_list[s];
                return Some(Matched::Static(&d.bucket, d.index));
            }
        }
        // Wildcards: the first in config order that matches.
        for w in &self.wildcards {
            if descriptor::wildcard_match(&w.entries, req) {
                let model = self.model;
                let now = self.clock.now();
                let mut lru = w.lru.lock().unwrap_or_else(|p| p.into_inner());
                let b = lru.get_or_insert(req, || BucketImpl::new(model, &w.token_bucket, now));
                return Some(Matched::Dynamic(b, w.index));
            }
        }
        None
    }

    /// Decides one request carrying `descriptors` (each an ordered list of entries).
    ///
    /// ```
    /// use mesh_limiter::{LocalRateLimiter, ManualClock};
    /// let json = r#"{"statPrefix":"p","tokenBucket":{"maxTokens":100,"fillInterval":"1s"},
    ///   "descriptors":[{"entries":[{"key":"path","value":"/a"}],
    ///                   "tokenBucket":{"maxTokens":1,"fillInterval":"60s"}}]}"#;
    /// let rl = LocalRateLimiter::from_json(json, ManualClock::new()).unwrap();
    /// assert!(rl.check(&[[("path", "/a")]]).allowed);
    /// assert!(!rl.check(&[[("path", "/a")]]).allowed);
    /// assert!(rl.check(&[[("path", "/b")]]).allowed); // default bucket only
    /// ```
    pub fn check<D, E>(&self, descriptors: &[D]) -> Decision
    where
        D: AsRef<[E]>,
        E: Entry,
    {
        // Fast path: a single request descriptor (the common case) needs no sorting.
        let mut first: Option<Matched<'_>> = None;
        let mut more: Vec<Matched<'_>> = Vec::new();
        for d in descriptors {
            if let Some(m) = self.find(d.as_ref()) {
                if first.is_none() {
                    first = Some(m);
                } else {
                    more.push(m);
                }
            }
        }
        let now = self.clock.now_nanos();
        let mut strictest: Option<Reported> = None;
        if let Some(f) = first {
            if more.is_empty() {
                let (ok, state) = f.bucket().consume(1, now);
                let r = Reported {
                    bucket: BucketId::Descriptor(f.index()),
                    state,
                };
                if !ok {
                    return Decision {
                        allowed: false,
                        reported: Some(r),
                    };
                }
                strictest = Some(r);
            } else {
                more.insert(0, f);
                // Lowest fill rate (highest cost per token) first; ties keep request order.
                more.sort_by_key(|m| std::cmp::Reverse(m.bucket().cost()));
                for m in &more {
                    let (ok, state) = m.bucket().consume(1, now);
                    let r = Reported {
                        bucket: BucketId::Descriptor(m.index()),
                        state,
                    };
                    if !ok {
                        return Decision {
                            allowed: false,
                            reported: Some(r),
                        };
                    }
                    strictest.get_or_insert(r);
                }
            }
        }
        if (strictest.is_none() || self.always_consume_default)
            && let Some(def) = &self.default
        {
            let (ok, state) = def.consume(1, now);
            let r = Reported {
                bucket: BucketId::Default,
                state,
            };
            if !ok {
                return Decision {
                    allowed: false,
                    reported: Some(r),
                };
            }
            return Decision {
                allowed: true,
                reported: strictest.or(Some(r)),
            };
        }
        Decision {
            allowed: true,
            reported: strictest,
        }
    }

    /// Current state of the default bucket (no consumption).
    pub fn default_bucket_state(&self) -> Option<BucketState> {
        self.default
            .as_ref()
            .map(|b| b.state(self.clock.now_nanos()))
    }
}
