//! `meshctl simulate` contract: one JSON object with the documented fields.

use assert_cmd::Command;
use serde_json::Value;

fn simulate(args: &[&str]) -> Value {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .arg("simulate")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim().lines().count(),
        1,
        "one JSON object on one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

#[test]
fn gradient_at_3x_meets_the_goals() {
    let v = simulate(&[
        "--limiter",
        "gradient",
        "--load",
        "3.0",
        "--seed",
        "1",
        "--json",
    ]);
    assert_eq!(v["limiter"], "gradient");
    assert!(num(&v, "goodput_ratio") >= 0.95, "{v}");
    assert!(
        num(&v, "admitted_p99_ms") <= 2.0 * num(&v, "unloaded_p99_ms"),
        "{v}"
    );
    assert!(num(&v, "reconverge_s") < 2.0, "{v}");
    let rr = num(&v, "reject_ratio");
    assert!(rr > 0.5 && rr < 0.8, "{v}");
}

#[test]
fn no_limiter_collapses_and_output_is_deterministic() {
    let a = simulate(&[
        "--limiter",
        "none",
        "--load",
        "3.0",
        "--seed",
        "1",
        "--json",
    ]);
    assert!(num(&a, "goodput_ratio") < 0.05, "{a}");
    assert!(num(&a, "admitted_p99_ms") > 2.0 * num(&a, "unloaded_p99_ms"));
    assert_eq!(num(&a, "reject_ratio"), 0.0);
    let b = simulate(&[
        "--limiter",
        "none",
        "--load",
        "3.0",
        "--seed",
        "1",
        "--json",
    ]);
    assert_eq!(a, b);
}

#[test]
fn static_limit_does_not_reconverge_after_the_halving() {
    let v = simulate(&[
        "--limiter",
        "static",
        "--load",
        "3.0",
        "--seed",
        "1",
        "--json",
    ]);
    assert_eq!(v["reconverged"], false, "{v}");
    assert!(num(&v, "limit_before_halving") > 40.0, "{v}");
    assert!(
        num(&v, "peak_p99_after_halving_ms") > 2.0 * num(&v, "unloaded_p99_ms"),
        "{v}"
    );
    // An explicit limit overrides the operator sizing.
    let oracle = simulate(&["--limiter", "static", "--static-limit", "20", "--json"]);
    assert_eq!(num(&oracle, "limit_at_end"), 20.0, "{oracle}");
}

#[test]
fn plot_writes_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.svg");
    let v = simulate(&[
        "--limiter",
        "vegas",
        "--duration",
        "4",
        "--json",
        "--plot",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["limiter"], "vegas");
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
    assert!(svg.contains("capacity halved"));
}

#[test]
fn bad_arguments_are_errors() {
    for args in [
        &["--limiter", "nope"][..],
        &["--load", "-1"],
        &["--duration", "0"],
        &["--slots", "0"],
    ] {
        let out = Command::cargo_bin("meshctl")
            .unwrap()
            .arg("simulate")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}
