//! `meshctl decode --protocol thrift` on bytes recorded from real Apache Thrift peers.

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/../mesh-codec/tests/fixtures/thrift/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn decode(direction: &str, file: &str) -> (i32, Vec<Value>, String) {
    let out = Command::cargo_bin("meshctl")
        .unwrap()
        .args([
            "decode",
            "--protocol",
            "thrift",
            "--direction",
            direction,
            file,
        ])
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

#[test]
fn framed_binary_requests() {
    let (code, msgs, _) = decode("request", &fixture("binary_framed.request.bin"));
    assert_eq!(code, 0);
    assert_eq!(msgs.len(), 10);
    let add = &msgs[1];
    assert_eq!(add["message_type"], "request");
    assert_eq!(add["request_id"], 0);
    assert_eq!(add["size"], 34);
    assert_eq!(add["status"], Value::Null);
    assert_eq!(add["metadata"]["method"], "add");
    assert_eq!(add["metadata"]["protocol"], "binary");
    assert_eq!(add["metadata"]["transport"], "framed");
    assert_eq!(msgs[7]["message_type"], "oneway");
    assert_eq!(msgs[7]["metadata"]["method"], "fire");
    assert_eq!(msgs[9]["request_id"], 7);
}

#[test]
fn compact_responses_with_status() {
    let (code, msgs, _) = decode("response", &fixture("compact_unframed.response.bin"));
    assert_eq!(code, 0);
    let status: Vec<_> = msgs.iter().map(|m| m["status"].as_str().unwrap()).collect();
    assert_eq!(
        status,
        [
            "ok", "ok", "ok", "ok", "error", "ok", "error", "ok", "error"
        ]
    );
    assert!(msgs.iter().all(|m| m["message_type"] == "response"));
    assert!(msgs.iter().all(|m| m["metadata"]["protocol"] == "compact"));
}

#[test]
fn theader_info_headers_and_multiplexed_service() {
    let (code, msgs, _) = decode("request", &fixture("header_binary_infoheaders.request.bin"));
    assert_eq!(code, 0);
    assert_eq!(msgs[0]["metadata"]["trace-id"], "abc123");
    assert_eq!(msgs[0]["metadata"]["caller"], "py");
    assert_eq!(msgs[0]["metadata"]["transport"], "header");
    let (_, msgs, _) = decode(
        "request",
        &fixture("header_compact_multiplexed.request.bin"),
    );
    assert_eq!(msgs[1]["metadata"]["service"], "Calc");
    assert_eq!(msgs[1]["metadata"]["method"], "add");
}

#[test]
fn truncated_and_malformed_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(fixture("binary_unframed.request.bin")).unwrap();
    // first message (ping) is 17 bytes; cut the second one short
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &whole[..30]).unwrap();
    let (code, msgs, err) = decode("request", cut.to_str().unwrap());
    assert_eq!(code, 3);
    assert_eq!(msgs.len(), 1);
    assert_eq!(err.trim(), "incomplete message at offset 17");
    // a bad message type after the first message
    let mut bad = whole[..17].to_vec();
    bad.extend_from_slice(&[0x80, 0x01, 0x00, 0x09, 0, 0, 0, 0]);
    let badp = dir.path().join("bad.bin");
    std::fs::write(&badp, &bad).unwrap();
    let (code, msgs, err) = decode("request", badp.to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(msgs.len(), 1);
    assert_eq!(err.trim(), "offset 20: unknown message type 9");
}
