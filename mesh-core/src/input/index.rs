//! The objects translators look things up in: Services (selectors), DestinationRules (subsets),
//! ServiceEntries (selectors for `spec.host`), indexed by host once per render, and the RLS
//! ConfigMap.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{fqdn, meta_str, namespace_of};

/// A k8s Service: its FQDN and selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceInfo {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) selector: BTreeMap<String, String>,
}

/// A DestinationRule subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subset {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
}

/// A DestinationRule: normalized host and subsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DestinationRuleInfo {
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) subsets: Vec<Subset>,
}

/// A ServiceEntry with a workload selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceEntryInfo {
    pub(crate) hosts: Vec<String>,
    pub(crate) selector: BTreeMap<String, String>,
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
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

/// The looked-up objects of one render, with their indexes.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) services: Vec<ServiceInfo>,
    pub(crate) destination_rules: Vec<DestinationRuleInfo>,
    pub(crate) service_entries: Vec<ServiceEntryInfo>,
    /// The existing RLS ConfigMap (its object id and document), merged into the rendered one.
    pub(crate) rls_config_map: Option<(String, Value)>,
    /// (namespace, name) → first Service with that name.
    service_index: HashMap<(String, String), usize>,
    /// FQDN → first Service with that host.
    service_by_host: HashMap<String, usize>,
    /// Host → first ServiceEntry (with a selector) listing it.
    entry_by_host: HashMap<String, usize>,
    /// Host → the DestinationRules for it, in input order.
    rules_by_host: HashMap<String, Vec<usize>>,
}

impl World {
    /// Indexes the inputs once, so that each limiter's lookups cost O(1) rather than a scan of
    /// every input (which made rendering quadratic in the number of objects). First match wins,
    /// as with a scan in input order.
    pub(crate) fn build_indexes(&mut self) {
        for (i, s) in self.services.iter().enumerate() {
            self.service_index
                .entry((s.namespace.clone(), s.name.clone()))
                .or_insert(i);
            self.service_by_host
                .entry(fqdn(&s.name, &s.namespace))
                .or_insert(i);
        }
        for (i, se) in self.service_entries.iter().enumerate() {
            if se.selector.is_empty() {
                continue;
            }
            for h in &se.hosts {
                self.entry_by_host.entry(h.clone()).or_insert(i);
            }
        }
        for (i, dr) in self.destination_rules.iter().enumerate() {
            self.rules_by_host
                .entry(dr.host.clone())
                .or_default()
                .push(i);
        }
    }

    /// The Service `namespace/name`.
    pub(crate) fn service(&self, namespace: &str, name: &str) -> Option<&ServiceInfo> {
        self.service_index
            .get(&(namespace.to_string(), name.to_string()))
            .map(|&i| &self.services[i])
    }

    /// The selector of the Service, else of the ServiceEntry (with a selector), for a host.
    pub(crate) fn selector_for_host(&self, host: &str) -> Option<&BTreeMap<String, String>> {
        let from_service = self
            .service_by_host
            .get(host)
            .map(|&i| &self.services[i].selector);
        from_service.or_else(|| {
            self.entry_by_host
                .get(host)
                .map(|&i| &self.service_entries[i].selector)
        })
    }

    /// Every DestinationRule subset for a host, in input order.
    pub(crate) fn subsets(&self, host: &str) -> Vec<&Subset> {
        self.rules_by_host
            .get(host)
            .into_iter()
            .flatten()
            .flat_map(|&i| self.destination_rules[i].subsets.iter())
            .collect()
    }
}
