//! Shared helpers for the examples and interop proxies.
