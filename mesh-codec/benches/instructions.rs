//! Instruction counts of the codec hot paths, for `scripts/bench-instructions.py` (callgrind).
//!
//! `instructions CASE N` decodes CASE's message N times with one reused codec and `Metadata`
//! (the steady state of a proxy connection) and reads its routing key each time. The script runs
//! it under `valgrind --tool=callgrind` with N = 0 and N = 1000 and reports
//! (Ir(1000) − Ir(0)) / 1000: the instructions of one decode, without process start-up and
//! fixture loading. Counts are deterministic for a given binary, so one run is enough and two
//! commits compare exactly (the speed rule in ARCHITECTURE.md).
//!
//! Under `cargo bench` (argument `--bench`) it prints where the counts come from and exits: the
//! counts need valgrind, which the criterion run does not.

use std::hint::black_box;
use std::process::ExitCode;

use mesh_codec::{Codec, DecodeStatus, Direction, Limits, Metadata, new_codec};

/// (case, protocol, fixture file under tests/fixtures, routing key, the message: the first
/// whose metadata has `key = value`, or the first with `key` when `value` is empty).
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "redis_get",
        "redis",
        "redis/cli_resp2.request.bin",
        "command",
        "get",
    ),
    (
        "thrift_binary",
        "thrift",
        "thrift/binary_unframed.request.bin",
        "method",
        "roundtrip",
    ),
    (
        "thrift_compact",
        "thrift",
        "thrift/compact_unframed.request.bin",
        "method",
        "roundtrip",
    ),
    (
        "thrift_binary_framed",
        "thrift",
        "thrift/binary_framed.request.bin",
        "method",
        "roundtrip",
    ),
    (
        "thrift_compact_framed",
        "thrift",
        "thrift/compact_framed.request.bin",
        "method",
        "roundtrip",
    ),
    (
        "thrift_header",
        "thrift",
        "thrift/header_binary.request.bin",
        "method",
        "roundtrip",
    ),
    (
        "dubbo_request",
        "dubbo",
        "dubbo/dubbo_js_sayhello.request.bin",
        "interface",
        "",
    ),
];

/// The first message of a recorded request stream whose `key` is `value` (any value if empty).
fn message(protocol: &str, fixture: &str, key: &str, value: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut codec = new_codec(protocol, Direction::Request, Limits::DEFAULT).unwrap();
    let mut md = Metadata::new();
    let mut off = 0;
    loop {
        let DecodeStatus::Done { consumed } = codec.decode(&bytes[off..], &mut md).unwrap() else {
            panic!("{fixture} has no message with {key} = {value:?}")
        };
        if md.get(key).is_some_and(|v| value.is_empty() || v == value) {
            return bytes[off..off + consumed].to_vec();
        }
        off += consumed;
    }
}

fn run(codec: &mut dyn Codec, md: &mut Metadata, msg: &[u8], key: &str, n: u64) {
    for _ in 0..n {
        black_box(codec.decode(black_box(msg), md).is_ok());
        black_box(md.get(key).map(str::len));
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        println!("instructions: counted under callgrind by scripts/bench-instructions.py");
        return ExitCode::SUCCESS;
    }
    if args.first().map(String::as_str) == Some("--list") {
        for (name, ..) in CASES {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let (Some(case), Some(Ok(n))) = (args.first(), args.get(1).map(|n| n.parse::<u64>())) else {
        eprintln!("usage: instructions CASE N | --list");
        return ExitCode::from(2);
    };
    let Some(&(_, protocol, fixture, key, value)) = CASES.iter().find(|c| c.0 == case) else {
        eprintln!("unknown case {case}");
        return ExitCode::from(2);
    };
    let msg = message(protocol, fixture, key, value);
    let mut codec = new_codec(protocol, Direction::Request, Limits::DEFAULT).unwrap();
    let mut md = Metadata::new();
    // Checked once, outside the counted loop: the whole message decodes and has its key.
    assert_eq!(
        codec.decode(&msg, &mut md).unwrap(),
        DecodeStatus::Done {
            consumed: msg.len()
        }
    );
    assert!(md.get(key).is_some(), "{case}: no {key}");
    run(codec.as_mut(), &mut md, &msg, key, n);
    ExitCode::SUCCESS
}
