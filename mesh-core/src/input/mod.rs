//! The shared input stream of a render: the documents (with `List` items expanded), sorted by
//! kind into the objects each translator family reads (SmartLimiters for `slime::limiter`) and
//! the [`World`] of objects they look things up in (Services, ServiceEntries, DestinationRules,
//! indexed by host; the RLS ConfigMap). A new family adds its kinds in [`read`].

mod index;

use serde_json::Value;

use crate::error::Problem;
use crate::options::RenderOptions;

pub(crate) use index::{Subset, World};

/// The documents of one render, by use.
#[derive(Debug, Default)]
pub(crate) struct Documents<'a> {
    /// SmartLimiters with their object ids (`namespace/name` or `document N`), in input order.
    pub(crate) smart_limiters: Vec<(String, &'a Value)>,
    /// The looked-up objects, indexed.
    pub(crate) world: World,
    /// Documents that are not Kubernetes objects.
    pub(crate) problems: Vec<Problem>,
    /// Documents of kinds no translator reads.
    pub(crate) warnings: Vec<String>,
}

/// Sorts the documents by kind (expanding `List`s in place, after the documents before them).
pub(crate) fn read<'a>(docs: &'a [Value], options: &RenderOptions) -> Documents<'a> {
    let mut out = Documents::default();
    let world = &mut out.world;
    let mut queue: Vec<(usize, &Value)> = docs.iter().enumerate().collect();
    let mut qi = 0;
    while qi < queue.len() {
        let (i, doc) = queue[qi];
        qi += 1;
        let id = object_id(doc, i);
        let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
            out.problems.push(Problem {
                object: id,
                path: "kind".into(),
                message: "required: every document must be a Kubernetes object".into(),
            });
            continue;
        };
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        match kind {
            "SmartLimiter" => out.smart_limiters.push((id, doc)),
            "Service" if api == "v1" => world.services.push(index::service(doc)),
            "DestinationRule" if api.starts_with("networking.istio.io/") => world
                .destination_rules
                .push(index::destination_rule(doc, id)),
            "ServiceEntry" if api.starts_with("networking.istio.io/") => {
                world.service_entries.push(index::service_entry(doc))
            }
            "ConfigMap"
                if api == "v1"
                    && meta_str(doc, "name") == options.module.rls_config_map_name
                    && namespace_of(doc) == options.module.rls_config_map_namespace =>
            {
                world.rls_config_map = Some((id, doc.clone()))
            }
            "List" => {
                if let Some(items) = doc.get("items").and_then(Value::as_array) {
                    queue.extend(items.iter().map(|it| (i, it)));
                }
            }
            _ => out.warnings.push(format!(
                "{id}: {kind} ignored (not used by SmartLimiter rendering)"
            )),
        }
    }
    world.build_indexes();
    out
}

/// `namespace/name` of a document, as used to prefix problems (`document N`, from 1, without a
/// name).
pub(crate) fn object_id(doc: &Value, index: usize) -> String {
    let meta = |field: &str| doc.get("metadata").and_then(|m| m.get(field));
    let name = meta("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        return format!("document {}", index + 1);
    }
    let ns = meta("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    format!("{ns}/{name}")
}

/// Istio's host normalization: `reviews` in namespace `default` → `reviews.default.svc.cluster.local`.
pub(crate) fn fqdn(host: &str, namespace: &str) -> String {
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
