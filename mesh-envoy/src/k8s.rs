//! The Kubernetes envelope: object metadata and the core `ConfigMap`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `metadata` (the fields Meshplane writes; every other field is kept as given in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "ownerReferences",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_references: Option<Vec<OwnerReference>>,
    /// Fields not modelled here (annotations, uid, resourceVersion, ...), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `metadata.ownerReferences[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// A core/v1 `ConfigMap` (fields other than `data` are kept as given in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigMap {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ConfigMap {
    /// An empty ConfigMap.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        ConfigMap {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            metadata: ObjectMeta {
                name: name.into(),
                namespace: Some(namespace.into()),
                ..ObjectMeta::default()
            },
            data: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}
