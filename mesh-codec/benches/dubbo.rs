//! Dubbo and Hessian2 decoding.
//!
//! - `dubbo_metadata`: a 1 KiB Dubbo request (3 arguments, 5 attachments) → metadata.
//!   `meshplane` is our codec (arguments skipped, strings borrowed, reused `Metadata`);
//!   `hessian_rs` decodes the same body with the `hessian_rs` crate (the only Rust Hessian2
//!   decoder; GPL-3.0, used here as a dev-dependency for comparison only) value by value, which
//!   is what a codec built on it has to do.
//! - `hessian2_decode`: every Caucho reference vector (tests/fixtures/hessian2/caucho.tsv)
//!   decoded to values (`meshplane`), skipped (`meshplane_skip`) and decoded by `hessian_rs`
//!   (only the vectors it decodes); bytes/s. `hessian2_decode_values`: the same in values/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mesh_codec::hessian2::{Decoder, write_int, write_long, write_string};
use mesh_codec::{Codec, DecodeStatus, Direction, Limits, Metadata, dubbo::DubboCodec};

/// A 1 KiB request: sayHello(String, int, com.example.User), 5 attachments.
pub fn request_1k() -> Vec<u8> {
    let mut b = Vec::new();
    for s in [
        "2.0.2",
        "com.example.UserService",
        "1.0.0",
        "sayHello",
        "Ljava/lang/String;ILcom/example/User;",
    ] {
        write_string(&mut b, s);
    }
    write_string(&mut b, &"lorem ipsum ".repeat(60));
    write_int(&mut b, 42);
    b.extend_from_slice(b"\x43\x10com.example.User\x93\x04name\x03age\x02id\x60");
    write_string(&mut b, "alice");
    write_int(&mut b, 30);
    write_long(&mut b, 1_234_567_890_123);
    b.push(b'H');
    for (k, v) in [
        ("path", "com.example.UserService"),
        ("interface", "com.example.UserService"),
        ("version", "1.0.0"),
        ("group", "g1"),
        ("x-request-id", "5f0c6a6e-4a8e-4d7a-9a43-0d6c9f2f1b2e"),
    ] {
        write_string(&mut b, k);
        write_string(&mut b, v);
    }
    b.push(b'Z');
    let mut f = vec![0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    f.extend_from_slice(&(b.len() as u32).to_be_bytes());
    f.extend_from_slice(&b);
    f
}

fn hessian_rs_metadata(frame: &[u8]) -> usize {
    let body = &frame[16..];
    let mut de = hessian_rs::de::Deserializer::new(body);
    let mut strings = 0;
    while let Ok(v) = de.read_value() {
        if let hessian_rs::Value::String(s) = &v {
            strings += s.len();
        }
        black_box(&v);
    }
    strings
}

fn dubbo_metadata(c: &mut Criterion) {
    let req = request_1k();
    assert!((1000..1100).contains(&req.len()), "{}", req.len());
    let mut g = c.benchmark_group("dubbo_metadata");
    g.throughput(Throughput::Elements(1));
    g.bench_function("meshplane", |b| {
        let mut codec = DubboCodec::new(Direction::Request, Limits::default());
        let mut md = Metadata::new();
        b.iter(|| {
            let st = codec.decode(black_box(&req), &mut md).unwrap();
            assert!(matches!(st, DecodeStatus::Done { .. }));
            black_box(md.get("method"));
        })
    });
    g.bench_function("hessian_rs", |b| {
        b.iter(|| hessian_rs_metadata(black_box(&req)))
    });
    g.finish();
}

fn vectors() -> Vec<Vec<u8>> {
    let text = include_str!("../tests/fixtures/hessian2/caucho.tsv");
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(_, h)| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

fn hessian2_decode(c: &mut Criterion) {
    let all = vectors();
    let bytes: usize = all.iter().map(Vec::len).sum();
    // hessian_rs fails on some vectors (see peers.md); compare on the ones it decodes.
    let rs_ok: Vec<Vec<u8>> = all
        .iter()
        .filter(|v| {
            let v = (*v).clone();
            std::panic::catch_unwind(move || hessian_rs::from_slice(&v).is_ok()).unwrap_or(false)
        })
        .cloned()
        .collect();
    let rs_bytes: usize = rs_ok.iter().map(Vec::len).sum();
    for (group, per_value) in [("hessian2_decode", false), ("hessian2_decode_values", true)] {
        let mut g = c.benchmark_group(group);
        let tp = |n: usize, b: usize| {
            if per_value {
                Throughput::Elements(n as u64)
            } else {
                Throughput::Bytes(b as u64)
            }
        };
        g.throughput(tp(all.len(), bytes));
        g.bench_function("meshplane", |b| {
            b.iter(|| {
                for v in &all {
                    black_box(Decoder::new(black_box(v)).read_value().unwrap());
                }
            })
        });
        g.bench_function("meshplane_skip", |b| {
            b.iter(|| {
                for v in &all {
                    Decoder::new(black_box(v)).skip().unwrap();
                }
            })
        });
        g.throughput(tp(rs_ok.len(), rs_bytes));
        g.bench_function("hessian_rs", |b| {
            b.iter(|| {
                for v in &rs_ok {
                    black_box(hessian_rs::from_slice(black_box(v)).unwrap());
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, dubbo_metadata, hessian2_decode);
criterion_main!(benches);
