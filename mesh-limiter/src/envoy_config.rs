//! The Envoy `LocalRateLimit` model the local limiter is built from. It lives in mesh-envoy
//! (shared with mesh-core, which renders it); re-exported here under its old paths.

pub use mesh_envoy::core::{
    FractionalPercent, HeaderValue, HeaderValueOption, RuntimeFractionalPercent, TokenBucket,
};
pub use mesh_envoy::duration as proto_duration;
pub use mesh_envoy::local_ratelimit::{
    ConfigError, DescriptorEntry, LocalRateLimit, LocalRateLimitDescriptor, XRateLimitHeaders,
};
