//! The metadata-only path allocates nothing per message once a connection's `Metadata` has
//! warmed up, and decoding a large bulk costs its header, not its body (counted with a
//! counting global allocator).

use mesh_codec::{DecodeStatus, Direction, Limits, Metadata, new_codec};

mod common;

fn decode_all(codec: &mut dyn mesh_codec::Codec, md: &mut Metadata, input: &[u8]) -> usize {
    common::decode_all_with(codec, md, input, |_| {})
}

#[test]
fn steady_state_decoding_does_not_allocate() {
    let mut requests = Vec::new();
    for i in 0..100 {
        requests.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n$6\r\nkey:{i:02}\r\n$5\r\nvalue\r\n*2\r\n$3\r\nget\r\n$6\r\nkey:{i:02}\r\nPING\r\nMGET a b c\r\n")
                .as_bytes(),
        );
    }
    let responses = b"+OK\r\n$5\r\nvalue\r\n$-1\r\n*3\r\n$1\r\na\r\n_\r\n%1\r\n+k\r\n:1\r\n-ERR x\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n|1\r\n+a\r\n,1.5\r\n#t\r\n".repeat(50);
    for (dir, input) in [
        (Direction::Request, &requests[..]),
        (Direction::Response, &responses[..]),
    ] {
        let mut codec = new_codec("redis", dir, Limits::default()).unwrap();
        let mut md = Metadata::new();
        decode_all(codec.as_mut(), &mut md, input); // warm-up
        let mut count = 0;
        let info = allocation_counter::measure(|| {
            count = decode_all(codec.as_mut(), &mut md, input);
        });
        assert!(count >= 300, "{count}");
        assert_eq!(info.count_total, 0, "{dir:?}: {info:?}");
    }
}

#[test]
fn large_bulk_costs_its_header() {
    let mut codec = new_codec("redis", Direction::Response, Limits::default()).unwrap();
    let mut md = Metadata::new();
    let mut big = b"$50000000\r\n".to_vec();
    big.resize(big.len() + 50_000_000, b'x');
    big.extend_from_slice(b"\r\n");
    decode_all(codec.as_mut(), &mut md, b"+warm\r\n");
    let info = allocation_counter::measure(|| {
        assert_eq!(
            codec.decode(&big, &mut md).unwrap(),
            DecodeStatus::Done {
                consumed: big.len()
            }
        );
        // A prefix tells how much is needed, from the header alone.
        assert_eq!(
            codec.decode(&big[..20], &mut md).unwrap(),
            DecodeStatus::NeedMoreData {
                needed: Some(big.len())
            }
        );
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(md.body_size, 0);
}
