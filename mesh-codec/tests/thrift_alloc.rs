//! Steady-state Thrift decoding (metadata + body skip) allocates nothing per message once a
//! connection's `Metadata` has warmed up (counted with a counting global allocator), on the
//! streams recorded from real peers. The zlib THeader transform is the documented exception
//! (it inflates the payload to read the message header).

use mesh_codec::{DecodeStatus, Direction, Limits, Metadata, new_codec};

mod common;

fn decode_all(codec: &mut dyn mesh_codec::Codec, md: &mut Metadata, input: &[u8]) -> usize {
    common::decode_all_with(codec, md, input, |_| {})
}

#[test]
fn steady_state_decoding_does_not_allocate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/thrift");
    let mut checked = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("zlib") || !name.ends_with(".bin") {
            continue;
        }
        let direction = if name.ends_with(".request.bin") {
            Direction::Request
        } else {
            Direction::Response
        };
        let input = std::fs::read(&path).unwrap();
        let mut codec = new_codec("thrift", direction, Limits::default()).unwrap();
        let mut md = Metadata::new();
        decode_all(codec.as_mut(), &mut md, &input); // warm-up
        let mut count = 0;
        let info = allocation_counter::measure(|| {
            count = decode_all(codec.as_mut(), &mut md, &input);
        });
        assert!(count >= 8, "{name}: {count}");
        assert_eq!(info.count_total, 0, "{name}: {info:?}");
        checked += 1;
    }
    assert!(checked >= 24, "{checked}");
}

#[test]
fn large_string_costs_nothing_to_skip() {
    // framed binary call with a 50 MB string argument: decoded from the frame length and the
    // message header; an unframed one is walked by length, never copied.
    let mut msg = b"\x80\x01\x00\x01\x00\x00\x00\x04echo\x00\x00\x00\x01\x0b\x00\x01".to_vec();
    msg.extend_from_slice(&50_000_000u32.to_be_bytes());
    msg.resize(msg.len() + 50_000_000, b'x');
    msg.push(0);
    let mut codec = new_codec("thrift", Direction::Request, Limits::default()).unwrap();
    let mut md = Metadata::new();
    decode_all(codec.as_mut(), &mut md, &msg); // warm-up
    let info = allocation_counter::measure(|| {
        assert_eq!(
            codec.decode(&msg, &mut md).unwrap(),
            DecodeStatus::Done {
                consumed: msg.len()
            }
        );
        assert!(matches!(
            codec.decode(&msg[..100], &mut md).unwrap(),
            DecodeStatus::NeedMoreData { .. }
        ));
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert_eq!(md.get("method"), None, "reset after NeedMoreData");
}
