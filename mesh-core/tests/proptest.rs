//! Rendering never panics, whatever the spec.

use mesh_core::{RenderOptions, render_documents};
use proptest::prelude::*;
use serde_json::{Value, json};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-2i64..100000).prop_map(Value::from),
        "[a-z_:. 0-9/{}()+*<>|&-]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "true",
            "false",
            "global",
            "single",
            "outbound",
            "inbound",
            "QueryMatch",
            "SourceIpMatch",
            "JsonBodyMatch",
            "10.0.0.1,10.0.0.2",
            "{{._base.pod}}",
            "100/{{._base.pod}}",
            "a/b",
            "/foo",
            "60s",
            "",
        ])
        .prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "sets",
        "_base",
        "v1",
        "descriptor",
        "action",
        "quota",
        "fill_interval",
        "fillInterval",
        "seconds",
        "nanos",
        "strategy",
        "headers_to_add",
        "key",
        "value",
        "condition",
        "match",
        "name",
        "exact_match",
        "regex_match",
        "prefix_match",
        "suffix_match",
        "present_match",
        "invert_match",
        "is_exact_match_empty",
        "present_match_separate",
        "useQueryMatch",
        "matchSource",
        "target",
        "direction",
        "port",
        "route",
        "host",
        "custom_key",
        "custom_value",
        "workloadSelector",
        "gateway",
        "rls",
        "app",
    ])
    .prop_map(String::from)
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn render_never_panics(spec in value(), gateway in any::<bool>()) {
        let doc = json!({
            "apiVersion": "microservice.slime.io/v1alpha2",
            "kind": "SmartLimiter",
            "metadata": {"name": "svc", "namespace": "ns"},
            "spec": spec,
        });
        let service = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "svc", "namespace": "ns"}, "spec": {"selector": {"app": "svc"}}});
        let text = format!("{doc}\n---\n{service}\n");
        let mut options = RenderOptions::default();
        options.metrics.insert("_base.pod".into(), "3".into());
        options.allow_unknown_fields = gateway;
        match render_documents(&text, &options) {
            Ok(out) => {
                // Whatever renders must read back, as Kubernetes objects.
                let back = mesh_core::parse_documents(&out.yaml).unwrap();
                for o in &back {
                    prop_assert!(o["apiVersion"].is_string() && o["kind"].is_string(), "{}", o);
                    prop_assert!(o["metadata"]["name"].is_string(), "{}", o);
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn well_formed_descriptors_render(quota in 1u32..1_000_000, secs in prop::sample::select(vec![1, 60, 3600, 86400]),
                                      global in any::<bool>(), header in "[a-z]{1,8}", val in "[ -~]{1,16}") {
        let doc = json!({
            "apiVersion": "microservice.slime.io/v1alpha2",
            "kind": "SmartLimiter",
            "metadata": {"name": "svc", "namespace": "ns"},
            "spec": {"workloadSelector": {"app": "svc"}, "sets": {"_base": {"descriptor": [
                {"action": {"quota": quota.to_string(), "fill_interval": {"seconds": secs},
                            "strategy": if global { "global" } else { "single" }},
                 "condition": "true", "match": [{"name": header, "exact_match": val}], "target": {"port": 80}}
            ]}}},
        });
        let out = render_documents(&doc.to_string(), &RenderOptions::default()).unwrap();
        let objects = mesh_core::parse_documents(&out.yaml).unwrap();
        prop_assert_eq!(objects[0]["kind"].as_str(), Some("EnvoyFilter"));
        prop_assert_eq!(objects.len(), if global { 2 } else { 1 });
    }
}
