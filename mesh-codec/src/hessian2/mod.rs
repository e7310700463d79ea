//! Hessian 2.0 serialization (being built: see the Dubbo issue).
