//! # mesh-envoy
//!
//! Typed serde structs for every Istio / Envoy / Kubernetes object Meshplane emits or reads
//! back: the Istio [`EnvoyFilter`](istio::EnvoyFilter) (with `Sidecar` and `VirtualService` for
//! the translators to come), the Envoy messages inside it (the [`TypedStruct`](typed::TypedStruct)
//! wrapper, [`LocalRateLimit`](local_ratelimit::LocalRateLimit), the HTTP rate-limit filter and
//! route `rate_limits` actions, durations, fractional percents, token buckets), the
//! envoyproxy/ratelimit service config ([`rls::RlsConfig`]) and the [`ConfigMap`](k8s::ConfigMap)
//! that carries it. A leaf crate: the translator (mesh-core) and the runtime (mesh-limiter) both
//! use it and neither depends on the other.
//!
//! ```
//! use mesh_envoy::istio::{ApplyTo, ConfigPatch, EnvoyFilter, EnvoyFilterSpec, FilterMatch,
//!     HttpFilter, ListenerMatch, FilterChainMatch, Match, Operation, Patch, PatchContext, PatchValue};
//! use mesh_envoy::k8s::ObjectMeta;
//! use mesh_envoy::local_ratelimit::LocalRateLimit;
//! use mesh_envoy::typed::{TypedConfig, TypedStruct};
//!
//! let filter = HttpFilter {
//!     name: "envoy.filters.http.local_ratelimit".into(),
//!     typed_config: TypedConfig::TypedStruct(TypedStruct::local_rate_limit(LocalRateLimit {
//!         stat_prefix: "http_local_rate_limiter".into(),
//!         ..LocalRateLimit::default()
//!     })),
//! };
//! let patch = ConfigPatch {
//!     apply_to: ApplyTo::HttpFilter,
//!     match_: Match {
//!         context: PatchContext::SidecarInbound,
//!         proxy: None,
//!         listener: Some(ListenerMatch {
//!             filter_chain: Some(FilterChainMatch {
//!                 filter: Some(FilterMatch::http("envoy.filters.http.router")),
//!                 ..Default::default()
//!             }),
//!             ..Default::default()
//!         }),
//!         route_configuration: None,
//!         cluster: None,
//!     },
//!     patch: Patch { operation: Operation::InsertBefore, value: PatchValue::HttpFilter(filter) },
//! };
//! let meta = ObjectMeta { name: "reviews.default.ratelimit".into(), ..Default::default() };
//! let ef = EnvoyFilter::new(meta, EnvoyFilterSpec { workload_selector: None, config_patches: vec![patch] });
//! let json = serde_json::to_value(&ef).unwrap();
//! assert_eq!(json["spec"]["configPatches"][0]["applyTo"], "HTTP_FILTER");
//! assert_eq!(json["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["statPrefix"],
//!            "http_local_rate_limiter");
//! // And back: the same typed object.
//! assert_eq!(serde_json::from_value::<EnvoyFilter>(json).unwrap(), ef);
//! ```
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

pub mod core;
pub mod duration;
pub mod istio;
pub mod k8s;
pub mod local_ratelimit;
pub mod ratelimit;
pub mod rls;
pub mod typed;
