//! The envoyproxy/ratelimit service configuration (`config.yaml` of its ConfigMap): ONE model
//! for the side that writes it (mesh-core renders it for global SmartLimiters) and the side that
//! enforces it (mesh-limiter's Redis-backed global limiter).
//!
//! ```yaml
//! domain: mongo_cps
//! descriptors:
//! - key: database
//!   value: users
//!   rate_limit: {unit: second, requests_per_unit: 500}
//! - key: remote_address          # no value: any value, one counter per value
//!   rate_limit: {unit: minute, requests_per_unit: 10}
//!   descriptors:
//!   - {key: path, value: /login, rate_limit: {unit: hour, requests_per_unit: 3}}
//! ```
//!
//! Units are written upper-case (`MINUTE`, as Slime does) and read in any case (as the service
//! does). Unknown fields are rejected, so a typo cannot silently drop a limit.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A ratelimit service config for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlsConfig {
    pub domain: String,
    #[serde(default)]
    pub descriptors: Vec<RlsDescriptor>,
}

/// One node of the descriptor tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlsDescriptor {
    pub key: String,
    /// Empty or absent: any value (each value counted separately).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RlsRateLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<RlsDescriptor>,
    /// Over-limit decisions are reported but not enforced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow_mode: bool,
    /// Per-value stats in the service (no effect on decisions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detailed_metric: bool,
}

/// `rate_limit` of a descriptor node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlsRateLimit {
    #[serde(default)]
    pub requests_per_unit: u32,
    /// Required unless `unlimited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// Matched but never counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlimited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A window unit (the window start is `unix_seconds / seconds * seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
}

impl Unit {
    /// All units, shortest first.
    pub const ALL: [Unit; 4] = [Unit::Second, Unit::Minute, Unit::Hour, Unit::Day];

    /// Window length in seconds.
    pub fn divider(self) -> u64 {
        match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3600,
            Unit::Day => 86_400,
        }
    }

    /// The unit of a window of `seconds`, if there is one.
    pub fn from_seconds(seconds: u64) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.divider() == seconds)
    }

    /// The name as written (`SECOND`, `MINUTE`, `HOUR`, `DAY`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Second => "SECOND",
            Unit::Minute => "MINUTE",
            Unit::Hour => "HOUR",
            Unit::Day => "DAY",
        }
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Unit::ALL
            .into_iter()
            .find(|u| u.name().eq_ignore_ascii_case(&s))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown rate limit unit {s:?} (second, minute, hour, day)"
                ))
            })
    }
}

/// The key order the service's own examples (and Slime) use, for emitters that take one.
pub const KEY_ORDER: &[&str] = &[
    "domain",
    "key",
    "value",
    "rate_limit",
    "requests_per_unit",
    "unit",
    "descriptors",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_in_any_case_and_write_upper_case() {
        let rl: RlsRateLimit =
            serde_json::from_str(r#"{"unit":"minute","requests_per_unit":3}"#).unwrap();
        assert_eq!(rl.unit, Some(Unit::Minute));
        assert_eq!(
            serde_json::to_string(&rl).unwrap(),
            r#"{"requests_per_unit":3,"unit":"MINUTE"}"#
        );
        assert!(serde_json::from_str::<RlsRateLimit>(r#"{"unit":"week"}"#).is_err());
        assert_eq!(Unit::from_seconds(3600), Some(Unit::Hour));
        assert_eq!(Unit::from_seconds(2), None);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_str::<RlsConfig>(r#"{"domain":"d","descriptor":[]}"#).is_err());
        let c: RlsConfig = serde_json::from_str(
            r#"{"domain":"d","descriptors":[{"key":"k","shadow_mode":true,"rate_limit":{"unlimited":true}}]}"#,
        )
        .unwrap();
        assert!(c.descriptors[0].shadow_mode);
        assert!(c.descriptors[0].value.is_empty());
    }
}
