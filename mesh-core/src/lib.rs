//! mesh-core (being built: see its issue).
