//! The cost of the C API over the Rust API: the same stream decoded message by message, each
//! message's routing key read, once through `mesh_codec` directly (`meshplane`) and once through
//! the exported `extern "C"` functions (`c_api`), for a pipelined Redis stream and a Dubbo stream
//! (the captured dubbo-js exchange, repeated). bench-report prints c_api / meshplane: the
//! overhead factor (target ≤ 1.2).
// Calling the C API from Rust is `unsafe` (raw pointers), which the workspace denies.
#![allow(unsafe_code)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_codec::{DecodeStatus, Direction, Limits, Metadata, new_codec};
use meshplane::*;

/// A pipelined Redis request stream: 200 commands of various shapes.
fn redis_stream() -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..200 {
        let key = format!("user:{i:05}");
        match i % 4 {
            0 => s.extend_from_slice(
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            ),
            1 => s.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$5\r\nhello\r\n",
                    key.len()
                )
                .as_bytes(),
            ),
            2 => s.extend_from_slice(
                format!(
                    "*4\r\n$4\r\nHSET\r\n${}\r\n{key}\r\n$4\r\nname\r\n$3\r\nbob\r\n",
                    key.len()
                )
                .as_bytes(),
            ),
            _ => s.extend_from_slice(
                format!("*2\r\n$4\r\nINCR\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            ),
        }
    }
    s
}

/// The captured dubbo-js request stream (a call and a heartbeat), 100 times.
fn dubbo_stream() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../mesh-codec/tests/fixtures/dubbo/dubbo_js_sayhello.request.bin"
    );
    std::fs::read(path).unwrap().repeat(100)
}

fn rust_decode_all(protocol: &str, key: &str, stream: &[u8]) -> usize {
    let mut codec = new_codec(protocol, Direction::Request, Limits::DEFAULT).unwrap();
    let mut md = Metadata::new();
    let (mut off, mut keys) = (0, 0);
    while off < stream.len() {
        match codec.decode(&stream[off..], &mut md).unwrap() {
            DecodeStatus::Done { consumed } => off += consumed,
            DecodeStatus::NeedMoreData { .. } => panic!("truncated stream"),
        }
        keys += md.get(key).map_or(0, str::len);
    }
    keys
}

fn c_decode_all(protocol: &str, key: &str, stream: &[u8]) -> usize {
    unsafe {
        let mut codec = std::ptr::null_mut();
        let rc = meshplane_codec_new(
            protocol.as_ptr().cast(),
            protocol.len(),
            MESHPLANE_DIRECTION_REQUEST,
            std::ptr::null(),
            &mut codec,
        );
        assert_eq!(rc, meshplane_result::Ok);
        let (mut off, mut keys) = (0, 0);
        while off < stream.len() {
            let mut consumed = 0;
            let rc = meshplane_codec_decode(
                codec,
                stream.as_ptr().add(off),
                stream.len() - off,
                &mut consumed,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, meshplane_result::Ok);
            off += consumed;
            let mut v = meshplane_str::EMPTY;
            if meshplane_codec_header_get(codec, key.as_ptr().cast(), key.len(), &mut v)
                == meshplane_result::Ok
            {
                keys += v.len;
            }
        }
        meshplane_codec_free(codec);
        keys
    }
}

fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("capi_overhead");
    for (protocol, key, stream) in [
        ("redis", "key", redis_stream()),
        ("dubbo", "interface", dubbo_stream()),
    ] {
        assert_eq!(
            rust_decode_all(protocol, key, &stream),
            c_decode_all(protocol, key, &stream)
        );
        g.throughput(Throughput::Bytes(stream.len() as u64));
        g.bench_with_input(BenchmarkId::new("meshplane", protocol), &stream, |b, s| {
            b.iter(|| rust_decode_all(protocol, key, black_box(s)))
        });
        g.bench_with_input(BenchmarkId::new("c_api", protocol), &stream, |b, s| {
            b.iter(|| c_decode_all(protocol, key, black_box(s)))
        });
    }
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
