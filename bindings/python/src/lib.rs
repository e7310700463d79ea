//! Python bindings (not built yet).
