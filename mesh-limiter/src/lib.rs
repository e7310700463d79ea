//! # mesh-limiter
//!
//! Rate and concurrency limiting with Envoy's semantics. Every limiter reads time through an
//! injected [`Clock`].

pub mod clock;
pub mod envoy_config;

pub use clock::{Clock, ManualClock, SystemClock};
pub use envoy_config::LocalRateLimit;
pub mod adaptive;
pub mod sim;
