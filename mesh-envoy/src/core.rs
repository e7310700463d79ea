//! Envoy's small shared messages (`envoy.type.v3`, `envoy.config.core.v3`): token buckets,
//! (runtime) fractional percents, header values. protojson names (lowerCamel) out; the proto
//! (snake_case) names are accepted too, as Envoy does.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    #[serde(alias = "fill_interval", with = "crate::duration")]
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
