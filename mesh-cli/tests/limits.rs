//! `meshctl render` / `validate` refuse input whose output Envoy or the API server would reject
//! (exit 1, one `object: path: message` line per problem), and NaN metrics.

use assert_cmd::Command;

fn meshctl() -> Command {
    let mut c = Command::cargo_bin("meshctl").unwrap();
    c.current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

fn limiter(name: &str, descriptor_extra: &str) -> String {
    format!(
        "apiVersion: microservice.slime.io/v1alpha2\nkind: SmartLimiter\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  workloadSelector: {{app: reviews}}\n  sets:\n    _base:\n      descriptor:\n      - action: {{quota: \"5\", fill_interval: {{seconds: 60}}, headers_to_add: [{{key: x-limited, value: \"a\\r\\nInjected: 1\"}}]}}\n        condition: \"true\"\n        target: {{port: 9080}}\n{descriptor_extra}"
    )
}

#[test]
fn bad_header_values_and_names_exit_1_listing_every_problem() {
    let input = limiter(
        "Reviews_Service!",
        "        match: [{name: \"x-user\\r\", exact_match: a}, {name: x-id, regex_match: \"a{100}\"}]\n",
    );
    for cmd in ["render", "validate"] {
        let out = meshctl()
            .args([cmd, "-"])
            .write_stdin(input.as_str())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = err.lines().collect();
        let at = "default/Reviews_Service!: ";
        let starts = [
            "metadata.name: \"Reviews_Service!\" is not a DNS-1123 subdomain",
            "spec.sets._base.descriptor[0].action.headers_to_add[0].value: contains CR at byte 1",
            "spec.sets._base.descriptor[0].match[0].name: contains CR at byte 6",
            "spec.sets._base.descriptor[0].match[1].regex_match: compiles to an RE2 program of at least 104",
        ];
        assert_eq!(lines.len(), starts.len(), "{cmd}: {lines:#?}");
        for (line, start) in lines.iter().zip(starts) {
            assert!(line.starts_with(&format!("{at}{start}")), "{cmd}: {line}");
        }
    }
}

#[test]
fn nan_metrics_exit_1_naming_nan() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.yaml");
    std::fs::write(&metrics, "_base:\n  pod: .nan\n  cpu: {sum: -.inf}\n").unwrap();
    let out = meshctl()
        .arg("validate")
        .arg("--metrics")
        .arg(&metrics)
        .arg("examples/crds/reviews-adaptive.yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let m = metrics.display();
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            format!(
                "{m}: metrics: _base.pod: NaN is not a usable metric value (expressions need a finite number)"
            ),
            format!(
                "{m}: metrics: _base.cpu.sum: -Inf is not a usable metric value (expressions need a finite number)"
            ),
        ]
    );
}
