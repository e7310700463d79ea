//! # mesh-core
//!
//! Slime's SmartLimiter outside the mesh: the `microservice.slime.io/v1alpha2` model, loud
//! validation, Slime's expression calculator and the translation to Istio EnvoyFilters (plus the
//! envoyproxy/ratelimit ConfigMap for global limits).
//!
//! ```
//! let input = r#"
//! apiVersion: microservice.slime.io/v1alpha2
//! kind: SmartLimiter
//! metadata: {name: reviews, namespace: default}
//! spec:
//!   sets:
//!     _base:
//!       descriptor:
//!       - action: {quota: "5", fill_interval: {seconds: 60}, strategy: single}
//!         condition: "true"
//!         target: {port: 9080}
//! ---
//! apiVersion: v1
//! kind: Service
//! metadata: {name: reviews, namespace: default}
//! spec: {selector: {app: reviews}}
//! "#;
//! let out = mesh_core::render_documents(input, &mesh_core::RenderOptions::default()).unwrap();
//! assert!(out.yaml.contains("name: reviews.default.ratelimit"));
//! assert!(out.yaml.contains("maxTokens: 5"));
//! assert!(out.warnings.is_empty());
//!
//! // Problems come back all at once, each with its path.
//! let bad = input.replace(r#"quota: "5""#, r#"quota: "0""#);
//! let errs = mesh_core::render_documents(&bad, &Default::default()).unwrap_err();
//! assert_eq!(errs.len(), 1);
//! assert!(errs.to_string().starts_with("default/reviews: spec.sets._base.descriptor[0].action.quota:"));
//! ```
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

pub mod calc;
pub mod crd;
pub mod error;
mod input;
pub mod options;
mod prototext;
mod render;
mod rules;
mod slime;
mod yaml;

pub use error::{Problem, RenderErrors};
pub use options::{ModuleConfig, RenderOptions, parse_metrics};
pub use render::{Rendered, parse_documents, render_documents, render_parsed, validate_documents};
/// The SmartLimiter resource (`microservice.slime.io/v1alpha2`): spec, status and CRD types.
pub use slime::limiter::model;
pub use slime::limiter::model::{SmartLimiter, SmartLimiterSpec, SmartLimiterStatus};
