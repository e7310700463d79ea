//! Decoding SmartLimiters from JSON values, collecting every problem with its field path.
//!
//! Slime parses with `jsonpb` and `AllowUnknownFields`: proto names and lowerCamel names are both
//! accepted and anything unknown is dropped silently. Here both spellings are accepted too, but
//! an unknown field is an error unless the caller allows them, a field given under both
//! spellings is an error, and a wrong type names the field and what it should be.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kube_core::{CustomResourceExt, ObjectMeta};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::model::*;
use crate::error::Sink;

/// Decodes one SmartLimiter document, best effort: problems go to `sink` and the fields that
/// failed keep their defaults.
pub(crate) fn smart_limiter(doc: &Value, allow_unknown: bool, sink: &mut Sink) -> SmartLimiter {
    let mut d = Decoder {
        allow_unknown,
        sink,
    };
    let empty = Map::new();
    let root = doc.as_object().unwrap_or(&empty);
    let mut top = Obj::new(root, "");
    let api_version = top.take(&["apiVersion"]);
    let _ = top.take(&["kind"]);
    let metadata = top.take(&["metadata"]);
    let spec = top.take(&["spec"]);
    let _status = top.take(&["status"]);
    d.finish(top);
    if let Some((v, p)) = api_version
        && v.as_str() != Some("microservice.slime.io/v1alpha2")
    {
        d.err(
            &p,
            format!(
                "{v} is not supported: only microservice.slime.io/v1alpha2 (Slime's only served version)"
            ),
        );
    }
    let meta = metadata_of(metadata.map(|(v, _)| v));
    let spec = match spec {
        Some((v, p)) => d.spec(v, &p),
        None => {
            d.err("spec", "required");
            SmartLimiterSpec::default()
        }
    };
    SmartLimiter {
        metadata: meta,
        spec,
        status: None,
    }
}

/// Name, namespace (default `default`), labels and uid; other metadata is kept as given.
fn metadata_of(v: Option<&Value>) -> ObjectMeta {
    let mut meta: ObjectMeta = v
        .and_then(|v| ObjectMeta::deserialize(v).ok())
        .unwrap_or_default();
    if meta.namespace.as_deref().unwrap_or("").is_empty() {
        meta.namespace = Some("default".into());
    }
    meta
}

struct Obj<'v> {
    map: &'v Map<String, Value>,
    path: String,
    seen: Vec<&'v str>,
}

impl<'v> Obj<'v> {
    fn new(map: &'v Map<String, Value>, path: &str) -> Self {
        Obj {
            map,
            path: path.to_string(),
            seen: Vec::new(),
        }
    }

    fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value under the first present spelling (null counts as absent).
    fn take(&mut self, names: &[&str]) -> Option<(&'v Value, String)> {
        let mut found: Option<(&'v Value, String)> = None;
        for (k, v) in self.map.iter() {
            if names.contains(&k.as_str()) {
                self.seen.push(k.as_str());
                if v.is_null() {
                    continue;
                }
                if found.is_none() {
                    found = Some((v, self.child(k)));
                }
            }
        }
        found
    }

    fn both_spellings(&self, names: &[&str]) -> Option<String> {
        let given = |n: &str| self.map.get(n).is_some_and(|v| !v.is_null());
        // Common case first: at most one spelling given, nothing to report.
        names.iter().filter(|n| given(n)).nth(1)?;
        let present: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.map.get(*n).is_some_and(|v| !v.is_null()))
            .collect();
        (present.len() > 1).then(|| {
            format!(
                "given twice, as {}",
                present
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        })
    }
}

fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => [path, ".", key].concat(),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

struct Decoder<'a, 'b> {
    allow_unknown: bool,
    sink: &'a mut Sink<'b>,
}

impl Decoder<'_, '_> {
    fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.sink.err(path, msg);
    }

    fn finish(&mut self, obj: Obj<'_>) {
        if self.allow_unknown {
            return;
        }
        for k in obj.map.keys() {
            if !obj.seen.contains(&k.as_str()) {
                let hint = suggestion(k)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    &obj.child(k),
                    format!("unknown field{hint}; Slime would ignore it silently"),
                );
            }
        }
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<Obj<'v>> {
        match v {
            Value::Object(m) => Some(Obj::new(m, path)),
            other => {
                self.err(path, format!("must be a map, not {}", kind(other)));
                None
            }
        }
    }

    fn field<'v>(&mut self, obj: &mut Obj<'v>, names: &[&str]) -> Option<(&'v Value, String)> {
        debug_assert!(
            known_fields().iter().any(|k| k == names[0]),
            "{} is read but not in the CRD schema",
            names[0]
        );
        if let Some(msg) = obj.both_spellings(names) {
            let p = obj.child(names[0]);
            self.err(&p, msg);
        }
        obj.take(names)
    }

    fn string(&mut self, obj: &mut Obj<'_>, names: &[&str]) -> String {
        match self.field(obj, names) {
            None => String::new(),
            Some((Value::String(s), _)) => s.clone(),
            Some((other, p)) => {
                self.err(&p, not_a_string(other));
                String::new()
            }
        }
    }

    /// A string that must be one of an enum's spellings (`Default` when it is not).
    fn string_enum<T: Default>(
        &mut self,
        v: &Value,
        path: &str,
        parse: fn(&str) -> Option<T>,
        unknown: impl FnOnce(&str) -> String,
    ) -> T {
        match v {
            Value::String(s) => parse(s).unwrap_or_else(|| {
                self.err(path, unknown(s));
                T::default()
            }),
            other => {
                self.err(path, not_a_string(other));
                T::default()
            }
        }
    }

    fn boolean(&mut self, obj: &mut Obj<'_>, names: &[&str]) -> bool {
        match self.field(obj, names) {
            None => false,
            Some((Value::Bool(b), _)) => *b,
            Some((other, p)) => {
                self.err(&p, format!("must be true or false, not {}", kind(other)));
                false
            }
        }
    }

    fn int32(&mut self, obj: &mut Obj<'_>, names: &[&str]) -> i32 {
        let Some((v, p)) = self.field(obj, names) else {
            return 0;
        };
        let parsed: Option<i64> = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            // protojson accepts quoted integers (older Slime status wrote `seconds: "60"`).
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if i32::try_from(n).is_ok() => n as i32,
            Some(n) => {
                self.err(&p, format!("{n} does not fit in int32"));
                0
            }
            None => {
                let hint = match v.as_str() {
                    Some(s) if s.ends_with('s') => {
                        " (Slime's fill_interval is {seconds: N, nanos: N}, not a duration string)"
                    }
                    _ => "",
                };
                self.err(&p, format!("must be an integer, not {}{hint}", kind(v)));
                0
            }
        }
    }

    fn string_map(&mut self, v: &Value, path: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(obj) = self.object(v, path) else {
            return out;
        };
        for (k, v) in obj.map {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                other => self.err(
                    &join(path, k),
                    format!("must be a string, not {}", kind(other)),
                ),
            }
        }
        out
    }

    fn list<'v>(&mut self, v: &'v Value, path: &str) -> &'v [Value] {
        match v {
            Value::Array(a) => a,
            other => {
                self.err(path, format!("must be a list, not {}", kind(other)));
                &[]
            }
        }
    }

    fn spec(&mut self, v: &Value, path: &str) -> SmartLimiterSpec {
        let mut spec = SmartLimiterSpec::default();
        let Some(mut obj) = self.object(v, path) else {
            return spec;
        };
        if let Some((sets, p)) = self.field(&mut obj, &["sets"])
            && let Some(sets_obj) = self.object(sets, &p)
        {
            for (name, set) in sets_obj.map {
                let sp = join(&p, name);
                spec.sets.insert(name.clone(), self.set(set, &sp));
            }
        }
        spec.rls = self.string(&mut obj, &["rls"]);
        if let Some((ws, p)) = self.field(&mut obj, &["workloadSelector", "workload_selector"]) {
            spec.workload_selector = self.string_map(ws, &p);
        }
        spec.gateway = self.boolean(&mut obj, &["gateway"]);
        spec.host = self.string(&mut obj, &["host"]);
        if let Some((t, p)) = self.field(&mut obj, &["target"]) {
            spec.target = Some(self.target(t, &p));
        }
        self.finish(obj);
        spec
    }

    fn set(&mut self, v: &Value, path: &str) -> SmartLimitDescriptors {
        let mut out = SmartLimitDescriptors::default();
        let Some(mut obj) = self.object(v, path) else {
            return out;
        };
        if let Some((list, p)) = self.field(&mut obj, &["descriptor"]) {
            for (i, d) in self.list(list, &p).iter().enumerate() {
                let dp = format!("{p}[{i}]");
                out.descriptor.push(self.descriptor(d, &dp));
            }
        }
        self.finish(obj);
        out
    }

    fn descriptor(&mut self, v: &Value, path: &str) -> SmartLimitDescriptor {
        let mut d = SmartLimitDescriptor::default();
        let Some(mut obj) = self.object(v, path) else {
            return d;
        };
        d.condition = self.string(&mut obj, &["condition"]);
        if let Some((a, p)) = self.field(&mut obj, &["action"]) {
            d.action = Some(self.action(a, &p));
        }
        if let Some((m, p)) = self.field(&mut obj, &["match"]) {
            for (i, m) in self.list(m, &p).iter().enumerate() {
                let mp = format!("{p}[{i}]");
                d.matches.push(self.matcher(m, &mp));
            }
        }
        if let Some((t, p)) = self.field(&mut obj, &["target"]) {
            d.target = Some(self.target(t, &p));
        }
        d.custom_key = self.string(&mut obj, &["custom_key", "customKey"]);
        d.custom_value = self.string(&mut obj, &["custom_value", "customValue"]);
        self.finish(obj);
        d
    }

    fn action(&mut self, v: &Value, path: &str) -> SmartLimitAction {
        let mut a = SmartLimitAction::default();
        let Some(mut obj) = self.object(v, path) else {
            return a;
        };
        a.quota = self.string(&mut obj, &["quota"]);
        if let Some((f, p)) = self.field(&mut obj, &["fill_interval", "fillInterval"]) {
            if let Value::String(s) = f {
                self.err(
                    &p,
                    format!(
                        "must be {{seconds: N, nanos: N}}, not the string {s:?} (Slime's own Duration message)"
                    ),
                );
            } else if let Some(mut fo) = self.object(f, &p) {
                let seconds = self.int32(&mut fo, &["seconds"]);
                let nanos = self.int32(&mut fo, &["nanos"]);
                self.finish(fo);
                a.fill_interval = Some(FillInterval { seconds, nanos });
            }
        }
        if let Some((v, p)) = self.field(&mut obj, &["strategy"]) {
            a.strategy = self.string_enum(v, &p, Strategy::parse, |other| {
                format!("{other:?} is not a strategy: use single, average (both local) or global")
            });
        }
        if let Some((h, p)) = self.field(&mut obj, &["headers_to_add", "headersToAdd"]) {
            for (i, h) in self.list(h, &p).iter().enumerate() {
                let hp = format!("{p}[{i}]");
                if let Some(mut ho) = self.object(h, &hp) {
                    let key = self.string(&mut ho, &["key"]);
                    let value = self.string(&mut ho, &["value"]);
                    self.finish(ho);
                    a.headers_to_add.push(Header { key, value });
                }
            }
        }
        self.finish(obj);
        a
    }

    fn matcher(&mut self, v: &Value, path: &str) -> Matcher {
        let mut m = Matcher::default();
        let Some(mut obj) = self.object(v, path) else {
            return m;
        };
        m.name = self.string(&mut obj, &["name"]);
        m.regex_match = self.string(&mut obj, &["regex_match", "regexMatch"]);
        m.exact_match = self.string(&mut obj, &["exact_match", "exactMatch"]);
        m.prefix_match = self.string(&mut obj, &["prefix_match", "prefixMatch"]);
        m.suffix_match = self.string(&mut obj, &["suffix_match", "suffixMatch"]);
        m.present_match = self.boolean(&mut obj, &["present_match", "presentMatch"]);
        m.invert_match = self.boolean(&mut obj, &["invert_match", "invertMatch"]);
        m.is_exact_match_empty =
            self.boolean(&mut obj, &["is_exact_match_empty", "isExactMatchEmpty"]);
        m.present_match_separate = self.boolean(
            &mut obj,
            &["present_match_separate", "presentMatchSeparate"],
        );
        m.use_query_match = self.boolean(&mut obj, &["useQueryMatch"]);
        if let Some((s, p)) = self.field(&mut obj, &["matchSource"]) {
            let parsed = match s {
                Value::String(name) => MatchSource::ALL.into_iter().find(|x| x.name() == name),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|i| MatchSource::ALL.get(i as usize).copied()),
                _ => None,
            };
            match parsed {
                Some(src) => m.match_source = src,
                None => self.err(
                    &p,
                    format!(
                        "{s} is not a match source: HeadMatch (0), QueryMatch (1), JsonBodyMatch (2) or SourceIpMatch (3)"
                    ),
                ),
            }
        }
        self.finish(obj);
        m
    }

    fn target(&mut self, v: &Value, path: &str) -> Target {
        let mut t = Target::default();
        let Some(mut obj) = self.object(v, path) else {
            return t;
        };
        if let Some((v, p)) = self.field(&mut obj, &["direction"]) {
            t.direction = self.string_enum(v, &p, Direction::parse, |other| {
                format!("{other:?} is not a direction: use inbound or outbound")
            });
        }
        t.port = self.int32(&mut obj, &["port"]);
        for (field, out) in [("route", &mut t.route), ("host", &mut t.host)] {
            if let Some((l, p)) = self.field(&mut obj, &[field]) {
                for (i, item) in self.list(l, &p).iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.err(
                            &format!("{p}[{i}]"),
                            format!("must be a string, not {}", kind(other)),
                        ),
                    }
                }
            }
        }
        self.finish(obj);
        t
    }
}

/// Every field name of the SmartLimiter (the Kubernetes envelope and every property of the
/// CRD's `spec` schema, which is generated from the model), for "did you mean".
fn known_fields() -> &'static [String] {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let crd = serde_json::to_value(SmartLimiter::crd()).expect("the CRD serializes");
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut out: Vec<String> = ["apiVersion", "kind", "metadata", "spec", "status"]
            .map(String::from)
            .into();
        schema_properties(&root["properties"]["spec"], &mut out);
        out
    })
}

/// The property names of a schema and of every schema inside it, depth first.
fn schema_properties(schema: &Value, out: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            if !out.contains(name) {
                out.push(name.clone());
            }
            schema_properties(sub, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get(key) {
            schema_properties(sub, out);
        }
    }
}

/// The known field closest to an unknown one: a case-insensitive match ignoring `_`, else the
/// nearest within edit distance 2.
fn suggestion(unknown: &str) -> Option<&'static str> {
    let norm = |s: &str| s.replace('_', "").to_ascii_lowercase();
    let u = norm(unknown);
    let known = known_fields();
    known
        .iter()
        .find(|k| norm(k) == u)
        .or_else(|| {
            // Lengths more than 2 apart are more than 2 edits apart: skipping them keeps a
            // hostile 1 MB key from costing an edit-distance table of 1 MB per known field.
            let chars = unknown.chars().count();
            known
                .iter()
                .filter(|k| k.chars().count().abs_diff(chars) <= 2)
                .map(|k| (edit_distance(k, unknown), k))
                .filter(|(d, _)| *d <= 2)
                .min_by_key(|(d, _)| *d)
                .map(|(_, k)| k)
        })
        .map(String::as_str)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// "must be a string", with a hint to quote a number or boolean.
fn not_a_string(v: &Value) -> String {
    let hint = match v {
        Value::Number(n) => format!(" (quote it: \"{n}\")"),
        Value::Bool(b) => format!(" (quote it: \"{b}\")"),
        _ => String::new(),
    };
    format!("must be a string, not {}{hint}", kind(v))
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_come_from_the_schema() {
        assert_eq!(suggestion("conditon"), Some("condition"));
        assert_eq!(suggestion("fillInterval"), Some("fill_interval"));
        assert_eq!(suggestion("exactmatch"), Some("exact_match"));
        assert_eq!(suggestion("workload_selector"), Some("workloadSelector"));
        assert_eq!(suggestion("headers_to_add"), Some("headers_to_add"));
        assert_eq!(suggestion("completely_different"), None);
        // Two multi-byte substitutions: 9 bytes, 5 characters, 2 edits from `quota`.
        assert_eq!(suggestion("qu€€a"), Some("quota"));
        // A 1 MB key is compared with no known field (each would cost a 1 MB table).
        assert_eq!(suggestion(&"x".repeat(1 << 20)), None);
        for f in [
            "descriptor",
            "matchSource",
            "useQueryMatch",
            "route",
            "nanos",
            "key",
        ] {
            assert!(known_fields().iter().any(|k| k == f), "{f}");
        }
    }
}
