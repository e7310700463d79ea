//! The Kubernetes API server's rules for the names we read and write (apimachinery
//! `validation.IsDNS1123Subdomain`, `IsDNS1123Label`, `IsQualifiedName`, `IsValidLabelValue`),
//! and its size limit for ConfigMaps.
//!
//! Object names (SmartLimiter, EnvoyFilter, ConfigMap) are DNS-1123 subdomains of at most 253
//! characters; namespaces are DNS-1123 labels of at most 63. Label keys are an optional DNS
//! subdomain prefix and `/`, then a name of at most 63 characters of `[A-Za-z0-9_.-]` that starts
//! and ends alphanumeric; label values are empty or such a name.

/// Longest DNS-1123 subdomain (object names).
pub const MAX_SUBDOMAIN: usize = 253;
/// Longest DNS-1123 label (namespaces) and label name or value.
pub const MAX_LABEL: usize = 63;
/// Largest total `data` of a ConfigMap (`validation.ValidateConfigMap`: 1 MiB).
pub const MAX_CONFIG_MAP_BYTES: usize = 1024 * 1024;

fn too_long(s: &str, max: usize) -> Option<String> {
    (s.len() > max).then(|| format!("is {} characters long; at most {max} allowed", s.len()))
}

fn label_ok(l: &[u8]) -> bool {
    !l.is_empty()
        && l.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && l[0] != b'-'
        && l[l.len() - 1] != b'-'
}

/// A DNS-1123 subdomain: object names such as `reviews.default.ratelimit`.
pub fn subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(e) = too_long(name, MAX_SUBDOMAIN) {
        return Err(e);
    }
    if name.split('.').all(|l| label_ok(l.as_bytes())) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (the API server rejects it)"
        ))
    }
}

/// A DNS-1123 label: namespaces.
pub fn label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(e) = too_long(name, MAX_LABEL) {
        return Err(e);
    }
    if label_ok(name.as_bytes()) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (the API server rejects it)"
        ))
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label key (`app`, `istio.io/rev`).
pub fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && let Err(e) = subdomain(p)
    {
        return Err(format!("label key {key:?}: prefix {e}"));
    }
    if name.len() > MAX_LABEL {
        return Err(format!(
            "label key {key:?}: the name part is {} characters long; at most {MAX_LABEL} allowed",
            name.len()
        ));
    }
    if qualified_part(name) {
        Ok(())
    } else {
        Err(format!(
            "label key {key:?} is not valid: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

/// A label value (empty allowed).
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || qualified_part(value) {
        Ok(())
    } else if value.len() > MAX_LABEL {
        Err(format!(
            "label value of {} characters; at most {MAX_LABEL} allowed",
            value.len()
        ))
    } else {
        Err(format!(
            "label value {value:?} is not valid: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        for ok in [
            "reviews",
            "reviews.default.ratelimit",
            "a",
            "0-9.x",
            &"a".repeat(253),
        ] {
            assert_eq!(subdomain(ok), Ok(()), "{ok}");
        }
        assert!(
            subdomain(&"a".repeat(254))
                .unwrap_err()
                .contains("254 characters")
        );
        assert!(subdomain(&"a".repeat(10_000)).is_err());
        for bad in [
            "Reviews_Service!",
            "Reviews",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a.",
            "a_b",
            "",
        ] {
            assert!(subdomain(bad).is_err(), "{bad}");
        }
        assert!(
            subdomain("Reviews_Service!")
                .unwrap_err()
                .contains("not a DNS-1123 subdomain")
        );
    }

    #[test]
    fn labels() {
        assert_eq!(label("default"), Ok(()));
        assert_eq!(label(&"n".repeat(63)), Ok(()));
        assert!(
            label(&"n".repeat(64))
                .unwrap_err()
                .contains("64 characters")
        );
        for bad in ["a.b", "Default", "-a", "", "a_b"] {
            assert!(label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_keys_and_values() {
        for ok in [
            "app",
            "istio.io/rev",
            "App_Name.v-1",
            "a/b",
            &"k".repeat(63),
        ] {
            assert_eq!(label_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "-app",
            "app-",
            "a b",
            "Istio.io/rev",
            "a/b/c",
            &"k".repeat(64),
        ] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        let long_prefix = format!("{}/app", "p".repeat(254));
        assert!(label_key(&long_prefix).unwrap_err().contains("prefix"));
        for ok in ["", "v1", "1.2.3", "canary_A", &"v".repeat(63)] {
            assert_eq!(label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["-v", "v-", "a b", "v/1", &"v".repeat(64)] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }
}
