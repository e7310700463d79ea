//! C API (being built: see its issue).
