//! Thrift decode: Meshplane (message header + metadata + allocation-free body skip) against the
//! `thrift` crate's protocol readers (read_message_begin + skip of the args struct), on the
//! real `roundtrip(AllTypes)` call recorded from the Apache Python client.
//!
//! - `binary`, `compact`: unframed, so both must walk the whole body to find its end.
//! - `binary_framed`, `compact_framed`: the same call in a frame, as production servers send
//!   it. A proxy routes on the header and skips the body by the frame length; the `thrift`
//!   crate's reader still walks the body (given the frame's bytes directly, without the cost
//!   of its framed transport).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mesh_codec::{DecodeStatus, Direction, Limits, Metadata, new_codec};
use thrift::protocol::{TBinaryInputProtocol, TCompactInputProtocol, TInputProtocol, TType};

/// The 4th message (roundtrip) of a recorded request stream.
fn roundtrip_call(fixture: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/thrift/{fixture}.request.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("fixture");
    let mut codec = new_codec("thrift", Direction::Request, Limits::DEFAULT).unwrap();
    let mut md = Metadata::new();
    let mut off = 0;
    loop {
        let DecodeStatus::Done { consumed } = codec.decode(&bytes[off..], &mut md).unwrap() else {
            panic!("fixture ends mid-message")
        };
        if md.get("method") == Some("roundtrip") {
            return bytes[off..off + consumed].to_vec();
        }
        off += consumed;
    }
}

/// The bytes the `thrift` crate's reader is given: a frame's payload (its length read by
/// hand), or the whole unframed message.
fn crate_body<'a>(param: &str, msg: &'a [u8]) -> &'a [u8] {
    if param.ends_with("_framed") {
        let n = u32::from_be_bytes([msg[0], msg[1], msg[2], msg[3]]) as usize;
        &msg[4..4 + n]
    } else {
        msg
    }
}

/// What the `thrift` crate does with one message: header, skip of the args struct, end.
fn crate_read(param: &str, mut input: &[u8]) -> usize {
    let name_len = if param.starts_with("binary") {
        let mut p = TBinaryInputProtocol::new(&mut input, true);
        let id = p.read_message_begin().unwrap();
        p.skip(TType::Struct).unwrap();
        p.read_message_end().unwrap();
        id.name.len()
    } else {
        let mut p = TCompactInputProtocol::new(&mut input);
        let id = p.read_message_begin().unwrap();
        p.skip(TType::Struct).unwrap();
        p.read_message_end().unwrap();
        id.name.len()
    };
    assert!(input.is_empty());
    name_len
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("thrift_decode");
    for param in ["binary", "compact", "binary_framed", "compact_framed"] {
        let fixture = if param.ends_with("_framed") {
            param.to_string()
        } else {
            format!("{param}_unframed")
        };
        let msg = roundtrip_call(&fixture);
        let mut codec = new_codec("thrift", Direction::Request, Limits::DEFAULT).unwrap();
        let mut md = Metadata::new();
        // Both sides are checked once, outside the timed loop; inside it Meshplane's results
        // only go to `black_box` (the crate's reader still unwraps its `Result`s and checks
        // that it read the whole message, a compare or two).
        assert_eq!(
            codec.decode(&msg, &mut md).unwrap(),
            DecodeStatus::Done {
                consumed: msg.len()
            }
        );
        assert_eq!(md.get("method"), Some("roundtrip"));
        assert_eq!(
            crate_read(param, crate_body(param, &msg)),
            "roundtrip".len()
        );
        g.bench_with_input(BenchmarkId::new("meshplane", param), &msg, |b, msg| {
            b.iter(|| {
                black_box(codec.decode(black_box(msg), &mut md).is_ok());
                black_box(md.get("method").map(str::len))
            })
        });
        // Framed: the frame length read by hand, then the same reader over the frame's bytes
        // (no transport: the cheapest way the crate can read it).
        g.bench_with_input(BenchmarkId::new("thrift_crate", param), &msg, |b, msg| {
            b.iter(|| black_box(crate_read(param, crate_body(param, black_box(msg)))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
