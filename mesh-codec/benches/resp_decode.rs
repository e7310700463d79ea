//! RESP decoding: Meshplane's redis codec (metadata: command, key / reply type, status) vs the
//! `redis-protocol` crate (6.x; `decode` builds owned frames, `decode_range` index frames) over
//! the same pipelined command mix, and over replies with large bulk strings.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mesh_codec::redis::{RedisCodec, Value};
use mesh_codec::{Codec, DecodeStatus, Direction, Limits, Metadata};

fn command(args: &[&[u8]], out: &mut BytesMut) {
    Value::Array(args.iter().map(|a| Value::BulkString(a.to_vec())).collect()).encode(out);
}

/// 1024 pipelined commands, the shape redis-benchmark and typical clients send.
fn command_mix() -> Vec<u8> {
    let mut out = BytesMut::new();
    let value = [b'v'; 32];
    for i in 0..128 {
        let key = format!("key:{i:06}");
        let k = key.as_bytes();
        command(&[b"SET", k, &value], &mut out);
        command(&[b"GET", k], &mut out);
        command(&[b"INCR", b"counter:rand_int"], &mut out);
        command(&[b"LPUSH", b"mylist", &value[..8]], &mut out);
        command(&[b"HSET", b"myhash", k, &value[..16]], &mut out);
        command(&[b"MGET", k, b"key:a", b"key:b"], &mut out);
        command(&[b"EXPIRE", k, b"60"], &mut out);
        command(&[b"PING"], &mut out);
    }
    out.to_vec()
}

fn meshplane_all(codec: &mut RedisCodec, md: &mut Metadata, input: &[u8]) -> usize {
    let mut off = 0;
    let mut n = 0;
    while off < input.len() {
        match codec.decode(&input[off..], md) {
            Ok(DecodeStatus::Done { consumed }) => off += consumed,
            other => panic!("{other:?}"),
        }
        black_box(md.get("key"));
        n += 1;
    }
    n
}

fn resp_decode(c: &mut Criterion) {
    let mix = command_mix();
    let mut g = c.benchmark_group("resp_decode");
    g.throughput(Throughput::Bytes(mix.len() as u64));
    g.bench_function("meshplane", |b| {
        let mut codec = RedisCodec::new(Direction::Request, Limits::default());
        let mut md = Metadata::new();
        b.iter(|| meshplane_all(&mut codec, &mut md, black_box(&mix)))
    });
    g.bench_function("redis_protocol", |b| {
        b.iter(|| {
            let buf = black_box(&mix[..]);
            let (mut off, mut n) = (0, 0);
            while off < buf.len() {
                let (frame, used) = redis_protocol::resp2::decode::decode(&buf[off..])
                    .unwrap()
                    .unwrap();
                black_box(&frame);
                off += used;
                n += 1;
            }
            n
        })
    });
    g.bench_function("redis_protocol_range", |b| {
        b.iter(|| {
            let buf = black_box(&mix[..]);
            let (mut off, mut n) = (0, 0);
            while off < buf.len() {
                let (frame, used) = redis_protocol::resp2::decode::decode_range(&buf[off..])
                    .unwrap()
                    .unwrap();
                black_box(&frame);
                off += used;
                n += 1;
            }
            n
        })
    });
    g.finish();
}

fn resp_decode_large_bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("resp_decode_large_bulk");
    for size in [1usize << 10, 1 << 20, 16 << 20] {
        let mut reply = format!("${size}\r\n").into_bytes();
        reply.resize(reply.len() + size, b'x');
        reply.extend_from_slice(b"\r\n");
        let label = if size >= 1 << 20 {
            format!("{}MiB", size >> 20)
        } else {
            format!("{}KiB", size >> 10)
        };
        g.bench_with_input(BenchmarkId::new("meshplane", &label), &reply, |b, reply| {
            let mut codec = RedisCodec::new(Direction::Response, Limits::default());
            let mut md = Metadata::new();
            b.iter(|| codec.decode(black_box(reply), &mut md).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("redis_protocol", &label),
            &reply,
            |b, reply| b.iter(|| redis_protocol::resp2::decode::decode(black_box(reply)).unwrap()),
        );
        g.bench_with_input(
            BenchmarkId::new("redis_protocol_range", &label),
            &reply,
            |b, reply| {
                b.iter(|| redis_protocol::resp2::decode::decode_range(black_box(reply)).unwrap())
            },
        );
    }
    g.finish();
}

criterion_group!(benches, resp_decode, resp_decode_large_bulk);
criterion_main!(benches);
