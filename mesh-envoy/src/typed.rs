//! How a typed Envoy config travels inside an EnvoyFilter: `udpa.type.v1.TypedStruct` (a type URL
//! plus the message as JSON, which Istio passes through untouched) and the per-route
//! `envoy.config.route.v3.FilterConfig` wrapper.

use serde::{Deserialize, Serialize};

use crate::local_ratelimit::LocalRateLimit;
use crate::ratelimit::RateLimitFilter;

/// `@type` of [`TypedStruct`].
pub const TYPED_STRUCT: &str = "type.googleapis.com/udpa.type.v1.TypedStruct";
/// `@type` of [`FilterConfig`].
pub const FILTER_CONFIG: &str = "type.googleapis.com/envoy.config.route.v3.FilterConfig";
/// `@type` of `google.protobuf.Empty`.
pub const EMPTY: &str = "type.googleapis.com/google.protobuf.Empty";
/// Type URL of [`LocalRateLimit`].
pub const LOCAL_RATE_LIMIT_URL: &str =
    "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
/// Type URL of [`RateLimitFilter`].
pub const RATE_LIMIT_URL: &str =
    "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit";

/// A `typed_config` / `typed_per_filter_config` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TypedConfig {
    /// `{"@type": TypedStruct, type_url, value}`.
    TypedStruct(TypedStruct),
    /// `{"@type": FilterConfig, config, is_optional}`.
    FilterConfig(FilterConfig),
}

/// `udpa.type.v1.TypedStruct`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypedStruct {
    /// Always [`TYPED_STRUCT`].
    #[serde(rename = "@type")]
    pub type_: String,
    pub type_url: String,
    pub value: TypedValue,
}

impl TypedStruct {
    /// A LocalRateLimit wrapped for an EnvoyFilter.
    pub fn local_rate_limit(value: LocalRateLimit) -> Self {
        Self::wrap(
            LOCAL_RATE_LIMIT_URL,
            TypedValue::LocalRateLimit(Box::new(value)),
        )
    }

    /// The HTTP rate-limit filter config wrapped for an EnvoyFilter.
    pub fn rate_limit(value: RateLimitFilter) -> Self {
        Self::wrap(RATE_LIMIT_URL, TypedValue::RateLimit(value))
    }

    /// Any value under a type URL.
    pub fn wrap(type_url: &str, value: TypedValue) -> Self {
        TypedStruct {
            type_: TYPED_STRUCT.into(),
            type_url: type_url.into(),
            value,
        }
    }
}

/// The message inside a [`TypedStruct`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TypedValue {
    LocalRateLimit(Box<LocalRateLimit>),
    /// A LocalRateLimit with the NetEase Envoy fork's `bodyMatch: true` (upstream Envoy rejects it).
    LocalRateLimitBodyMatch(Box<LocalRateLimitBodyMatch>),
    RateLimit(RateLimitFilter),
}

/// [`LocalRateLimit`] plus the NetEase fork's `bodyMatch` flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalRateLimitBodyMatch {
    #[serde(flatten)]
    pub config: LocalRateLimit,
    #[serde(rename = "bodyMatch")]
    pub body_match: bool,
}

/// `envoy.config.route.v3.FilterConfig`: a per-route config that may be absent in the filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Always [`FILTER_CONFIG`].
    #[serde(rename = "@type")]
    pub type_: String,
    pub config: Any,
    #[serde(default)]
    pub is_optional: bool,
}

impl FilterConfig {
    /// An optional per-route placeholder with an empty config (`google.protobuf.Empty`, no
    /// `value`: Envoy rejects `value: {}` for a message without fields).
    pub fn optional_empty() -> Self {
        FilterConfig {
            type_: FILTER_CONFIG.into(),
            config: Any {
                type_: EMPTY.into(),
            },
            is_optional: true,
        }
    }
}

/// A `google.protobuf.Any` with no fields of its own (such as `Empty`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Any {
    #[serde(rename = "@type")]
    pub type_: String,
}
