//! Render options: the metric material and Slime's limiter module configuration.

use std::collections::BTreeMap;

use crate::error::{Problem, RenderErrors};

/// Options for [`crate::render_documents`] / [`crate::validate_documents`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderOptions {
    /// Metric material: flat dotted keys (`_base.pod`, `v1.cpu.sum`) to values, as in Slime's
    /// `metricStatus`. Build it with [`parse_metrics`] or insert strings directly.
    pub metrics: BTreeMap<String, String>,
    /// Accept (and ignore) unknown fields in SmartLimiters, as Slime does. Off by default: an
    /// unknown field is an error (it is usually a typo such as `conditon`).
    pub allow_unknown_fields: bool,
    /// Also emit each SmartLimiter with the `status` Slime would write.
    pub include_status: bool,
    /// Slime's limiter module configuration.
    pub module: ModuleConfig,
}

/// Slime's `limiter_module.proto` settings that change the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleConfig {
    /// Global rate limit domain (`slime`).
    pub domain: String,
    /// RLS service host (`rate-limit.istio-system.svc.cluster.local`).
    pub rls_service: String,
    /// RLS gRPC port (`18081`).
    pub rls_port: u16,
    /// RLS ConfigMap name (`rate-limit-config`).
    pub rls_config_map_name: String,
    /// RLS ConfigMap namespace (`istio-system`).
    pub rls_config_map_namespace: String,
    /// Reject global descriptors (Slime: no global handling at all).
    pub disable_global_rate_limit: bool,
    /// Do not insert the local_ratelimit HTTP filter (one static EnvoyFilter provides it).
    pub disable_insert_local_rate_limit: bool,
    /// Do not insert the ratelimit HTTP filter.
    pub disable_insert_global_rate_limit: bool,
    /// Add `envoy.filters.http.ratelimit` per-route placeholders for global routes.
    pub enable_ratelimit_placeholder_in_route: bool,
    /// Slime requires this for outbound and gateway limiters (default true, as in Slime's sample).
    pub disable_adaptive: bool,
    /// Regex put into every patch's `match.proxy.proxyVersion`.
    pub proxy_version: Option<String>,
    /// Allow the NetEase Envoy fork extensions (`JsonBodyMatch`: `body_value_match`,
    /// `body_match`). Upstream Envoy rejects them, so they are an error by default.
    pub netease_envoy_fork: bool,
}

impl Default for ModuleConfig {
    fn default() -> Self {
        ModuleConfig {
            domain: "slime".into(),
            rls_service: "rate-limit.istio-system.svc.cluster.local".into(),
            rls_port: 18081,
            rls_config_map_name: "rate-limit-config".into(),
            rls_config_map_namespace: "istio-system".into(),
            disable_global_rate_limit: false,
            disable_insert_local_rate_limit: false,
            disable_insert_global_rate_limit: false,
            enable_ratelimit_placeholder_in_route: false,
            disable_adaptive: true,
            proxy_version: None,
            netease_envoy_fork: false,
        }
    }
}

impl ModuleConfig {
    /// `outbound|<port>||<service>`, the RLS cluster name Istio gives the service.
    pub fn rls_cluster(&self) -> String {
        format!("outbound|{}||{}", self.rls_port, self.rls_service)
    }
}

/// Parses a metric file: a YAML or JSON map from dotted key to number or string
/// (`{"_base.pod": 3, "v1.cpu.sum": 185.7}`). Nested maps are flattened with dots.
pub fn parse_metrics(text: &str) -> Result<BTreeMap<String, String>, RenderErrors> {
    let err = |message: String| {
        RenderErrors(vec![Problem {
            object: "metrics".into(),
            path: String::new(),
            message,
        }])
    };
    let value: serde_json::Value =
        serde_norway::from_str(text).map_err(|e| err(format!("not a YAML/JSON map: {e}")))?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    match &value {
        serde_json::Value::Object(map) => flatten("", map, &mut out, &mut problems),
        serde_json::Value::Null => {}
        _ => return Err(err("must be a map from metric key to number".into())),
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(RenderErrors(problems))
    }
}

fn flatten(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Number(n) => {
                out.insert(key, metric_number(n));
            }
            serde_json::Value::String(s) => {
                out.insert(key, s.clone());
            }
            serde_json::Value::Object(m) => flatten(&key, m, out, problems),
            other => problems.push(Problem {
                object: "metrics".into(),
                path: key,
                message: format!("must be a number or a string, not {other}"),
            }),
        }
    }
}

/// A number as Prometheus/Go would print it (`3`, `185.7`, never an exponent).
fn metric_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_from_json_and_yaml() {
        let m = parse_metrics(r#"{"_base.pod": 3, "v1.cpu.sum": 185.7, "x": "1"}"#).unwrap();
        assert_eq!(m["_base.pod"], "3");
        assert_eq!(m["v1.cpu.sum"], "185.7");
        assert_eq!(m["x"], "1");
        let m = parse_metrics("_base:\n  pod: 2\n  cpu: {sum: 1e3}\n").unwrap();
        assert_eq!(m["_base.pod"], "2");
        assert_eq!(m["_base.cpu.sum"], "1000");
        assert!(parse_metrics("[1]").is_err());
        let e = parse_metrics("{a: true}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "metrics: a: must be a number or a string, not true"
        );
    }
}
