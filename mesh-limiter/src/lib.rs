//! # mesh-limiter
//!
//! Rate and concurrency limiting with Envoy's semantics. Every limiter reads time through an
//! injected [`Clock`].
//!
//! ```
//! use std::time::Duration;
//! use mesh_limiter::{LocalRateLimiter, ManualClock};
//!
//! // Slime's example: quota 10 per 60 s on one descriptor.
//! let json = r#"{"statPrefix":"http_local_rate_limiter",
//!   "tokenBucket":{"maxTokens":100000,"tokensPerFill":100000,"fillInterval":"1s"},
//!   "descriptors":[{"entries":[{"key":"generic_key","value":"Service[a.default]-Id[1]"}],
//!                   "tokenBucket":{"maxTokens":10,"tokensPerFill":10,"fillInterval":"60s"}}]}"#;
//! let clock = ManualClock::new();
//! let rl = LocalRateLimiter::from_json(json, clock.clone()).unwrap();
//! let req = [[("generic_key", "Service[a.default]-Id[1]")]];
//! for _ in 0..10 {
//!     assert!(rl.check(&req).allowed);
//! }
//! let d = rl.check(&req);
//! assert!(!d.allowed); // the 11th request in the minute gets a 429
//! assert_eq!(d.x_ratelimit().unwrap().limit, 10);
//! clock.advance(Duration::from_secs(6)); // continuous refill: one token every 6 s
//! assert!(rl.check(&req).allowed);
//! ```
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

pub mod adaptive;
pub mod clock;
pub mod envoy_config;
#[cfg(feature = "redis")]
pub mod global;
pub mod local;
pub mod quota;
pub mod sim;

pub use clock::{CachedClock, Clock, ManualClock, QuantaClock, SystemClock};
pub use envoy_config::LocalRateLimit;
pub use local::{Decision, LocalRateLimiter, TokenBucket};
pub use quota::{QuotaBucket, QuotaError, RateChange, SmartQuota};
