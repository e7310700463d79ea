//! Shared helpers for the examples and interop proxies.
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake
