//! The non-SmartLimiter objects a render reads: Services (selectors), DestinationRules
//! (subsets), ServiceEntries (selectors for `spec.host`) and the RLS ConfigMap.

use std::collections::BTreeMap;

use serde_json::Value;

/// A k8s Service: its FQDN and selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: String,
    pub namespace: String,
    pub selector: BTreeMap<String, String>,
}

/// A DestinationRule subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subset {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A DestinationRule: normalized host and subsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRuleInfo {
    pub id: String,
    pub host: String,
    pub subsets: Vec<Subset>,
}

/// A ServiceEntry with a workload selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntryInfo {
    pub hosts: Vec<String>,
    pub selector: BTreeMap<String, String>,
}

/// Istio's host normalization: `reviews` in namespace `default` → `reviews.default.svc.cluster.local`.
pub fn fqdn(host: &str, namespace: &str) -> String {
    if host.contains('*') || host.ends_with(".cluster.local") {
        return host.to_string();
    }
    match host.matches('.').count() {
        0 => format!("{host}.{namespace}.svc.cluster.local"),
        1 => format!("{host}.svc.cluster.local"),
        _ if host.ends_with(".svc") => format!("{host}.cluster.local"),
        _ => host.to_string(),
    }
}

pub(crate) fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn meta_str<'a>(doc: &'a Value, field: &str) -> &'a str {
    doc.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(crate) fn namespace_of(doc: &Value) -> String {
    let ns = meta_str(doc, "namespace");
    if ns.is_empty() {
        "default".into()
    } else {
        ns.into()
    }
}

pub(crate) fn service(doc: &Value) -> ServiceInfo {
    ServiceInfo {
        name: meta_str(doc, "name").to_string(),
        namespace: namespace_of(doc),
        selector: string_map(doc.get("spec").and_then(|s| s.get("selector"))),
    }
}

pub(crate) fn destination_rule(doc: &Value, id: String) -> DestinationRuleInfo {
    let ns = namespace_of(doc);
    let host = doc
        .pointer("/spec/host")
        .and_then(Value::as_str)
        .unwrap_or("");
    let subsets = doc
        .pointer("/spec/subsets")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| Subset {
                    name: s
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    labels: string_map(s.get("labels")),
                })
                .collect()
        })
        .unwrap_or_default();
    DestinationRuleInfo {
        id,
        host: fqdn(host, &ns),
        subsets,
    }
}

pub(crate) fn service_entry(doc: &Value) -> ServiceEntryInfo {
    let ns = namespace_of(doc);
    ServiceEntryInfo {
        hosts: doc
            .pointer("/spec/hosts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|h| fqdn(h, &ns))
                    .collect()
            })
            .unwrap_or_default(),
        selector: string_map(doc.pointer("/spec/workloadSelector/labels")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_normalization() {
        assert_eq!(
            fqdn("reviews", "default"),
            "reviews.default.svc.cluster.local"
        );
        assert_eq!(
            fqdn("reviews.prod", "default"),
            "reviews.prod.svc.cluster.local"
        );
        assert_eq!(
            fqdn("reviews.prod.svc", "default"),
            "reviews.prod.svc.cluster.local"
        );
        assert_eq!(fqdn("www.example.com", "default"), "www.example.com");
    }
}
