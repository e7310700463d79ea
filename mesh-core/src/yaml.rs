//! Multi-document YAML in and out (serde_norway, a maintained libyaml-based serde_yaml fork).

use serde::Deserialize;
use serde_json::Value;

/// Parses every document of a multi-document YAML (or JSON) text. Empty documents are skipped.
/// `Err` carries a readable message with the document number.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(de).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Emits values as a multi-document YAML stream (`---` between documents). Map keys are emitted
/// in sorted order, as Kubernetes prints objects.
pub fn emit_documents(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

/// One document as YAML.
pub fn to_yaml(v: &Value) -> String {
    serde_norway::to_string(&Sorted(v)).expect("JSON values always serialize to YAML")
}

/// Serializes a JSON value with map keys sorted, whatever the map implementation.
struct Sorted<'a>(&'a Value);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut map = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    map.serialize_entry(k, &Sorted(&m[k]))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&Sorted(x))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_multi_document() {
        let docs = parse_documents("a: 1\n---\n---\nb: [x, '1']\n").unwrap();
        assert_eq!(docs.len(), 2);
        let text = emit_documents(&docs);
        assert_eq!(text, "a: 1\n---\nb:\n- x\n- '1'\n");
        assert_eq!(parse_documents(&text).unwrap(), docs);
        assert!(
            parse_documents("a: [")
                .unwrap_err()
                .starts_with("document 1:")
        );
    }
}
