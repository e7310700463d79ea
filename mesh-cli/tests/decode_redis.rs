//! `meshctl decode --protocol redis`: JSON lines and exit codes.

use assert_cmd::Command;

fn decode(direction: &str, input: &[u8]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("meshctl")
        .unwrap()
        .args([
            "decode",
            "--protocol",
            "redis",
            "--direction",
            direction,
            "-",
        ])
        .write_stdin(input.to_vec())
        .assert()
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn requests_print_command_key_and_position() {
    let a = decode(
        "request",
        b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$1\r\nv\r\nGET foo\r\n",
    )
    .success();
    let v = lines(&a.get_output().stdout);
    assert_eq!(
        v[0],
        serde_json::json!({"message_type": "request", "request_id": 0, "size": 29,
            "status": null, "metadata": {"command": "set", "key": "foo"}})
    );
    assert_eq!(
        v[1],
        serde_json::json!({"message_type": "request", "request_id": 1, "size": 9,
            "status": null, "metadata": {"command": "get", "key": "foo"}})
    );
}

#[test]
fn responses_print_type_and_status() {
    let a = decode(
        "response",
        b"+OK\r\n-ERR no\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n",
    )
    .success();
    let v = lines(&a.get_output().stdout);
    assert_eq!(v.len(), 3);
    assert_eq!(
        v[1],
        serde_json::json!({"message_type": "response", "request_id": 1, "size": 9,
            "status": "error", "metadata": {"type": "error"}})
    );
    assert_eq!(v[2]["request_id"], serde_json::Value::Null);
    assert_eq!(v[2]["metadata"]["type"], "push");
}

#[test]
fn incomplete_input_exits_3_with_the_offset() {
    let a = decode("response", b"+OK\r\n$10\r\nabc").code(3);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("incomplete message at offset 5"), "{err}");
    assert_eq!(lines(&a.get_output().stdout).len(), 1);
}

#[test]
fn malformed_input_exits_1_with_the_stream_offset() {
    let a = decode("request", b"PING\r\n*1\r\nfoo\r\n").code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.starts_with("offset 10: "), "{err}");
}
