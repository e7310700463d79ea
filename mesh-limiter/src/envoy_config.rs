//! The Envoy `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit` config, as JSON.
//!
//! One model, two users: mesh-core renders it into EnvoyFilters, and the local limiter is built
//! from it. Serialization uses protojson names (lowerCamel, durations as `"60s"`); parsing also
//! accepts the proto (snake_case) names, as Envoy does.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// `envoy.type.v3.TokenBucket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBucket {
    #[serde(alias = "max_tokens")]
    pub max_tokens: u32,
    #[serde(
        alias = "tokens_per_fill",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tokens_per_fill: Option<u32>,
    #[serde(alias = "fill_interval", with = "proto_duration")]
    pub fill_interval: Duration,
}

/// `envoy.config.core.v3.RuntimeFractionalPercent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeFractionalPercent {
    #[serde(alias = "default_value")]
    pub default_value: FractionalPercent,
    #[serde(
        alias = "runtime_key",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub runtime_key: String,
}

/// `envoy.type.v3.FractionalPercent` (denominator HUNDRED when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FractionalPercent {
    #[serde(default)]
    pub numerator: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<String>,
}

/// `envoy.config.core.v3.HeaderValueOption` (the fields used here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderValueOption {
    pub header: HeaderValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append: Option<bool>,
    #[serde(
        alias = "append_action",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub append_action: Option<String>,
}

/// `envoy.config.core.v3.HeaderValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
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

/// protobuf JSON `Duration`: `"1s"`, `"0.050s"`, `"60s"` (seconds with up to 9 fraction digits).
pub mod proto_duration {
    use super::*;

    /// Formats a duration the way protojson does (`1s`, `0.500s`, `1.000000001s`).
    pub fn format(d: Duration) -> String {
        let (s, n) = (d.as_secs(), d.subsec_nanos());
        if n == 0 {
            format!("{s}s")
        } else if n % 1_000_000 == 0 {
            format!("{s}.{:03}s", n / 1_000_000)
        } else if n % 1_000 == 0 {
            format!("{s}.{:06}s", n / 1_000)
        } else {
            format!("{s}.{n:09}s")
        }
    }

    /// Parses `"<seconds>[.<fraction>]s"`.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let body = s
            .strip_suffix('s')
            .ok_or_else(|| format!("duration {s:?} must end in 's'"))?;
        let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
        if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("duration {s:?}: bad seconds"));
        }
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("duration {s:?}: bad fraction"));
        }
        let secs: u64 = secs
            .parse()
            .map_err(|_| format!("duration {s:?}: seconds out of range"))?;
        let nanos = if frac.is_empty() {
            0
        } else {
            frac.parse::<u32>().expect("digits") * 10u32.pow(9 - frac.len() as u32)
        };
        Ok(Duration::new(secs, nanos))
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, d) in [
            ("1s", Duration::from_secs(1)),
            ("60s", Duration::from_secs(60)),
            ("0.050s", Duration::from_millis(50)),
            ("1.000001s", Duration::new(1, 1_000)),
            ("0.000000001s", Duration::new(0, 1)),
        ] {
            assert_eq!(proto_duration::parse(text).unwrap(), d);
            assert_eq!(proto_duration::format(d), text);
        }
        assert_eq!(
            proto_duration::parse("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(proto_duration::parse("60").is_err());
        assert!(proto_duration::parse("-1s").is_err());
        assert!(proto_duration::parse("1.0000000001s").is_err());
    }

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
