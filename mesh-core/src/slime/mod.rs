//! Slime (slime-io/slime) modules, one folder per CRD family.
//!
//! - [`limiter`]: `SmartLimiter` → EnvoyFilters + the envoyproxy/ratelimit ConfigMap + status.
//!
//! Rooms for the modules to come, with the same stage files where they apply (`model`, `decode`,
//! `plan`, one file per emitted object kind, `status`): `slime/lazyload/` (`ServiceFence` →
//! `Sidecar`s and the global-sidecar's routes) and `slime/plugin/` (`PluginManager` /
//! `EnvoyPlugin` → EnvoyFilters). Aeraki's CRDs get their own top-level family folder,
//! `aeraki/metarouter/` (`MetaRouter` → MetaProtocol route configs) and `aeraki/redis/`
//! (`RedisService` / `RedisDestination`). The Istio/Envoy objects they emit belong in the
//! mesh-envoy crate, the lookups they share (Services, ServiceEntries, DestinationRules by host)
//! in [`crate::input`].

pub(crate) mod limiter;
