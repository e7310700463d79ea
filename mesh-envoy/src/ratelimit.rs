//! The HTTP rate-limit filter (`envoy.filters.http.ratelimit`, which asks a rate-limit service)
//! and the route `rate_limits` that build its request descriptors, with the matchers they use.
//! Field names as Istio users write them (proto names for route fields, lowerCamel inside the
//! TypedStruct, both of which Envoy accepts).

use serde::{Deserialize, Serialize};

/// `envoy.extensions.filters.http.ratelimit.v3.RateLimit` (the fields used here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFilter {
    pub domain: String,
    pub rate_limit_service: RateLimitServiceConfig,
}

/// `envoy.config.ratelimit.v3.RateLimitServiceConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitServiceConfig {
    pub grpc_service: GrpcService,
    /// `V3`.
    pub transport_api_version: String,
}

impl RateLimitServiceConfig {
    /// The v3 service on an Envoy cluster.
    pub fn envoy_grpc(cluster_name: String) -> Self {
        RateLimitServiceConfig {
            grpc_service: GrpcService {
                envoy_grpc: EnvoyGrpc { cluster_name },
            },
            transport_api_version: "V3".into(),
        }
    }
}

/// `envoy.config.core.v3.GrpcService` (Envoy's own gRPC client only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrpcService {
    pub envoy_grpc: EnvoyGrpc,
}

/// `GrpcService.EnvoyGrpc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvoyGrpc {
    pub cluster_name: String,
}

/// `envoy.config.route.v3.RateLimit`: one entry of a route's `rate_limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRateLimit {
    pub actions: Vec<Action>,
}

/// `RateLimit.Action`: one entry of the request descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `{key: generic_key, value: descriptor_value}`.
    GenericKey { descriptor_value: String },
    /// `{key: descriptor_key, value: <the header's value>}`.
    RequestHeaders {
        header_name: String,
        descriptor_key: String,
    },
    /// `{key: header_match, value: descriptor_value}` when every header matcher matches.
    HeaderValueMatch {
        descriptor_value: String,
        headers: Vec<HeaderMatcher>,
    },
    /// `{key: query_match, value: descriptor_value}` when every query matcher matches.
    QueryParameterValueMatch {
        descriptor_value: String,
        query_parameters: Vec<QueryParameterMatcher>,
    },
    /// `{key: remote_address, value: <the downstream IP>}`.
    RemoteAddress(Empty),
    /// NetEase Envoy fork only: `{key: body_match, value: descriptor_value}`.
    BodyValueMatch {
        descriptor_value: String,
        bodies: Vec<BodyMatcher>,
    },
}

/// A message without fields (`{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `envoy.config.route.v3.HeaderMatcher` (one specifier set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatcher {
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invert_match: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_regex_match: Option<RegexMatcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_match: Option<bool>,
}

/// `envoy.config.route.v3.QueryParameterMatcher`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParameterMatcher {
    pub name: String,
    pub string_match: StringMatcher,
}

/// The NetEase fork's body matcher (a JSON body field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyMatcher {
    pub name: String,
    pub string_match: StringMatcher,
}

/// `envoy.type.matcher.v3.StringMatcher` (one specifier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringMatcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    SafeRegex(RegexMatcher),
}

/// `envoy.type.matcher.v3.RegexMatcher` with the RE2 engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexMatcher {
    pub google_re2: Empty,
    pub regex: String,
}

impl RegexMatcher {
    /// An RE2 regex.
    pub fn re2(regex: impl Into<String>) -> Self {
        RegexMatcher {
            google_re2: Empty {},
            regex: regex.into(),
        }
    }
}
