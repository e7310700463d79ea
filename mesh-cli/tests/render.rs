//! `meshctl render` / `validate` / `crds` contract.

use assert_cmd::Command;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn meshctl() -> Command {
    let mut c = Command::cargo_bin("meshctl").unwrap();
    c.current_dir(root());
    c
}

#[test]
fn render_example_prints_envoy_filters() {
    let out = meshctl()
        .args(["render", "examples/crds/reviews-local.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = mesh_core::parse_documents(&text).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "EnvoyFilter");
    assert_eq!(docs[0]["metadata"]["name"], "reviews.default.ratelimit");
    assert!(text.contains("maxTokens: 5\n"));
    assert!(text.contains("name: inbound|http|9080\n"));
}

#[test]
fn render_reads_stdin_and_metrics_and_prints_status() {
    let input =
        std::fs::read_to_string(root().join("examples/crds/reviews-adaptive.yaml")).unwrap();
    let out = meshctl()
        .args([
            "render",
            "--status",
            "--metrics",
            "examples/crds/metrics/reviews-adaptive.yaml",
            "-",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = mesh_core::parse_documents(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["EnvoyFilter", "EnvoyFilter", "SmartLimiter"]);
    assert_eq!(
        docs[2]["status"]["ratelimitStatus"]["_base"]["descriptor"][0]["action"]["quota"],
        "34"
    );
}

#[test]
fn metrics_given_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.json");
    std::fs::write(
        &metrics,
        r#"{"_base.pod": 4, "v1.cpu.sum": 185.7, "v2.cpu.sum": 1}"#,
    )
    .unwrap();
    let out = meshctl()
        .arg("render")
        .arg("--metrics")
        .arg(&metrics)
        .arg("examples/crds/reviews-adaptive.yaml")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("maxTokens: 25\n")
    );
}

#[test]
fn invalid_input_exits_1_with_every_problem_on_stderr() {
    let input = r#"
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {name: reviews, namespace: default}
spec:
  workloadSelector: {app: reviews}
  sets:
    _base:
      descriptor:
      - action: {quota: "0", fill_interval: {seconds: 60}}
        condition: "true"
        target: {port: 9080}
      - action: {quota: "10 / 2", fill_interval: {seconds: 60}}
        conditon: "true"
        target: {port: 9080}
"#;
    for cmd in ["render", "validate"] {
        let out = meshctl()
            .args([cmd, "-"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines,
            [
                "default/reviews: spec.sets._base.descriptor[1].conditon: unknown field (did you mean `condition`?); Slime would ignore it silently",
                "default/reviews: spec.sets._base.descriptor[0].action.quota: `0` evaluates to 0 (from `0`): a quota must be at least 1 (Envoy rejects max_tokens 0)",
                "default/reviews: spec.sets._base.descriptor[1].condition: required (\"true\", \"false\" or an expression)",
                "default/reviews: spec.sets._base.descriptor[1].action.quota: spaces are not allowed in Slime expressions (`10 / 2`)",
            ],
            "{cmd}"
        );
    }
    let out = meshctl()
        .args(["render", "--allow-unknown-fields", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 3);
}

#[test]
fn validate_prints_nothing_on_success() {
    for f in [
        "examples/crds/reviews-local.yaml",
        "examples/crds/productpage-global.yaml",
        "examples/crds/gateway-outbound.yaml",
        "examples/crds/ratings-outbound.yaml",
        "examples/crds/details-host.yaml",
    ] {
        let out = meshctl().args(["validate", f]).output().unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{f}");
    }
    let out = meshctl()
        .args([
            "validate",
            "--metrics",
            "examples/crds/metrics/reviews-adaptive.yaml",
            "examples/crds/reviews-adaptive.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn warnings_go_to_stderr() {
    let input = std::fs::read_to_string(root().join("examples/crds/reviews-local.yaml"))
        .unwrap()
        .replace(r#"quota: "5""#, r#"quota: "100/2/5""#);
    let out = meshctl()
        .args(["render", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("warning: default/reviews: spec.sets._base.descriptor[0].action.quota: expression `100/2/5` evaluates to 100"), "{err}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("maxTokens: 100\n")
    );
}

#[test]
fn multiple_files_are_one_input() {
    let out = meshctl()
        .args([
            "render",
            "examples/crds/reviews-local.yaml",
            "examples/crds/productpage-global.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = mesh_core::parse_documents(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "productpage.default.ratelimit",
            "reviews.default.ratelimit",
            "rate-limit-config"
        ]
    );
}

#[test]
fn crds_prints_the_committed_crd() {
    let out = meshctl().arg("crds").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(root().join("mesh-core/crds/smartlimiter.yaml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[test]
fn unreadable_file_is_an_error() {
    let out = meshctl()
        .args(["render", "no/such/file.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("no/such/file.yaml: ")
    );
}
