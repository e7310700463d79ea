//! Local rate limiting with the semantics of Envoy's `envoy.filters.http.local_ratelimit`.
//!
//! [`LocalRateLimiter`] is built from the [`LocalRateLimit`](crate::envoy_config::LocalRateLimit)
//! model (the one mesh-core renders) and decides each request from its descriptors; the
//! [`Decision`] carries what Envoy would answer: allow/deny, the bucket reported, and the
//! `x-ratelimit-limit/remaining/reset` values. [`TokenBucket`] is the bare bucket.

mod bucket;
mod descriptor;
mod limiter;

pub use bucket::{AtomicBucket, BucketState, RefillModel, TimerBucket, TokenBucket};
pub use descriptor::Entry;
pub use limiter::{
    BucketId, DEFAULT_MAX_DYNAMIC_DESCRIPTORS, Decision, LimiterOptions, LocalConfigError,
    LocalRateLimiter, MIN_FILL_INTERVAL, Reported, XRateLimit,
};
