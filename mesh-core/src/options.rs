//! Render options: the metric material and Slime's limiter module configuration.

use std::collections::BTreeMap;

use crate::error::{Problem, RenderErrors};
use crate::rules::k8s;

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

    /// Settings whose output Envoy, Istio or the API server would reject, as problems of the
    /// object `module` (path: the setting's name in Slime's `limiter_module.proto`).
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |path: &str, message: String| {
            out.push(Problem {
                object: "module".into(),
                path: path.into(),
                message,
            })
        };
        if let Err(e) = k8s::subdomain(&self.rls_config_map_name) {
            bad("rlsConfigMap.name", e);
        }
        if let Err(e) = k8s::label(&self.rls_config_map_namespace) {
            bad("rlsConfigMap.namespace", e);
        }
        if self.domain.is_empty() {
            bad(
                "domain",
                "must not be empty (Envoy's ratelimit filter and the RLS need a domain)".into(),
            );
        }
        if let Err(e) = k8s::subdomain(&self.rls_service) {
            bad(
                "rls.service",
                format!("must be the RLS service's host name: {e}"),
            );
        }
        if self.rls_port == 0 {
            bad("rls.port", "0 is not a port".into());
        }
        if let Some(pv) = &self.proxy_version
            && let Err(e) = regex_syntax::Parser::new().parse(pv)
        {
            bad(
                "proxyVersion",
                format!(
                    "not a valid regex (Istio rejects the EnvoyFilter): {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            );
        }
        out
    }
}

/// Parses a metric file: a YAML or JSON map from dotted key to number or string
/// (`{"_base.pod": 3, "v1.cpu.sum": 185.7}`). Nested maps are flattened with dots.
///
/// NaN and ±Inf (YAML `.nan`, `.inf`, `-.inf`; a number beyond f64 such as `1e999`, which YAML
/// leaves a string; the strings `NaN`, `+Inf`, `-Inf` Prometheus prints) are errors naming it: no
/// expression can use them (Slime's calculator fails on them, or on their HTML escape).
pub fn parse_metrics(text: &str) -> Result<BTreeMap<String, String>, RenderErrors> {
    let err = |message: String| {
        RenderErrors(vec![Problem {
            object: "metrics".into(),
            path: String::new(),
            message,
        }])
    };
    // Read into our own tree rather than `serde_json::Value`, which turns NaN and ±Inf into null.
    let value: Metric =
        serde_norway::from_str(text).map_err(|e| err(format!("not a YAML/JSON map: {e}")))?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    match value {
        Metric::Map(map) => flatten("", map, &mut out, &mut problems),
        Metric::Null => {}
        _ => return Err(err("must be a map from metric key to number".into())),
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(RenderErrors(problems))
    }
}

/// A metric file value as written (floats kept as floats, so NaN and ±Inf can be named).
#[derive(Debug, Clone, PartialEq)]
enum Metric {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List,
    Map(Vec<(String, Metric)>),
}

impl<'de> serde::Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MetricVisitor)
    }
}

struct MetricVisitor;

impl<'de> serde::de::Visitor<'de> for MetricVisitor {
    type Value = Metric;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a metric map, number or string")
    }
    fn visit_unit<E>(self) -> Result<Metric, E> {
        Ok(Metric::Null)
    }
    fn visit_none<E>(self) -> Result<Metric, E> {
        Ok(Metric::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Metric, E> {
        Ok(Metric::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Metric, E> {
        Ok(Metric::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Metric, E> {
        Ok(Metric::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Metric, E> {
        Ok(Metric::Int(v))
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Metric, E> {
        i128::try_from(v)
            .map(Metric::Int)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Metric, E> {
        Ok(Metric::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Metric, E> {
        Ok(Metric::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Metric, E> {
        Ok(Metric::Str(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Metric, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Metric::List)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Metric, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Metric>()? {
            out.push((k, v));
        }
        Ok(Metric::Map(out))
    }
}

fn flatten(
    prefix: &str,
    map: Vec<(String, Metric)>,
    out: &mut BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        let bad = |what: &str| {
            format!("{what} is not a usable metric value (expressions need a finite number)")
        };
        let problem = match v {
            Metric::Int(i) => {
                out.insert(key, i.to_string());
                continue;
            }
            Metric::Float(f) if f.is_finite() => {
                out.insert(key, format!("{f}"));
                continue;
            }
            Metric::Float(f) if f.is_nan() => bad("NaN"),
            Metric::Float(f) => bad(if f > 0.0 { "+Inf" } else { "-Inf" }),
            Metric::Str(s) => match non_finite(&s) {
                Some(what) => bad(&format!("the string {s:?} ({what})")),
                None => {
                    out.insert(key, s);
                    continue;
                }
            },
            Metric::Map(m) => {
                flatten(&key, m, out, problems);
                continue;
            }
            Metric::Null => "must be a number or a string, not null".to_string(),
            Metric::Bool(b) => format!("must be a number or a string, not {b}"),
            Metric::List => "must be a number or a string, not a list".to_string(),
        };
        problems.push(Problem {
            object: "metrics".into(),
            path: key,
            message: problem,
        });
    }
}

/// Whether a metric string is NaN or an infinity as a float (`NaN`, `+Inf`, `-inf`, `Infinity`,
/// as Prometheus and Go print them, or a number beyond f64 such as `1e999`, which YAML leaves a
/// string).
fn non_finite(s: &str) -> Option<&'static str> {
    match s.trim().parse::<f64>() {
        Ok(f) if f.is_nan() => Some("NaN"),
        Ok(f) if f.is_infinite() && f > 0.0 => Some("+Inf"),
        Ok(f) if f.is_infinite() => Some("-Inf"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_settings_consumers_reject() {
        assert_eq!(ModuleConfig::default().problems(), []);
        let m = ModuleConfig {
            domain: String::new(),
            rls_service: "Rate Limit".into(),
            rls_port: 0,
            rls_config_map_name: "Rate_Limit".into(),
            rls_config_map_namespace: "istio.system".into(),
            proxy_version: Some("1.2(".into()),
            ..ModuleConfig::default()
        };
        let lines = RenderErrors(m.problems()).lines();
        assert_eq!(lines.len(), 6, "{lines:#?}");
        for (line, start) in lines.iter().zip([
            "module: rlsConfigMap.name: \"Rate_Limit\" is not a DNS-1123 subdomain",
            "module: rlsConfigMap.namespace: \"istio.system\" is not a DNS-1123 label",
            "module: domain: must not be empty",
            "module: rls.service: must be the RLS service's host name",
            "module: rls.port: 0 is not a port",
            "module: proxyVersion: not a valid regex",
        ]) {
            assert!(line.starts_with(start), "{line}");
        }
    }

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
        let e = parse_metrics("{a: null, b: [1]}").unwrap_err();
        assert_eq!(
            e.lines(),
            [
                "metrics: a: must be a number or a string, not null",
                "metrics: b: must be a number or a string, not a list"
            ]
        );
        // Integers beyond i64 stay exact.
        let m = parse_metrics("{big: 18446744073709551615}").unwrap();
        assert_eq!(m["big"], "18446744073709551615");
    }

    /// `_base.pod: .nan` was reported as "not null" (serde_json turns NaN into null).
    #[test]
    fn nan_and_infinities_are_named() {
        let e = parse_metrics("_base:\n  pod: .nan\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "metrics: _base.pod: NaN is not a usable metric value (expressions need a finite number)"
        );
        for (text, what) in [
            ("{a: .NaN}", "NaN"),
            ("{a: .inf}", "+Inf"),
            ("{a: +.Inf}", "+Inf"),
            ("{a: -.INF}", "-Inf"),
            ("{a: 1e999}", "the string \"1e999\" (+Inf)"),
            ("{\"a\": -1e999}", "the string \"-1e999\" (-Inf)"),
            ("{a: 1.0e+999}", "the string \"1.0e+999\" (+Inf)"),
            ("{a: NaN}", "the string \"NaN\" (NaN)"),
            ("{a: \"+Inf\"}", "the string \"+Inf\" (+Inf)"),
            ("{a: -inf}", "the string \"-inf\" (-Inf)"),
            ("{a: Infinity}", "the string \"Infinity\" (+Inf)"),
        ] {
            let e = parse_metrics(text).unwrap_err();
            assert_eq!(e.len(), 1, "{text}");
            let msg = &e.0[0].message;
            assert!(msg.starts_with(what), "{text}: {msg}");
            assert_eq!(e.0[0].path, "a");
        }
        // Finite values around them still parse.
        let m = parse_metrics("{a: 1.5e300, b: \"Info\", c: -0.0}").unwrap();
        assert_eq!(m["b"], "Info");
        assert_eq!(m["c"], "-0");
    }
}
