//! mesh-limiter (being built: see its issue).
