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

/// `meshctl simulate ARGS` that must be refused: exit 2, one short line naming the option and
/// the value as given, no panic.
fn refused(args: &[&str]) -> String {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .arg("simulate")
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(err.len() < 300, "{args:?}: {} bytes: {err}", err.len());
    err
}

#[test]
fn hostile_numbers_get_typed_errors() {
    // Inside the accepted load range, but no arrival: used to overflow the arrival clock.
    for load in ["1e-15", "5e-324"] {
        let e = refused(&["--load", load]);
        assert!(e.contains("expected arrivals"), "{load}: {e}");
    }
    // A value starting with '-' is a value, refused by its range (was clap's "unexpected
    // argument '-1'").
    let e = refused(&["--load", "-1"]);
    assert!(e.contains("load must be in (0, 1000], not -1.0"), "{e}");
    for (opt, v) in [
        ("--duration", "-5"),
        ("--halve-at", "-1"),
        ("--service-ms", "-0.5"),
        ("--slo-ms", "-100"),
    ] {
        let e = refused(&[opt, v]);
        assert!(e.contains(opt) && e.contains(v), "{opt} {v}: {e}");
    }
    let e = refused(&["--slots", "-1"]);
    assert!(e.contains("--slots"), "{e}");
    // Echoed in its shortest form, not as 301 digits.
    let e = refused(&["--slo-ms", "1e300"]);
    assert!(e.contains("not 1e300"), "{e}");
    // Multiplied into the default SLO (Duration overflow panic) or into the arrival gaps.
    refused(&["--service-ms", "1e22"]);
    refused(&["--service-ms", "1e15"]);
    refused(&["--duration", "1e-9"]);
    refused(&["--halve-at", "1e12"]);
    refused(&["--duration", "inf"]);
    refused(&["--load", "nan"]);
}

#[test]
fn oversized_runs_are_refused_before_any_work() {
    // The 0.5× load baseline of this server has 150 M arrivals: refused up front (it used to
    // simulate the 3 M arrivals of the main run first, 6 s, and then refuse the baseline).
    let e = refused(&["--slots", "100000", "--load", "0.01"]);
    assert!(e.contains("baseline"), "{e}");
    let e = refused(&["--limiter", "static", "--slots", "100000", "--load", "0.01"]);
    assert!(e.contains("baseline"), "{e}");
}

#[test]
fn limiter_help_lists_every_name() {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["simulate", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for name in mesh_limiter::sim::LimiterSpec::NAMES {
        assert!(help.contains(name), "{name} missing from: {help}");
    }
    let e = refused(&["--limiter", "nope"]);
    assert!(e.contains("token-bucket"), "{e}");
    // Aliases, any case, `_` for `-`.
    simulate(&["--limiter", "Token_Bucket", "--duration", "2", "--json"]);
}
