//! The envoyproxy/ratelimit service configuration (its YAML shape, read here as JSON):
//!
//! ```json
//! {"domain": "mongo_cps",
//!  "descriptors": [
//!    {"key": "database", "value": "users", "rate_limit": {"unit": "second", "requests_per_unit": 500}},
//!    {"key": "remote_address", "rate_limit": {"unit": "minute", "requests_per_unit": 10},
//!     "descriptors": [{"key": "path", "value": "/login", "rate_limit": {"unit": "hour", "requests_per_unit": 3}}]}]}
//! ```
//!
//! Lookup walks the tree one request entry at a time, preferring the node with the same key
//! and value, then the node with the key and no value (any value); the request descriptor
//! gets the limit of the node reached by its last entry.

use std::collections::HashMap;

/// The config model (shared with mesh-core, which renders it), under the names this module has
/// always used.
pub use mesh_envoy::rls::{
    RlsConfig as GlobalConfig, RlsDescriptor as DescriptorNode, RlsRateLimit as RateLimit, Unit,
};

/// A limit resolved for one request descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLimit {
    pub unit: Unit,
    pub requests_per_unit: u32,
    pub unlimited: bool,
    pub shadow_mode: bool,
    pub name: Option<String>,
}

/// Config errors, with the node's path (`descriptors[1].descriptors[0]`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GlobalConfigError {
    #[error("invalid ratelimit config JSON: {0}")]
    Json(String),
    #[error("domain must not be empty")]
    EmptyDomain,
    #[error("{path}: descriptor key must not be empty")]
    EmptyKey { path: String },
    #[error("{path}: duplicate descriptor composite key {composite:?}")]
    Duplicate { path: String, composite: String },
    #[error("{path}: rate_limit needs a unit unless unlimited")]
    MissingUnit { path: String },
}

#[derive(Debug, Default)]
struct Level {
    by_key: HashMap<String, KeyNodes>,
}

#[derive(Debug, Default)]
struct KeyNodes {
    by_value: HashMap<String, Node>,
    any: Option<Box<Node>>,
}

#[derive(Debug)]
struct Node {
    limit: Option<ResolvedLimit>,
    children: Level,
}

/// The compiled descriptor tree.
#[derive(Debug)]
pub struct Rules {
    pub(crate) domain: String,
    root: Level,
}

fn build(nodes: &[DescriptorNode], path: &str) -> Result<Level, GlobalConfigError> {
    let mut level = Level::default();
    for (i, n) in nodes.iter().enumerate() {
        let here = format!("{path}descriptors[{i}]");
        if n.key.is_empty() {
            return Err(GlobalConfigError::EmptyKey { path: here });
        }
        let limit = match &n.rate_limit {
            None => None,
            Some(rl) => {
                let unit = match (rl.unit, rl.unlimited) {
                    (Some(u), _) => u,
                    (None, true) => Unit::Second,
                    (None, false) => return Err(GlobalConfigError::MissingUnit { path: here }),
                };
                Some(ResolvedLimit {
                    unit,
                    requests_per_unit: rl.requests_per_unit,
                    unlimited: rl.unlimited,
                    shadow_mode: n.shadow_mode,
                    name: rl.name.clone(),
                })
            }
        };
        let node = Node {
            limit,
            children: build(&n.descriptors, &format!("{here}."))?,
        };
        let slot = level.by_key.entry(n.key.clone()).or_default();
        let composite = match n.value.as_str() {
            v if !v.is_empty() => format!("{}_{}", n.key, v),
            _ => n.key.clone(),
        };
        let dup = match n.value.as_str() {
            v if !v.is_empty() => slot.by_value.insert(v.to_string(), node).is_some(),
            _ => slot.any.replace(Box::new(node)).is_some(),
        };
        if dup {
            return Err(GlobalConfigError::Duplicate {
                path: here,
                composite,
            });
        }
    }
    Ok(level)
}

impl Rules {
    /// Compiles a config.
    pub fn new(config: &GlobalConfig) -> Result<Self, GlobalConfigError> {
        if config.domain.is_empty() {
            return Err(GlobalConfigError::EmptyDomain);
        }
        Ok(Rules {
            domain: config.domain.clone(),
            root: build(&config.descriptors, "")?,
        })
    }

    /// Parses and compiles the JSON form of a ratelimit service config.
    pub fn from_json(json: &str) -> Result<Self, GlobalConfigError> {
        let c: GlobalConfig =
            serde_json::from_str(json).map_err(|e| GlobalConfigError::Json(e.to_string()))?;
        Self::new(&c)
    }

    /// The limit for one request descriptor, if any.
    pub fn lookup<E: crate::local::Entry>(&self, entries: &[E]) -> Option<&ResolvedLimit> {
        let mut level = &self.root;
        let mut found = None;
        for (i, e) in entries.iter().enumerate() {
            let k = level.by_key.get(e.key())?;
            let node = k.by_value.get(e.value()).or(k.any.as_deref())?;
            if i + 1 == entries.len() {
                found = node.limit.as_ref();
            }
            level = &node.children;
        }
        found
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"{"domain":"d","descriptors":[
        {"key":"database","value":"users","rate_limit":{"unit":"second","requests_per_unit":500}},
        {"key":"remote_address","rate_limit":{"unit":"MINUTE","requests_per_unit":10},
         "descriptors":[{"key":"path","value":"/login","rate_limit":{"unit":"hour","requests_per_unit":3}}]},
        {"key":"remote_address","value":"10.0.0.1","rate_limit":{"unlimited":true}}]}"#;

    #[test]
    fn lookup_prefers_exact_value_then_any() {
        let r = Rules::from_json(CFG).unwrap();
        let l = r.lookup(&[("database", "users")]).unwrap();
        assert_eq!((l.unit, l.requests_per_unit), (Unit::Second, 500));
        assert!(r.lookup(&[("database", "orders")]).is_none());
        let l = r.lookup(&[("remote_address", "1.2.3.4")]).unwrap();
        assert_eq!((l.unit, l.requests_per_unit), (Unit::Minute, 10));
        assert!(
            r.lookup(&[("remote_address", "10.0.0.1")])
                .unwrap()
                .unlimited
        );
        let l = r
            .lookup(&[("remote_address", "1.2.3.4"), ("path", "/login")])
            .unwrap();
        assert_eq!((l.unit, l.requests_per_unit), (Unit::Hour, 3));
        assert!(
            r.lookup(&[("remote_address", "1.2.3.4"), ("path", "/x")])
                .is_none()
        );
        // The exact 10.0.0.1 node has no children: no fallback to the wildcard branch.
        assert!(
            r.lookup(&[("remote_address", "10.0.0.1"), ("path", "/login")])
                .is_none()
        );
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            Rules::from_json(r#"{"domain":"","descriptors":[]}"#).unwrap_err(),
            GlobalConfigError::EmptyDomain
        );
        assert!(matches!(
            Rules::from_json(r#"{"domain":"d","descriptors":[{"key":"a","rate_limit":{"requests_per_unit":1}}]}"#),
            Err(GlobalConfigError::MissingUnit { path }) if path == "descriptors[0]"
        ));
        assert!(matches!(
            Rules::from_json(r#"{"domain":"d","descriptors":[{"key":"a","value":"1"},{"key":"a","value":"1"}]}"#),
            Err(GlobalConfigError::Duplicate { path, .. }) if path == "descriptors[1]"
        ));
        assert!(matches!(
            Rules::from_json(
                r#"{"domain":"d","descriptors":[{"key":"a","rate_limit":{"unit":"fortnight","requests_per_unit":1}}]}"#
            ),
            Err(GlobalConfigError::Json(_))
        ));
    }
}
