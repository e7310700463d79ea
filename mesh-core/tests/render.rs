//! Rendering: the examples (snapshots), Slime's upstream fixtures, and the loud failures.

use mesh_core::{RenderOptions, parse_metrics, render_documents, validate_documents};
use serde_json::{Value, json};

fn example(name: &str) -> String {
    let path = format!("{}/../examples/crds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sample_metrics() -> RenderOptions {
    RenderOptions {
        metrics: parse_metrics(&example("metrics/reviews-adaptive.yaml")).unwrap(),
        ..RenderOptions::default()
    }
}

fn render_ok(text: &str, options: &RenderOptions) -> mesh_core::Rendered {
    render_documents(text, options).unwrap_or_else(|e| panic!("render failed:\n{e}"))
}

fn errors(text: &str, options: &RenderOptions) -> Vec<String> {
    render_documents(text, options)
        .expect_err("must fail")
        .lines()
}

#[test]
fn snapshot_reviews_local() {
    let out = render_ok(&example("reviews-local.yaml"), &RenderOptions::default());
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    insta::assert_snapshot!("reviews_local", out.yaml);
}

#[test]
fn snapshot_reviews_adaptive_with_status() {
    let mut options = sample_metrics();
    options.include_status = true;
    let out = render_ok(&example("reviews-adaptive.yaml"), &options);
    insta::assert_snapshot!("reviews_adaptive", out.yaml);
    // v2's condition is false: no EnvoyFilter and no status entry for it.
    assert!(!out.yaml.contains("reviews.bookinfo.v2.ratelimit"));
    let objects = out.objects();
    let status = &objects.last().unwrap()["status"];
    insta::assert_yaml_snapshot!("reviews_adaptive_status", status);
    assert_eq!(
        status["ratelimitStatus"]["_base"]["descriptor"][0]["action"]["quota"],
        "34"
    );
    assert!(status["ratelimitStatus"].get("v2").is_none());
    assert_eq!(status["metricStatus"]["v1.cpu.sum"], "185.76");
}

#[test]
fn snapshot_productpage_global() {
    let out = render_ok(
        &example("productpage-global.yaml"),
        &RenderOptions::default(),
    );
    insta::assert_snapshot!("productpage_global", out.yaml);
}

#[test]
fn snapshot_gateway_outbound() {
    let out = render_ok(&example("gateway-outbound.yaml"), &RenderOptions::default());
    insta::assert_snapshot!("gateway_outbound", out.yaml);
}

#[test]
fn snapshot_ratings_outbound() {
    let out = render_ok(&example("ratings-outbound.yaml"), &RenderOptions::default());
    assert_eq!(out.warnings, Vec::<String>::new());
    insta::assert_snapshot!("ratings_outbound", out.yaml);
}

#[test]
fn snapshot_details_host() {
    let out = render_ok(&example("details-host.yaml"), &RenderOptions::default());
    insta::assert_snapshot!("details_host", out.yaml);
}

#[test]
fn output_is_deterministic_and_reparses() {
    for name in [
        "reviews-local.yaml",
        "reviews-adaptive.yaml",
        "productpage-global.yaml",
        "gateway-outbound.yaml",
        "ratings-outbound.yaml",
        "details-host.yaml",
    ] {
        let text = example(name);
        let a = render_ok(&text, &sample_metrics());
        let b = render_ok(&text, &sample_metrics());
        assert_eq!(a.yaml, b.yaml, "{name}");
        // An independent YAML 1.1 reader (libyaml) reads the same objects as ours.
        let libyaml: Vec<Value> = a
            .yaml
            .split("\n---\n")
            .map(|d| serde_norway::from_str(d).unwrap())
            .collect();
        assert_eq!(
            libyaml,
            a.objects(),
            "{name}: YAML must read back as the same objects"
        );
    }
}

fn ef_spec(out: &mesh_core::Rendered, name: &str) -> Value {
    out.objects()
        .iter()
        .find(|o| o["kind"] == "EnvoyFilter" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no EnvoyFilter {name} in\n{}", out.yaml))["spec"]
        .clone()
}

fn per_route_local(descriptors: Value, fill: &str) -> Value {
    json!({"typed_per_filter_config": {"envoy.filters.http.local_ratelimit": {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "value": {
            "descriptors": descriptors,
            "filterEnabled": {"defaultValue": {"numerator": 100}, "runtimeKey": "local_rate_limit_enabled"},
            "filterEnforced": {"defaultValue": {"numerator": 100}, "runtimeKey": "local_rate_limit_enforced"},
            "statPrefix": "http_local_rate_limiter",
            "tokenBucket": {"fillInterval": fill, "maxTokens": 100000, "tokensPerFill": 100000}
        }
    }}})
}

/// Slime's `limit_by_method.local` fixture (module: disableInsertLocalRateLimit).
#[test]
fn upstream_fixture_limit_by_method() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: hello, namespace: default, labels: {istio.io/rev: default}}
spec:
  workloadSelector: {app: hello}
  sets:
    _base:
      descriptor:
      - action: {fillInterval: {seconds: 1}, quota: "10", strategy: single}
        condition: "true"
        match: [{name: ":method", exactMatch: GET}]
        target: {}
"#;
    let mut options = RenderOptions::default();
    options.module.disable_insert_local_rate_limit = true;
    let out = render_ok(input, &options);
    let v = "Service[hello.default]-Id[1092235069]";
    let route_match = json!({"context": "SIDECAR_INBOUND", "routeConfiguration": {"vhost": {"route": {"name": "default"}}}});
    let expected = json!({
        "configPatches": [
            {"applyTo": "HTTP_ROUTE", "match": route_match, "patch": {"operation": "MERGE", "value": {"route": {"rate_limits": [
                {"actions": [{"header_value_match": {"descriptor_value": v, "headers": [{"exact_match": "GET", "name": ":method"}]}}]}
            ]}}}},
            {"applyTo": "HTTP_ROUTE", "match": route_match, "patch": {"operation": "MERGE", "value": per_route_local(json!([
                {"entries": [{"key": "header_match", "value": v}], "tokenBucket": {"fillInterval": "1s", "maxTokens": 10, "tokensPerFill": 10}}
            ]), "1s")}}
        ],
        "workloadSelector": {"labels": {"app": "hello"}}
    });
    assert_eq!(ef_spec(&out, "hello.default.ratelimit"), expected);
    let meta = &out.objects()[0]["metadata"];
    assert_eq!(meta["labels"], json!({"istio.io/rev": "default"}));
}

/// Slime's `limit_by_query.local` fixture.
#[test]
fn upstream_fixture_limit_by_query() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: hello, namespace: default}
spec:
  workloadSelector: {app: hello}
  sets:
    _base:
      descriptor:
      - action: {fillInterval: {seconds: 1}, quota: "10", strategy: single}
        condition: "true"
        match: [{matchSource: QueryMatch, name: foo, prefixMatch: bar}]
        target: {}
"#;
    let mut options = RenderOptions::default();
    options.module.disable_insert_local_rate_limit = true;
    let spec = ef_spec(&render_ok(input, &options), "hello.default.ratelimit");
    let v = "Service[hello.default]-Id[2197174159]";
    assert_eq!(
        spec["configPatches"][0]["patch"]["value"]["route"]["rate_limits"][0]["actions"][0],
        json!({"query_parameter_value_match": {"descriptor_value": v, "query_parameters": [{"name": "foo", "string_match": {"prefix": "bar"}}]}})
    );
    assert_eq!(
        spec["configPatches"][1]["patch"]["value"],
        per_route_local(
            json!([{"entries": [{"key": "query_match", "value": v}], "tokenBucket": {"fillInterval": "1s", "maxTokens": 10, "tokensPerFill": 10}}]),
            "1s"
        )
    );
}

/// Slime's `limit_outbound_with_mismatch_selector.local` fixture (gateway, route `/foo`).
#[test]
fn upstream_fixture_gateway_route() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: withselector-missing-match-workload, namespace: default}
spec:
  gateway: true
  sets:
    _base:
      descriptor:
      - action: {fill_interval: {seconds: 60}, quota: "50", strategy: single}
        condition: "true"
  target: {direction: outbound, route: [/foo]}
  workloadSelector: {app: not-matched-any-workload}
"#;
    let mut options = RenderOptions::default();
    options.module.disable_insert_local_rate_limit = true;
    let out = render_ok(input, &options);
    let spec = ef_spec(
        &out,
        "withselector-missing-match-workload.default.ratelimit",
    );
    let v = "Service[withselector-missing-match-workload.default]-Id[2597136639]";
    let route_match =
        json!({"context": "GATEWAY", "routeConfiguration": {"vhost": {"route": {"name": "foo"}}}});
    assert_eq!(
        spec,
        json!({
            "configPatches": [
                {"applyTo": "HTTP_ROUTE", "match": route_match, "patch": {"operation": "MERGE", "value": {"route": {"rate_limits": [
                    {"actions": [{"generic_key": {"descriptor_value": v}}]}]}}}},
                {"applyTo": "HTTP_ROUTE", "match": route_match, "patch": {"operation": "MERGE", "value": per_route_local(json!([
                    {"entries": [{"key": "generic_key", "value": v}], "tokenBucket": {"fillInterval": "60s", "maxTokens": 50, "tokensPerFill": 50}}
                ]), "1s")}}
            ],
            "workloadSelector": {"labels": {"app": "not-matched-any-workload"}}
        })
    );
}

#[test]
fn source_ip_local_entries() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: hello, namespace: default}
spec:
  workloadSelector: {app: hello}
  sets:
    _base:
      descriptor:
      - action: {fill_interval: {seconds: 1}, quota: "10"}
        condition: "true"
        match: [{matchSource: SourceIpMatch, exact_match: "10.0.0.1, 10.0.0.2"}]
        target: {}
"#;
    let out = render_ok(input, &RenderOptions::default());
    let spec = ef_spec(&out, "hello.default.ratelimit");
    let rls = &spec["configPatches"][0]["patch"]["value"]["route"]["rate_limits"];
    assert_eq!(rls[0], json!({"actions": [{"remote_address": {}}]}));
    assert_eq!(rls.as_array().unwrap().len(), 2);
    let descs = &spec["configPatches"][2]["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]
        ["value"]["descriptors"];
    assert_eq!(
        descs[0]["entries"],
        json!([{"key": "remote_address", "value": "10.0.0.1"}])
    );
    assert_eq!(
        descs[1]["entries"],
        json!([{"key": "remote_address", "value": "10.0.0.2"}])
    );
}

#[test]
fn both_spellings_render_identically() {
    let snake = example("ratings-outbound.yaml")
        .replace("fillInterval", "fill_interval")
        .replace("prefixMatch", "prefix_match")
        .replace("suffixMatch", "suffix_match")
        .replace("presentMatch", "present_match")
        .replace("invertMatch", "invert_match")
        .replace("isExactMatchEmpty", "is_exact_match_empty")
        .replace("regexMatch", "regex_match")
        .replace("customKey", "custom_key")
        .replace("customValue", "custom_value")
        .replace("matchSource: 1", "matchSource: QueryMatch");
    assert_ne!(snake, example("ratings-outbound.yaml"));
    let a = render_ok(&snake, &RenderOptions::default());
    let b = render_ok(&example("ratings-outbound.yaml"), &RenderOptions::default());
    assert_eq!(a.objects(), b.objects());
}

const BROKEN: &str = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec:
  sets:
    _base:
      descriptor:
      - action: {quota: "10", fill_interval: {seconds: 60}}
        conditon: "true"
        target: {port: 9080}
      - action: {quota: "0", fill_interval: {seconds: 60}, strategy: global}
        condition: "true"
        target: {port: 9080}
      - action: {quota: "{{._base.pod}}", fill_interval: {seconds: 30}, strategy: global}
        condition: "{{._base.cpu.sum}} > 100"
        match: [{name: x, exact_match: a, prefix_match: b}, {matchSource: Body}]
        target: {port: 9080}
      - action: {quota: 5, fillInterval: "60s"}
        condition: "true"
      - condition: "true"
        target: {direction: sideways}
    v9:
      descriptor:
      - action: {quota: "1", fill_interval: {seconds: 1}}
        condition: "true"
        target: {}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}}
"#;

#[test]
fn every_problem_is_reported_with_its_path() {
    let errs = errors(BROKEN, &RenderOptions::default());
    insta::assert_snapshot!("broken_errors", errs.join("\n"));
    for e in &errs {
        assert!(e.starts_with("default/reviews: spec."), "{e}");
    }
    // validate runs the same checks.
    let v = validate_documents(BROKEN, &RenderOptions::default()).unwrap_err();
    assert_eq!(v.lines(), errs);
}

#[test]
fn unknown_fields_can_be_allowed() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec:
  workloadSelector: {app: reviews}
  sets:
    _base:
      descriptor:
      - action: {quota: "10", fill_interval: {seconds: 60}, burst: 3}
        condition: "true"
        target: {port: 9080}
"#;
    assert_eq!(
        errors(input, &RenderOptions::default()),
        vec![
            "default/reviews: spec.sets._base.descriptor[0].action.burst: unknown field; Slime would ignore it silently"
        ]
    );
    let options = RenderOptions {
        allow_unknown_fields: true,
        ..RenderOptions::default()
    };
    assert!(render_documents(input, &options).is_ok());
}

#[test]
fn a_missing_service_is_a_clear_error() {
    let input = example("reviews-local.yaml");
    let only_limiter = input.split("\n---\n").next().unwrap();
    assert_eq!(
        errors(only_limiter, &RenderOptions::default()),
        vec![
            "default/reviews: no spec.workloadSelector and no Service default/reviews in the input: add the Service (its selector picks the workloads) or set spec.workloadSelector"
        ]
    );
}

#[test]
fn a_missing_metric_is_an_error_naming_it() {
    let errs = errors(&example("reviews-adaptive.yaml"), &RenderOptions::default());
    assert!(
        errs.contains(&"bookinfo/reviews: spec.sets._base.descriptor[0].action.quota: metric `_base.pod` is not in the metric material (Slime would silently use 0)".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.sets.v1.descriptor[0].condition: metric `v1.cpu.sum`"))
    );
}

#[test]
fn right_grouping_produces_a_warning() {
    let input = example("reviews-local.yaml").replace(r#"quota: "5""#, r#"quota: "10-2-3""#);
    let out = render_ok(&input, &RenderOptions::default());
    assert!(out.yaml.contains("maxTokens: 11"));
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].starts_with("default/reviews: spec.sets._base.descriptor[0].action.quota: expression `10-2-3` evaluates to 11"), "{:?}", out.warnings);
}

#[test]
fn rls_config_map_merge_drops_exactly_the_rendered_owners() {
    let existing = r#"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: rate-limit-config, namespace: istio-system, resourceVersion: "7"}
data:
  config.yaml: |
    domain: slime
    descriptors:
    - key: generic_key
      value: Service[productpage.default]-Id[1]
      rate_limit: {requests_per_unit: 1, unit: SECOND}
    - key: generic_key
      value: Service[productpage.default-v2.default]-Id[2]
      rate_limit: {requests_per_unit: 2, unit: SECOND}
    - key: generic_key
      value: Service[xproductpage.default]-Id[3]
      rate_limit: {requests_per_unit: 3, unit: SECOND}
    - key: tenant
      rate_limit: {requests_per_unit: 4, unit: MINUTE}
"#;
    let input = example("productpage-global.yaml") + existing;
    let out = render_ok(&input, &RenderOptions::default());
    let objects = out.objects();
    let cm = objects.last().unwrap();
    assert_eq!(cm["kind"], "ConfigMap");
    assert!(cm["metadata"].get("resourceVersion").is_none());
    let cfg: Value = serde_norway::from_str(cm["data"]["config.yaml"].as_str().unwrap()).unwrap();
    let values: Vec<&str> = cfg["descriptors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["value"].as_str().unwrap_or(""))
        .collect();
    // The stale productpage entry is gone; the other services' entries (which Slime's substring
    // test would also have dropped) stay.
    assert!(!values.contains(&"Service[productpage.default]-Id[1]"));
    assert!(values.contains(&"Service[productpage.default-v2.default]-Id[2]"));
    assert!(values.contains(&"Service[xproductpage.default]-Id[3]"));
    assert!(values.contains(&""));
    assert_eq!(values.len(), 3 + 6);
    let mut sorted = values.clone();
    sorted.sort();
    assert_eq!(values, sorted);
}

#[test]
fn json_body_match_needs_the_fork_option() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: orders, namespace: shop}
spec:
  workloadSelector: {app: orders}
  sets:
    _base:
      descriptor:
      - action: {quota: "3", fill_interval: {seconds: 1}}
        condition: "true"
        match: [{name: sku, matchSource: JsonBodyMatch, exact_match: "42"}]
        target: {port: 8080}
"#;
    let errs = errors(input, &RenderOptions::default());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("NetEase Envoy fork"));
    let mut options = RenderOptions::default();
    options.module.netease_envoy_fork = true;
    let out = render_ok(input, &options);
    insta::assert_snapshot!("json_body_fork", out.yaml);
}

#[test]
fn global_limits_need_a_known_unit() {
    let input = example("productpage-global.yaml").replace("seconds: 3600", "seconds: 120");
    assert_eq!(
        errors(&input, &RenderOptions::default()),
        vec![
            "default/productpage: spec.sets._base.descriptor[2].action.fill_interval: global limits need exactly 1, 60, 3600 or 86400 seconds (SECOND, MINUTE, HOUR, DAY) and no nanos"
        ]
    );
}

#[test]
fn module_options_change_the_output() {
    let mut options = RenderOptions::default();
    options.module.domain = "edge".into();
    options.module.rls_service = "rls.infra.svc.cluster.local".into();
    options.module.rls_port = 8081;
    options.module.proxy_version = Some("^1\\.2.*".into());
    options.module.enable_ratelimit_placeholder_in_route = true;
    let out = render_ok(&example("productpage-global.yaml"), &options);
    assert!(
        out.yaml
            .contains("clusterName: outbound|8081||rls.infra.svc.cluster.local")
    );
    assert!(out.yaml.contains("domain: edge"));
    assert!(out.yaml.contains("proxyVersion: '^1\\.2.*'"));
    assert!(
        out.yaml
            .contains("type.googleapis.com/envoy.config.route.v3.FilterConfig")
    );
}
