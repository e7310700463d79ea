//! Global descriptors → the envoyproxy/ratelimit config (mesh-envoy's one RLS model) in its
//! ConfigMap, merged with the existing ConfigMap's entries of SmartLimiters not rendered now.

use std::collections::{BTreeMap, BTreeSet};

use mesh_envoy::k8s::ConfigMap;
use mesh_envoy::rls::{KEY_ORDER, RlsConfig, RlsDescriptor, RlsRateLimit, Unit};
use serde_json::Value;

use super::items::{Item, kinds};
use crate::error::Problem;
use crate::options::ModuleConfig;
use crate::rules::k8s;
use crate::yaml;

/// Slime's `generateGlobalRateLimitDescriptor` for one global descriptor (per-descriptor
/// `present_match_separate`, not per set).
pub(super) fn global_descriptor(it: &Item) -> RlsDescriptor {
    let rl = Some(RlsRateLimit {
        requests_per_unit: it.quota,
        unit: Some(Unit::from_seconds(it.fill.as_secs()).unwrap_or(Unit::Day)),
        ..RlsRateLimit::default()
    });
    let d = |key: &str, value: &str, rate_limit: Option<RlsRateLimit>, descriptors| RlsDescriptor {
        key: key.into(),
        value: value.into(),
        rate_limit,
        descriptors,
        ..RlsDescriptor::default()
    };
    let v = &it.value;
    if it.warped.matches.is_empty() {
        return d("generic_key", v, rl, vec![]);
    }
    let u = kinds(&it.warped);
    if u.separate.is_some() {
        return d("generic_key", v, None, vec![d(&it.key, "", rl, vec![])]);
    }
    let ip = u.source_ip.map(|ip| {
        d(
            "generic_key",
            v,
            None,
            vec![d("remote_address", ip, rl.clone(), vec![])],
        )
    });
    let header = u.header.then(|| match &ip {
        Some(ipd) => d("header_match", v, None, vec![ipd.clone()]),
        None => d("header_match", v, rl.clone(), vec![]),
    });
    if u.query {
        return match (&header, &ip) {
            (Some(h), _) => d("query_match", v, None, vec![h.clone()]),
            (None, Some(i)) => d("query_match", v, None, vec![i.clone()]),
            (None, None) => d("query_match", v, rl, vec![]),
        };
    }
    header.or(ip).expect("a matcher of a supported kind")
}

/// Which SmartLimiter (`name`, `namespace`) generated an RLS descriptor value, parsed exactly.
pub(super) fn owner_of(value: &str) -> Option<(String, String)> {
    let inner = value
        .strip_prefix("Service[")
        .or_else(|| value.strip_prefix("RequestHeader["))?;
    let (svc, rest) = inner.split_once(']')?;
    rest.strip_prefix("-Id[")?
        .strip_suffix(']')?
        .parse::<u32>()
        .ok()?;
    let (name, ns) = svc.rsplit_once('.')?;
    Some((name.to_string(), ns.to_string()))
}

/// The RLS ConfigMap: the existing one (if given) with the entries of the SmartLimiters in
/// `owned` replaced by `new`.
pub(super) fn rls_config_map(
    module: &ModuleConfig,
    existing: Option<&(String, Value)>,
    owned: &BTreeSet<(String, String)>,
    new: Vec<RlsDescriptor>,
) -> Result<ConfigMap, Problem> {
    let mut descriptors = Vec::new();
    let mut cm = ConfigMap::new(
        module.rls_config_map_name.clone(),
        module.rls_config_map_namespace.clone(),
    );
    if let Some((id, doc)) = existing {
        cm = serde_json::from_value(doc.clone()).map_err(|e| Problem {
            object: id.clone(),
            path: String::new(),
            message: format!("not a ConfigMap: {e}"),
        })?;
        if let Some(text) = cm.data.get("config.yaml") {
            let cfg: RlsConfig = serde_norway::from_str(text).map_err(|e| Problem {
                object: id.clone(),
                path: "data[\"config.yaml\"]".into(),
                message: format!("not an envoyproxy/ratelimit config: {e}"),
            })?;
            if cfg.domain != module.domain {
                return Err(Problem {
                    object: id.clone(),
                    path: "data[\"config.yaml\"].domain".into(),
                    message: format!(
                        "{:?} differs from the module domain {:?}",
                        cfg.domain, module.domain
                    ),
                });
            }
            // Drop exactly the entries owned by the SmartLimiters rendered now (Slime used a
            // substring test on `<name>.<ns>`, which also dropped other services' entries).
            descriptors.extend(
                cfg.descriptors
                    .into_iter()
                    .filter(|d| owner_of(&d.value).is_none_or(|o| !owned.contains(&o))),
            );
        }
    }
    descriptors.extend(new);
    descriptors.sort_by(|a, b| a.value.cmp(&b.value));
    let cfg = RlsConfig {
        domain: module.domain.clone(),
        descriptors,
    };
    // Slime's field order (domain first); the YAML 1.1-safe emitter, since the RLS reads it with
    // a YAML 1.1 parser.
    let text = yaml::to_yaml_ordered(
        &serde_json::to_value(&cfg).expect("RLS config serializes"),
        KEY_ORDER,
    );
    if text.len() > k8s::MAX_CONFIG_MAP_BYTES {
        return Err(Problem {
            object: format!(
                "{}/{}",
                module.rls_config_map_namespace, module.rls_config_map_name
            ),
            path: "data[\"config.yaml\"]".into(),
            message: format!(
                "the RLS config is {} bytes; the API server accepts at most {} bytes of ConfigMap data (split the global limits over fewer descriptors)",
                text.len(),
                k8s::MAX_CONFIG_MAP_BYTES
            ),
        });
    }
    cm.data = BTreeMap::from([("config.yaml".to_string(), text)]);
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "generation",
        "managedFields",
    ] {
        cm.metadata.extra.remove(k);
    }
    Ok(cm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_parsed_exactly() {
        assert_eq!(
            owner_of("Service[reviews.default]-Id[12]"),
            Some(("reviews".into(), "default".into()))
        );
        assert_eq!(
            owner_of("RequestHeader[a.b.prod]-Id[1]"),
            Some(("a.b".into(), "prod".into()))
        );
        assert_eq!(owner_of("Service[reviews.default]-Id[x]"), None);
        assert_eq!(owner_of("my-own-descriptor"), None);
    }
}
