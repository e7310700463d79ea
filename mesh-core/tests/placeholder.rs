//! The `enableRatelimitPlaceholderInRoute` patch must be valid Envoy config: upstream Slime writes
//! `config: {'@type': ...google.protobuf.Empty, value: {}}`, which Envoy rejects ("no such field:
//! 'value'"; proven against a real Envoy in tests/envoy/test_fixtures_validate.py).

use mesh_core::{RenderOptions, render_documents};

#[test]
fn placeholder_empty_config_has_no_value_field() {
    let input = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/crds/productpage-global.yaml"
    ))
    .unwrap();
    let mut options = RenderOptions::default();
    options.module.enable_ratelimit_placeholder_in_route = true;
    let out = render_documents(&input, &options).unwrap();
    let mut placeholders = 0;
    for ef in out.objects().iter().filter(|o| o["kind"] == "EnvoyFilter") {
        for cp in ef["spec"]["configPatches"].as_array().unwrap() {
            let cfg =
                &cp["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.ratelimit"];
            if cfg.is_object() {
                placeholders += 1;
                assert_eq!(
                    cfg["config"],
                    serde_json::json!({"@type": "type.googleapis.com/google.protobuf.Empty"})
                );
            }
        }
    }
    assert!(placeholders > 0, "no placeholder patch rendered");
}
