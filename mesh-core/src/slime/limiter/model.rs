//! The `microservice.slime.io/v1alpha2` SmartLimiter resource.
//!
//! Field names follow Slime's proto names (`fill_interval`, `exact_match`, `matchSource`,
//! `workloadSelector`), which is what Slime's own CRD and documentation use. The lowerCamel
//! spellings Slime also accepts (`fillInterval`, `exactMatch`, ...) are serde aliases here and are
//! accepted by the decoder (`decode.rs`), which is the path the renderer uses (it collects every problem
//! with its field path instead of stopping at the first).

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `SmartLimiterSpec`: the rate limits of one service (or gateway), by subset.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "microservice.slime.io",
    version = "v1alpha2",
    kind = "SmartLimiter",
    plural = "smartlimiters",
    singular = "smartlimiter",
    namespaced,
    status = "SmartLimiterStatus",
    crates(
        kube_core = "::kube_core",
        k8s_openapi = "::k8s_openapi",
        schemars = "::schemars",
        serde = "::serde",
        serde_json = "::serde_json"
    )
)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SmartLimiterSpec {
    /// Descriptors by set: `_base` (the whole service) or a DestinationRule subset name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sets: BTreeMap<String, SmartLimitDescriptors>,
    /// Deprecated and unused by Slime (the RLS address is module configuration).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rls: String,
    /// Workload labels; replaces the Service selector. Required for gateways.
    #[serde(
        rename = "workloadSelector",
        alias = "workload_selector",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub workload_selector: BTreeMap<String, String>,
    /// Patch the gateway (context `GATEWAY`) instead of sidecars.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gateway: bool,
    /// An Istio service host (e.g. of a ServiceEntry) whose selector picks the workloads.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Default target for descriptors that have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

/// `SmartLimitDescriptors`: the descriptor list of one set (JSON key `descriptor`, singular).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SmartLimitDescriptors {
    #[serde(default)]
    pub descriptor: Vec<SmartLimitDescriptor>,
}

/// One rate limit: when (`condition`), how much (`action`), for which requests (`match`), where (`target`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SmartLimitDescriptor {
    /// `"true"`, `"false"` or an expression such as `{{._base.cpu.sum}}>100` (true iff it evaluates to 1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<SmartLimitAction>,
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Matcher>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(alias = "customKey", default, skip_serializing_if = "String::is_empty")]
    pub custom_key: String,
    #[serde(
        alias = "customValue",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_value: String,
}

/// `Action`: the quota expression and its interval.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SmartLimitAction {
    /// Expression evaluated to an integer, e.g. `"10"` or `"100/{{._base.pod}}"`.
    #[serde(default)]
    pub quota: String,
    #[serde(
        alias = "fillInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fill_interval: Option<FillInterval>,
    /// `global` (envoy ratelimit filter + RLS); anything else (`single`, `average`, empty) is local.
    #[serde(default, skip_serializing_if = "Strategy::is_unset")]
    pub strategy: Strategy,
    /// Added to rate-limited responses (local strategy only).
    #[serde(alias = "headersToAdd", default, skip_serializing_if = "Vec::is_empty")]
    pub headers_to_add: Vec<Header>,
}

/// Slime's own `Duration` message (`{seconds, nanos}`, not a `"60s"` string).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct FillInterval {
    #[serde(default)]
    pub seconds: i32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nanos: i32,
}

/// A header added to limited responses.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Header {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `Matcher`: one request condition; all matchers of a descriptor are ANDed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Matcher {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(
        alias = "regexMatch",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub regex_match: String,
    #[serde(
        alias = "exactMatch",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub exact_match: String,
    #[serde(
        alias = "prefixMatch",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub prefix_match: String,
    #[serde(
        alias = "suffixMatch",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub suffix_match: String,
    #[serde(alias = "presentMatch", default, skip_serializing_if = "is_false")]
    pub present_match: bool,
    #[serde(alias = "invertMatch", default, skip_serializing_if = "is_false")]
    pub invert_match: bool,
    #[serde(alias = "isExactMatchEmpty", default, skip_serializing_if = "is_false")]
    pub is_exact_match_empty: bool,
    #[serde(
        alias = "presentMatchSeparate",
        default,
        skip_serializing_if = "is_false"
    )]
    pub present_match_separate: bool,
    /// Deprecated alias of `matchSource: QueryMatch`.
    #[serde(rename = "useQueryMatch", default, skip_serializing_if = "is_false")]
    pub use_query_match: bool,
    #[serde(
        rename = "matchSource",
        default,
        skip_serializing_if = "MatchSource::is_head"
    )]
    pub match_source: MatchSource,
}

/// `Matcher.Source`: where the matched value comes from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MatchSource {
    /// A request header (0, the default).
    #[default]
    HeadMatch,
    /// A query parameter (1).
    QueryMatch,
    /// A JSON body field (2, NetEase Envoy fork only).
    JsonBodyMatch,
    /// The downstream address (3); `exact_match` holds one IP or a comma-separated list.
    SourceIpMatch,
}

impl MatchSource {
    /// All values in proto number order.
    pub const ALL: [MatchSource; 4] = [
        MatchSource::HeadMatch,
        MatchSource::QueryMatch,
        MatchSource::JsonBodyMatch,
        MatchSource::SourceIpMatch,
    ];

    /// The proto enum name.
    pub fn name(self) -> &'static str {
        match self {
            MatchSource::HeadMatch => "HeadMatch",
            MatchSource::QueryMatch => "QueryMatch",
            MatchSource::JsonBodyMatch => "JsonBodyMatch",
            MatchSource::SourceIpMatch => "SourceIpMatch",
        }
    }

    fn is_head(&self) -> bool {
        *self == MatchSource::HeadMatch
    }
}

impl JsonSchema for MatchSource {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MatchSource".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "HeadMatch (0), QueryMatch (1), JsonBodyMatch (2) or SourceIpMatch (3), by name or number",
            "x-kubernetes-int-or-string": true
        })
    }
}

/// Declares a string enum of the model: the spellings Slime accepts, kept exactly (the descriptor
/// Id hashes the text as given), and a CRD schema of `type: string` (Slime's CRD has no enum).
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum $name {
            /// Not given (`""`).
            #[default]
            Unset,
            $($(#[$vm])* $variant,)*
        }

        impl $name {
            /// Every value, `Unset` first.
            pub const ALL: &'static [$name] = &[$name::Unset, $($name::$variant,)*];

            /// The spelling as written (`""` for `Unset`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $name::Unset => "",
                    $($name::$variant => $text,)*
                }
            }

            /// The value spelled `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            fn is_unset(&self) -> bool {
                *self == $name::Unset
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{text:?} is not a {}: use {}",
                        stringify!($name).to_ascii_lowercase(),
                        [$($text),*].join(", ")
                    ))
                })
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string"})
            }
        }
    };
}

string_enum! {
    /// `action.strategy`: `global` is the ratelimit filter and the RLS; the rest are local.
    Strategy {
        /// Local (Envoy local_ratelimit).
        Single = "single",
        /// Local; the quota expression divides by the pod count itself.
        Average = "average",
        /// envoy.filters.http.ratelimit and the rate-limit service.
        Global = "global",
    }
}

string_enum! {
    /// `target.direction`: inbound (the default) or outbound.
    Direction {
        /// Inbound (`inbound|http|<port>`).
        Inbound = "inbound",
        /// Outbound (route or vhost entries; gateways).
        Outbound = "outbound",
    }
}

/// `Target`: where the limit applies.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Target {
    /// `outbound`, or `inbound` (the default).
    #[serde(default, skip_serializing_if = "Direction::is_unset")]
    pub direction: Direction,
    /// Inbound: the service port (`inbound|http|<port>`); outbound: appended to each vhost.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: i32,
    /// Outbound/gateway: `"<vhost>/<routeName>"` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<String>,
    /// Outbound/gateway: vhost names (a vhost-level limit) when `route` is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host: Vec<String>,
}

/// `SmartLimiterStatus`, as Slime writes it (lowerCamel keys).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SmartLimiterStatus {
    /// Per set, the descriptors whose condition held, with their evaluated quota.
    #[serde(
        rename = "ratelimitStatus",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub ratelimit_status: BTreeMap<String, SmartLimitDescriptors>,
    /// The metric material the expressions were evaluated against.
    #[serde(
        rename = "metricStatus",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metric_status: BTreeMap<String, String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// The name of the set that stands for the whole service.
pub const BASE_SET: &str = "_base";
