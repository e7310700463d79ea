//! The committed CRD must be exactly what the model generates.

#[test]
fn committed_crd_matches_the_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/smartlimiter.yaml");
    let committed = std::fs::read_to_string(path).expect("crds/smartlimiter.yaml exists");
    let generated = mesh_core::crd::smartlimiter_crd_yaml();
    assert!(
        committed == generated,
        "mesh-core/crds/smartlimiter.yaml is stale: regenerate it with `cargo run -p mesh-cli --bin meshctl -- crds > mesh-core/crds/smartlimiter.yaml`"
    );
}

#[test]
fn crd_describes_slime_v1alpha2() {
    let crd: serde_json::Value =
        serde_norway::from_str(&mesh_core::crd::smartlimiter_crd_yaml()).unwrap();
    assert_eq!(
        crd["metadata"]["name"],
        "smartlimiters.microservice.slime.io"
    );
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha2");
    assert!(v["subresources"]["status"].is_object());
    let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    let desc =
        &spec["sets"]["additionalProperties"]["properties"]["descriptor"]["items"]["properties"];
    for f in [
        "condition",
        "action",
        "match",
        "target",
        "custom_key",
        "custom_value",
    ] {
        assert!(desc[f].is_object(), "descriptor.{f} missing");
    }
    let m = &desc["match"]["items"]["properties"];
    for f in [
        "name",
        "regex_match",
        "exact_match",
        "prefix_match",
        "suffix_match",
        "present_match",
        "invert_match",
        "is_exact_match_empty",
        "present_match_separate",
        "useQueryMatch",
        "matchSource",
    ] {
        assert!(m[f].is_object(), "match.{f} missing");
    }
    assert_eq!(m["matchSource"]["x-kubernetes-int-or-string"], true);
    let a = &desc["action"]["properties"];
    for f in ["quota", "fill_interval", "strategy", "headers_to_add"] {
        assert!(a[f].is_object(), "action.{f} missing");
    }
    for f in [
        "sets",
        "rls",
        "workloadSelector",
        "gateway",
        "host",
        "target",
    ] {
        assert!(spec[f].is_object(), "spec.{f} missing");
    }
}
