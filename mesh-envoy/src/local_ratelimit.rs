//! The Envoy `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit` config, as JSON.
//!
//! One model, two users: mesh-core renders it into EnvoyFilters, and the local limiter is built
//! from it. Serialization uses protojson names (lowerCamel, durations as `"60s"`); parsing also
//! accepts the proto (snake_case) names, as Envoy does.

use serde::{Deserialize, Serialize};

pub use crate::core::{
    FractionalPercent, HeaderValue, HeaderValueOption, RuntimeFractionalPercent, TokenBucket,
};

/// `LocalRateLimit` (the fields Meshplane uses; unknown fields are rejected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalRateLimit {
    #[serde(alias = "stat_prefix")]
    pub stat_prefix: String,
    #[serde(
        alias = "token_bucket",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_bucket: Option<TokenBucket>,
    #[serde(
        alias = "filter_enabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub filter_enabled: Option<RuntimeFractionalPercent>,
    #[serde(
        alias = "filter_enforced",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub filter_enforced: Option<RuntimeFractionalPercent>,
    #[serde(
        alias = "response_headers_to_add",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<LocalRateLimitDescriptor>,
    #[serde(alias = "stage", default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<u32>,
    #[serde(
        alias = "local_rate_limit_per_downstream_connection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub local_rate_limit_per_downstream_connection: Option<bool>,
    #[serde(
        alias = "enable_x_ratelimit_headers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_x_ratelimit_headers: Option<XRateLimitHeaders>,
    #[serde(
        alias = "always_consume_default_token_bucket",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub always_consume_default_token_bucket: Option<bool>,
    #[serde(
        alias = "max_dynamic_descriptors",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_dynamic_descriptors: Option<u32>,
}

/// `envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalRateLimitDescriptor {
    pub entries: Vec<DescriptorEntry>,
    #[serde(alias = "token_bucket")]
    pub token_bucket: TokenBucket,
}

/// `RateLimitDescriptor.Entry`: an empty `value` is a wildcard (one bucket per value seen).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorEntry {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `XRateLimitHeadersRFCVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum XRateLimitHeaders {
    #[serde(rename = "OFF")]
    Off,
    #[serde(rename = "DRAFT_VERSION_03")]
    DraftVersion03,
}

/// Error parsing a LocalRateLimit JSON document.
#[derive(Debug, thiserror::Error)]
#[error("invalid LocalRateLimit JSON: {0}")]
pub struct ConfigError(#[from] serde_json::Error);

impl LocalRateLimit {
    /// Parses protojson (lowerCamel or snake_case names).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Serializes as protojson (lowerCamel names, `"60s"` durations).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("LocalRateLimit always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_both_name_styles() {
        let camel = r#"{"statPrefix":"p","tokenBucket":{"maxTokens":5,"tokensPerFill":5,"fillInterval":"60s"},
            "descriptors":[{"entries":[{"key":"generic_key","value":"v"}],"tokenBucket":{"maxTokens":1,"fillInterval":"1s"}}]}"#;
        let snake = r#"{"stat_prefix":"p","token_bucket":{"max_tokens":5,"tokens_per_fill":5,"fill_interval":"60s"},
            "descriptors":[{"entries":[{"key":"generic_key","value":"v"}],"token_bucket":{"max_tokens":1,"fill_interval":"1s"}}]}"#;
        let a = LocalRateLimit::from_json(camel).unwrap();
        let b = LocalRateLimit::from_json(snake).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.token_bucket.as_ref().unwrap().fill_interval,
            Duration::from_secs(60)
        );
        assert_eq!(LocalRateLimit::from_json(&a.to_json()).unwrap(), a);
        assert!(LocalRateLimit::from_json(r#"{"statPrefix":"p","bogus":1}"#).is_err());
    }
}
