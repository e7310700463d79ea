//! `meshctl decode --protocol dubbo` on captured streams.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mesh-codec/tests/fixtures/dubbo")
        .join(name)
}

fn run(direction: &str, file: &std::path::Path) -> (i32, Vec<Value>, String) {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .args(["decode", "--protocol", "dubbo", "--direction", direction])
        .arg(file)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        lines,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `bytes` in a temporary file, removed when the returned path is dropped.
fn temp_file(bytes: &[u8]) -> tempfile::TempPath {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    f.into_temp_path()
}

#[test]
fn requests_print_interface_method_version_and_attachments() {
    let (code, lines, _) = run("request", &fixture("dubbo_js_sayhello.request.bin"));
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        [
            json!({"message_type": "request", "request_id": 1, "size": 274, "status": null,
                "metadata": {"interface": "com.example.UserService", "method": "sayHello",
                    "version": "1.0.0", "application": "dubbo-js", "group": "g1",
                    "path": "com.example.UserService", "two_way": true}}),
            json!({"message_type": "heartbeat", "request_id": 0, "size": 17, "status": null,
                "metadata": {"two_way": true}}),
        ]
    );
}

#[test]
fn responses_print_status_and_status_code() {
    let (code, lines, _) = run("response", &fixture("dubbo_js_sayhello.response.bin"));
    assert_eq!(code, 0);
    assert_eq!(lines[0]["message_type"], "response");
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["metadata"]["status_code"], "20");
    assert_eq!(lines[0]["metadata"]["dubbo"], "2.0.2");
    assert_eq!(lines[1]["message_type"], "heartbeat");
    // a status-60 reply
    let mut f = b"\xda\xbb\x02\x3c\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x1a\x19".to_vec();
    f.extend_from_slice(b"Service not found: nosuch");
    let p = temp_file(&f);
    let (code, lines, _) = run("response", &p);
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        [
            json!({"message_type": "response", "request_id": 4, "size": 42, "status": "error",
            "metadata": {"status_code": "60"}})
        ]
    );
}

#[test]
fn truncated_and_malformed_exit_codes() {
    let bytes = std::fs::read(fixture("dubbo_js_sayhello.request.bin")).unwrap();
    let p = temp_file(&bytes[..280]);
    let (code, lines, err) = run("request", &p);
    assert_eq!(code, 3);
    assert_eq!(lines.len(), 1);
    assert!(err.contains("incomplete message at offset 274"), "{err}");
    let mut bad = bytes.clone();
    bad[274 + 2] = 0xc3; // second frame: a request with serialization id 3
    let p = temp_file(&bad);
    let (code, _, err) = run("request", &p);
    assert_eq!(code, 1);
    assert!(
        err.contains("offset 276") && err.contains("serialization"),
        "{err}"
    );
    let p = temp_file(b"\xda\xbcxxxxxxxxxxxxxxxx");
    let (code, _, err) = run("request", &p);
    assert_eq!(code, 1);
    assert!(err.contains("offset 0"), "{err}");
}
