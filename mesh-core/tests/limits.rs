//! Input that would render to output a real Envoy or the Kubernetes API server rejects is an
//! error with its path (issue 12 items 12 and 13 and their siblings), and large numbers of
//! problems are reported in full (item 4).

use mesh_core::{ModuleConfig, RenderOptions, render_documents, validate_documents};
use serde_json::{Value, json};

/// A SmartLimiter `reviews/default` with one local descriptor (`descriptor` merged into a
/// plain one) and its Service, as JSON text (valid YAML, and any byte can be escaped in it).
fn limiter_with(descriptor: Value) -> String {
    limiter_named("reviews", "default", descriptor)
}

fn limiter_named(name: &str, namespace: &str, descriptor: Value) -> String {
    let mut d = json!({
        "action": {"quota": "5", "fill_interval": {"seconds": 60}, "strategy": "single"},
        "condition": "true",
        "target": {"port": 9080}
    });
    merge(&mut d, descriptor);
    docs(&[
        json!({
            "apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"sets": {"_base": {"descriptor": [d]}}}
        }),
        service(name, namespace, json!({"app": "reviews"})),
    ])
}

fn service(name: &str, namespace: &str, selector: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": namespace}, "spec": {"selector": selector}})
}

fn docs(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| format!("---\n{d}\n"))
        .collect::<String>()
}

fn merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                merge(d.entry(k).or_insert(Value::Null), v);
            }
        }
        (d, s) => *d = s,
    }
}

/// The problem lines of a render that must fail.
fn errors(text: &str) -> Vec<String> {
    let e = render_documents(text, &RenderOptions::default()).expect_err("must be refused");
    assert_eq!(
        validate_documents(text, &RenderOptions::default()).unwrap_err(),
        e
    );
    e.lines()
}

fn one_error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

fn headers(key: &str, value: &str) -> Value {
    json!({"action": {"headers_to_add": [{"key": key, "value": value}]}})
}

const HTA: &str = "default/reviews: spec.sets._base.descriptor[0].action.headers_to_add[0]";
const MATCH: &str = "default/reviews: spec.sets._base.descriptor[0].match[0]";

#[test]
fn valid_headers_still_render() {
    let text = limiter_with(json!({
        "action": {"headers_to_add": [{"key": "X-RateLimit-Reason", "value": "100%% used\tby reviews"}]},
        "match": [{"name": ":method", "exact_match": "GET\r\n"}, {"name": "x-user", "regex_match": "u[0-9]{1,3}"}]
    }));
    render_documents(&text, &RenderOptions::default()).unwrap();
}

#[test]
fn added_header_values_envoy_rejects() {
    for (value, needle) in [
        ("a\r\nInjected: 1", "CR at byte 1"),
        ("a\nb", "LF at byte 1"),
        ("a\0b", "NUL at byte 1"),
        ("100%", "single `%` at byte 3"),
    ] {
        let e = one_error(&limiter_with(headers("x-limited", value)));
        assert!(e.starts_with(&format!("{HTA}.value: ")), "{e}");
        assert!(e.contains(needle), "{value:?}: {e}");
    }
    let e = one_error(&limiter_with(headers("x-limited", &"v".repeat(16_385))));
    assert_eq!(
        e,
        format!(
            "{HTA}.value: is 16385 bytes long; Envoy accepts header values of at most 16384 bytes"
        )
    );
    render_documents(
        &limiter_with(headers("x-limited", &"v".repeat(16_384))),
        &RenderOptions::default(),
    )
    .unwrap();
}

#[test]
fn added_header_names_envoy_rejects() {
    for (key, needle) in [
        ("x\r\ny", "CR at byte 1"),
        ("x\0", "NUL at byte 1"),
        (":status", "pseudo-header"),
        ("Host", "host header"),
        ("x limited", "a space at byte 1"),
    ] {
        let e = one_error(&limiter_with(headers(key, "v")));
        assert!(e.starts_with(&format!("{HTA}.key: ")), "{e}");
        assert!(e.contains(needle), "{key:?}: {e}");
    }
    // Global limits do not emit headers_to_add (a warning says so): nothing to check.
    let text = limiter_with(json!({
        "action": {"strategy": "global", "headers_to_add": [{"key": ":status", "value": "100%"}]}
    }));
    render_documents(&text, &RenderOptions::default()).unwrap();
}

#[test]
fn matcher_names_envoy_rejects() {
    for (name, needle) in [
        ("x-user\r\n", "CR at byte 6"),
        ("x\nuser", "LF at byte 1"),
        ("x\0user", "NUL at byte 1"),
        ("x user", "RFC 9110 token"),
    ] {
        let e = one_error(&limiter_with(
            json!({"match": [{"name": name, "exact_match": "a"}]}),
        ));
        assert!(e.starts_with(&format!("{MATCH}.name: ")), "{e}");
        assert!(e.contains(needle), "{name:?}: {e}");
    }
    // present_match_separate puts the name into a request_headers action.
    let e = one_error(&limiter_with(json!({
        "action": {"strategy": "global"},
        "match": [{"name": "x\ruser", "present_match_separate": true}]
    })));
    assert!(e.starts_with(&format!("{MATCH}.name: contains CR")), "{e}");
    // Query parameter names: Envoy's max_bytes is 1024.
    let e = one_error(&limiter_with(json!({
        "match": [{"name": "q".repeat(1025), "matchSource": "QueryMatch", "exact_match": "a"}]
    })));
    assert!(
        e.starts_with(&format!("{MATCH}.name: is 1025 bytes long")),
        "{e}"
    );
}

#[test]
fn regexes_envoy_rejects() {
    for (regex, needle) in [
        ("a{100}", "RE2 program of at least 104 instructions"),
        ("a{1001}", "repeats 1001 times"),
        ("(a)\\1", "not a valid RE2 regex"),
    ] {
        let e = one_error(&limiter_with(
            json!({"match": [{"name": "x-user", "regex_match": regex}]}),
        ));
        assert!(e.starts_with(&format!("{MATCH}.regex_match: ")), "{e}");
        assert!(e.contains(needle), "{regex}: {e}");
    }
}

#[test]
fn object_names_the_api_server_rejects() {
    let long = "r".repeat(10_000);
    let e = one_error(&limiter_named(&long, "default", json!({})));
    assert!(
        e.ends_with("metadata.name: is 10000 characters long; at most 253 allowed"),
        "{e}"
    );
    let e = one_error(&limiter_named("Reviews_Service!", "default", json!({})));
    assert!(
        e.starts_with("default/Reviews_Service!: metadata.name: \"Reviews_Service!\" is not a DNS-1123 subdomain"),
        "{e}"
    );
    let e = one_error(&limiter_named("reviews", "Prod.EU", json!({})));
    assert!(
        e.starts_with("Prod.EU/reviews: metadata.namespace: \"Prod.EU\" is not a DNS-1123 label"),
        "{e}"
    );
    let e = one_error(&limiter_named("reviews", &"n".repeat(64), json!({})));
    assert!(
        e.ends_with("metadata.namespace: is 64 characters long; at most 63 allowed"),
        "{e}"
    );
}

#[test]
fn generated_names_over_the_limit() {
    // 230 + 1 + 12 + 10 = 253 is the longest valid EnvoyFilter name.
    let name = "r".repeat(230);
    render_documents(
        &limiter_named(&name, "default-team", json!({})),
        &RenderOptions::default(),
    )
    .unwrap();
    let name = "r".repeat(231);
    let e = one_error(&limiter_named(&name, "default-team", json!({})));
    assert!(
        e.ends_with(&format!(
            "metadata.name: the EnvoyFilter name \"{name}.default-team.ratelimit\" generated from it is 254 characters long; at most 253 allowed"
        )),
        "{e}"
    );
    // A subset name is part of its EnvoyFilter's name; subset labels go into its selector.
    let subset = |set: &str, labels: Value| {
        docs(&[
            json!({
                "apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
                "metadata": {"name": "reviews", "namespace": "default"},
                "spec": {"sets": {set: {"descriptor": [{
                    "action": {"quota": "5", "fill_interval": {"seconds": 60}},
                    "condition": "true", "target": {"port": 9080}}]}}}
            }),
            service("reviews", "default", json!({"app": "reviews"})),
            json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                   "metadata": {"name": "reviews", "namespace": "default"},
                   "spec": {"host": "reviews", "subsets": [{"name": set, "labels": labels}]}}),
        ])
    };
    render_documents(
        &subset("v1-canary", json!({"version": "v1"})),
        &RenderOptions::default(),
    )
    .unwrap();
    let e = one_error(&subset("V1_canary", json!({"version": "v1"})));
    assert!(
        e.starts_with("default/reviews: spec.sets.V1_canary: the EnvoyFilter name \"reviews.default.V1_canary.ratelimit\" generated from it"),
        "{e}"
    );
    let e = one_error(&subset("v1", json!({"version": "v1 canary"})));
    assert!(
        e.starts_with("default/reviews: spec.sets.v1: its DestinationRule subset labels: label value \"v1 canary\" is not valid"),
        "{e}"
    );
}

#[test]
fn labels_and_selectors_the_api_server_rejects() {
    let text = docs(&[json!({
        "apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
        "metadata": {"name": "reviews", "namespace": "default",
                     "labels": {"istio.io/rev": "canary!", "ok": "fine"}},
        "spec": {"workloadSelector": {"app name": "reviews", "": "x", "tier": "-web"},
                 "sets": {"_base": {"descriptor": [{
            "action": {"quota": "5", "fill_interval": {"seconds": 60}},
            "condition": "true", "target": {"port": 9080}}]}}}
    })]);
    let e = errors(&text);
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(
        e[0].starts_with(
            "default/reviews: metadata.labels[\"istio.io/rev\"]: label value \"canary!\""
        ),
        "{}",
        e[0]
    );
    assert!(
        e[1].starts_with("default/reviews: spec.workloadSelector[\"\"]: label key \"\""),
        "{}",
        e[1]
    );
    assert!(
        e[2].starts_with(
            "default/reviews: spec.workloadSelector[\"app name\"]: label key \"app name\""
        ),
        "{}",
        e[2]
    );
    assert!(
        e[3].starts_with("default/reviews: spec.workloadSelector[\"tier\"]: label value \"-web\""),
        "{}",
        e[3]
    );
    // A Service whose selector the API server would refuse.
    let text = docs(&[
        serde_json::from_str::<Value>(
            limiter_with(json!({}))
                .split("\n---\n")
                .next()
                .unwrap()
                .trim_start_matches("---\n"),
        )
        .unwrap(),
        service("reviews", "default", json!({"app": "reviews/v1"})),
    ]);
    let e = one_error(&text);
    assert!(
        e.starts_with(
            "default/reviews: Service default/reviews spec.selector: label value \"reviews/v1\""
        ),
        "{e}"
    );
}

#[test]
fn module_names_and_domain() {
    let text = limiter_with(json!({"action": {"strategy": "global"}}));
    for (module, needle) in [
        (
            ModuleConfig {
                rls_config_map_name: "Rate_Limit".into(),
                ..ModuleConfig::default()
            },
            "module: rlsConfigMap.name: \"Rate_Limit\" is not a DNS-1123 subdomain",
        ),
        (
            ModuleConfig {
                rls_config_map_namespace: "istio.system".into(),
                ..ModuleConfig::default()
            },
            "module: rlsConfigMap.namespace: \"istio.system\" is not a DNS-1123 label",
        ),
        (
            ModuleConfig {
                domain: String::new(),
                ..ModuleConfig::default()
            },
            "module: domain: must not be empty",
        ),
    ] {
        let options = RenderOptions {
            module,
            ..RenderOptions::default()
        };
        let e = render_documents(&text, &options).unwrap_err().lines();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with(needle), "{}", e[0]);
    }
}

/// Many global limits can make the RLS ConfigMap larger than the API server's 1 MiB.
#[test]
fn an_rls_config_map_over_one_mebibyte_is_refused() {
    let limiters = |n: usize| {
        let mut out = Vec::new();
        for i in 0..n {
            let name = format!("s{i:05}-{}", "x".repeat(200));
            out.push(json!({"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
                   "metadata": {"name": name, "namespace": "default"},
                   "spec": {"sets": {"_base": {"descriptor": [
                       {"action": {"quota": "1", "fill_interval": {"seconds": 60}, "strategy": "global"},
                        "condition": "true", "target": {"port": 9080}}]}}}}));
            out.push(service(&name, "default", json!({"app": "s"})));
        }
        docs(&out)
    };
    let out = render_documents(&limiters(100), &RenderOptions::default()).unwrap();
    let objects = out.objects();
    let cm = objects.last().unwrap();
    let size = cm["data"]["config.yaml"].as_str().unwrap().len();
    // Just over the limit (each limiter adds the same number of bytes).
    let n = 100 * (1024 * 1024) / size + 10;
    let e = one_error(&limiters(n));
    assert!(
        e.starts_with("istio-system/rate-limit-config: data[\"config.yaml\"]: the RLS config is "),
        "{e}"
    );
    assert!(e.contains("at most 1048576 bytes"), "{e}");
}

/// 10 000 problems of one kind are all reported, in order (reporting was quadratic: 2 000 took
/// 14.6 s); `error.rs` has the complexity test that counts the work.
#[test]
fn ten_thousand_same_kind_errors_are_all_reported() {
    let n = 10_000;
    let descriptors: Vec<Value> = (0..n)
        .map(|_| {
            json!({"action": {"quota": "0", "fill_interval": {"seconds": 60}},
                   "condition": "true", "target": {"port": 9080}})
        })
        .collect();
    let text = docs(&[
        json!({"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
               "metadata": {"name": "reviews", "namespace": "default"},
               "spec": {"sets": {"_base": {"descriptor": descriptors}}}}),
        service("reviews", "default", json!({"app": "reviews"})),
    ]);
    let e = errors(&text);
    assert_eq!(e.len(), n);
    assert!(e[n - 1].starts_with(&format!(
        "default/reviews: spec.sets._base.descriptor[{}].action.quota: `0` evaluates to 0",
        n - 1
    )));
}

/// 10 000 sets with no DestinationRule subset: one problem each, and the list of known subsets
/// in each message is bounded.
#[test]
fn ten_thousand_sets_without_a_destination_rule() {
    let n = 10_000;
    let sets: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            (
                format!("s{i:05}"),
                json!({"descriptor": [{"action": {"quota": "1", "fill_interval": {"seconds": 60}},
                                        "condition": "true", "target": {"port": 9080}}]}),
            )
        })
        .collect();
    let subsets: Vec<Value> = (0..100)
        .map(|i| json!({"name": format!("v{i}"), "labels": {"version": format!("v{i}")}}))
        .collect();
    let text = docs(&[
        json!({"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
               "metadata": {"name": "reviews", "namespace": "default"},
               "spec": {"sets": sets}}),
        service("reviews", "default", json!({"app": "reviews"})),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
               "metadata": {"name": "reviews", "namespace": "default"},
               "spec": {"host": "reviews", "subsets": subsets}}),
    ]);
    let e = errors(&text);
    assert_eq!(e.len(), n);
    assert!(
        e[0].starts_with("default/reviews: spec.sets.s00000: no DestinationRule subset \"s00000\""),
        "{}",
        e[0]
    );
    assert!(e[0].contains("(subsets: v0, v1, "), "{}", e[0]);
    assert!(e[0].contains("v19, and 80 more)"), "{}", e[0]);
}

/// Many descriptors on one route (duplicate check) and many routes (grouping) render, and the
/// duplicate check still finds a duplicate among them.
#[test]
fn many_descriptors_and_routes() {
    // Few enough, and varied enough, that no two of Slime's Adler-32 Ids collide.
    let n = 400;
    let user = |i: usize| {
        format!(
            "{:016x}",
            (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        )
    };
    let descriptors: Vec<Value> = (0..n)
        .map(|i| {
            json!({"action": {"quota": "1", "fill_interval": {"seconds": 60}},
                   "condition": "true",
                   "match": [{"name": "x-user", "exact_match": user(i)}],
                   "target": {"direction": "outbound", "route": [format!("vh{i}/r{i}"), "shared/all"]}})
        })
        .collect();
    let limiter = |descriptors: Vec<Value>| {
        docs(&[
            json!({"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
               "metadata": {"name": "reviews", "namespace": "default"},
               "spec": {"workloadSelector": {"app": "reviews"}, "sets": {"_base": {"descriptor": descriptors}}}}),
        ])
    };
    let out = render_documents(&limiter(descriptors.clone()), &RenderOptions::default()).unwrap();
    let patches = out.objects()[0]["spec"]["configPatches"]
        .as_array()
        .unwrap()
        .len();
    // n + 1 routes, each with a route-action patch and a LocalRateLimit patch, and one filter.
    assert_eq!(patches, 2 * (n + 1) + 1);
    // Two custom_key descriptors with the same entry on one route: Envoy rejects that.
    let mut dup = descriptors;
    for quota in ["2", "3"] {
        dup.push(
            json!({"action": {"quota": quota, "fill_interval": {"seconds": 60}},
                        "condition": "true", "custom_key": "plugin", "custom_value": "v",
                        "target": {"direction": "outbound", "route": ["shared/all"]}}),
        );
    }
    let e = errors(&limiter(dup));
    assert!(
        e == [
            "default/reviews: spec.sets._base: two local descriptors on route shared/all have the same entries [\"plugin=v\"]; Envoy rejects duplicate descriptors"
        ],
        "{e:#?}"
    );
}

/// A SourceIpMatch list becomes one descriptor per IP, each with every matcher: 1 000 IPs and
/// 200 matchers (~25 KB of input) would have emitted 200 000 matcher copies.
#[test]
fn source_ip_expansion_is_bounded() {
    let descriptor = |ips: usize, headers: usize| {
        let list: Vec<String> = (0..ips)
            .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
            .collect();
        let mut matches =
            vec![json!({"matchSource": "SourceIpMatch", "exact_match": list.join(",")})];
        matches
            .extend((0..headers).map(|i| json!({"name": format!("x-h{i}"), "exact_match": "a"})));
        json!({"match": matches})
    };
    let e = one_error(&limiter_with(descriptor(1000, 200)));
    assert!(
        e.starts_with("default/reviews: spec.sets._base.descriptor[0].match[0].exact_match: 1000 IPs × 201 matchers would expand into 201000 matcher copies"),
        "{e}"
    );
    render_documents(&limiter_with(descriptor(100, 9)), &RenderOptions::default()).unwrap();
}
