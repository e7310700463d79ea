//! What the consumers of our output accept: Envoy's rules for the HTTP parts ([`http`]) and the
//! Kubernetes API server's for names and labels ([`k8s`]). Render checks its input and the
//! names it generates against them, so that output they would reject is an error here.

pub mod http;
pub mod k8s;
