//! Istio `networking.istio.io` objects: `EnvoyFilter` (what the SmartLimiter translator emits),
//! and `Sidecar` and `VirtualService` for the translators to come (lazyload, MetaRouter).
//! Field names are Istio's (lowerCamel); enum values its SCREAMING_SNAKE names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::k8s::ObjectMeta;
use crate::ratelimit::RouteRateLimit;
use crate::typed::TypedConfig;

/// `networking.istio.io/v1alpha3` `EnvoyFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvoyFilter {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: EnvoyFilterSpec,
}

impl EnvoyFilter {
    /// The apiVersion Slime writes.
    pub const API_VERSION: &'static str = "networking.istio.io/v1alpha3";

    /// An EnvoyFilter with this metadata and spec.
    pub fn new(metadata: ObjectMeta, spec: EnvoyFilterSpec) -> Self {
        EnvoyFilter {
            api_version: Self::API_VERSION.into(),
            kind: "EnvoyFilter".into(),
            metadata,
            spec,
        }
    }
}

/// `EnvoyFilter.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyFilterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub config_patches: Vec<ConfigPatch>,
}

/// `WorkloadSelector`: the pods (by labels) whose proxies are patched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadSelector {
    pub labels: BTreeMap<String, String>,
}

/// `EnvoyConfigObjectPatch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigPatch {
    #[serde(rename = "applyTo")]
    pub apply_to: ApplyTo,
    #[serde(rename = "match")]
    pub match_: Match,
    pub patch: Patch,
}

/// `ApplyTo`: the kind of Envoy object a patch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApplyTo {
    Listener,
    FilterChain,
    NetworkFilter,
    HttpFilter,
    RouteConfiguration,
    VirtualHost,
    HttpRoute,
    Cluster,
    ExtensionConfig,
    Bootstrap,
    ListenerFilter,
}

/// `PatchContext`: which proxies and traffic direction a patch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatchContext {
    Any,
    SidecarInbound,
    SidecarOutbound,
    Gateway,
}

/// `EnvoyConfigObjectMatch`: context, proxy version and one of listener / route configuration /
/// cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    pub context: PatchContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<ListenerMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_configuration: Option<RouteConfigurationMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterMatch>,
}

/// `ProxyMatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyMatch {
    /// A regex over the proxy version (e.g. `^1\.2[0-9].*`).
    pub proxy_version: String,
}

/// `ListenerMatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_chain: Option<FilterChainMatch>,
}

/// `ListenerMatch.FilterChainMatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterChainMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterMatch>,
}

/// `ListenerMatch.FilterMatch`: a network filter and optionally one of its HTTP filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterMatch {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<SubFilterMatch>,
}

impl FilterMatch {
    /// The HTTP filter `sub_filter` of the HttpConnectionManager.
    pub fn http(sub_filter: &str) -> Self {
        FilterMatch {
            name: "envoy.filters.network.http_connection_manager".into(),
            sub_filter: Some(SubFilterMatch {
                name: sub_filter.into(),
            }),
        }
    }
}

/// `ListenerMatch.SubFilterMatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubFilterMatch {
    pub name: String,
}

/// `RouteConfigurationMatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteConfigurationMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<VirtualHostMatch>,
}

/// `RouteConfigurationMatch.VirtualHostMatch` (a vhost-level patch when `route` is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualHostMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteMatch>,
}

/// `RouteConfigurationMatch.RouteMatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    pub name: String,
}

/// `ClusterMatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `Patch`: an operation and the Envoy config it merges or inserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    pub operation: Operation,
    pub value: PatchValue,
}

/// `Patch.Operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    Merge,
    Add,
    Remove,
    InsertBefore,
    InsertAfter,
    InsertFirst,
    Replace,
}

/// `Patch.value`: the (partial) Envoy object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PatchValue {
    /// An `HttpFilter` (HTTP_FILTER inserts).
    HttpFilter(HttpFilter),
    /// A partial `Route` or `VirtualHost` (HTTP_ROUTE / VIRTUAL_HOST merges).
    Route(RoutePatch),
}

/// `envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFilter {
    pub name: String,
    pub typed_config: TypedConfig,
}

/// The parts of a `Route` / `VirtualHost` Meshplane merges: `rate_limits` (under `route` for a
/// route) and `typed_per_filter_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutePatch {
    /// `Route.route` (the RouteAction), for route-level `rate_limits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteAction>,
    /// `VirtualHost.rate_limits`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RouteRateLimit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub typed_per_filter_config: BTreeMap<String, TypedConfig>,
}

/// `RouteAction` (its `rate_limits` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAction {
    #[serde(default)]
    pub rate_limits: Vec<RouteRateLimit>,
}

/// `networking.istio.io/v1` `Sidecar` (lazyload writes these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: SidecarSpec,
}

/// `Sidecar.spec` (the fields lazyload uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressListener>,
}

/// `IstioEgressListener`: the hosts (`namespace/dnsName`) a workload may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressListener {
    pub hosts: Vec<String>,
}

/// `networking.istio.io/v1` `VirtualService` (MetaRouter and lazyload read and write these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualService {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: VirtualServiceSpec,
}

/// `VirtualService.spec` (hosts, gateways and HTTP routes to destinations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServiceSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpRoute>,
}

/// `HTTPRoute` (name and destinations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRoute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<RouteDestination>,
}

/// `HTTPRouteDestination`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDestination {
    pub destination: Destination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// `Destination`: a host, optionally a DestinationRule subset and a port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

/// `PortSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSelector {
    pub number: u32,
}
